//===- run.h - Running a loaded model from the command line ---------------===//
//
// The part of bathy-run that needs only the runtime: reading input files
// and flags, seeded random inputs, writing outputs as .npy, the timing loop
// and the line protocol bench/ speaks. The full bathy-run (which also
// compiles ONNX, lib/Tools/RunModule.cpp) and the runtime-only bathy-run
// (tools/bathy-run/bathy-run-runtime.cc) both end here, so a model runs the
// same way whichever built it.
//
//===----------------------------------------------------------------------===//
#ifndef BATHY_RUNTIME_TOOLS_RUN_H
#define BATHY_RUNTIME_TOOLS_RUN_H

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "runtime/cpu/model.h"
#include "runtime/session/session.h"
#include "runtime/tensor.h"

namespace bathy::rt::tool {

/// What the command line says about a run.
struct RunFlags {
  /// NAME=path.npy, NAME=VALUE, NAME=D0xD1x...
  std::vector<std::string> inputs, dims, shapes;
  std::string output_dir, save_inputs;
  unsigned benchmark = 0;
  unsigned seed = 0;
  bool bench_stdin = false;
  /// --shape-trace: replay this file's requests (one line of NAME=SIZE
  /// per request).
  std::string shape_trace;
  /// --pad rules (ParsePadRule), --specialize-after, --max-specializations,
  /// --max-specialization-memory.
  std::vector<std::string> pad;
  unsigned specialize_after = 0;
  unsigned max_specializations = 8;
  std::string max_specialization_memory;
};

/// The session options the flags give (errors name the flag).
absl::StatusOr<SessionOptions> SessionOptionsFrom(const RunFlags &flags);

/// What happened before the first request, for the trace's report.
struct Startup {
  double seconds = 0;
  /// The generic plan: compiled here (1) or not (0: an artifact, or a
  /// compile-cache hit).
  unsigned foreground_compiles = 0;
  unsigned cache_hits = 0;
};

/// The input flags, parsed, with the input files read.
struct InputFlags {
  std::map<std::string, int64_t> dims;
  std::map<std::string, std::vector<int64_t>> shapes;
  std::map<std::string, HostTensor> files;
};

/// Parses --dim, --shape and --input (reading the files, before any long
/// compile) and creates the output folders; an error message on failure.
std::optional<std::string> ParseInputFlags(const RunFlags &flags,
                                           InputFlags &parsed);

/// Checks every name the flags use against the model's inputs and finds
/// the shape of each input: its file's, its --shape, or its declared shape
/// with --dim values (1 for dims nothing sets). An error message on
/// failure.
std::optional<std::string>
InputShapes(const std::vector<TensorSpec> &specs, const InputFlags &flags,
            std::vector<std::vector<int64_t>> &shapes);

/// Runs the session once on the files or seeded random inputs (written out
/// with save_inputs), prints each output's shape (and writes it to
/// output_dir), then benchmarks or serves the stdin protocol. The exit code;
/// errors are printed as "error: ...".
int RunAndReport(Session &session, const RunFlags &flags, InputFlags &inputs,
                 const std::vector<std::vector<int64_t>> &shapes,
                 double compileSeconds);

/// --shape-trace: runs one request per line of the trace file (NAME=SIZE
/// for dynamic dims by dim_param; dims a line does not name take their
/// --dim value, else 1; a line "wait" waits for the specialisations being
/// made) on seeded random inputs (inputs a padding rule names as a mask are
/// all 1s); a failed request is counted and the replay goes on (exit code
/// 1 at the end). Then prints requests, distinct shapes,
/// compiles, cache hits, latency per plan kind and memory, ending with
///   trace: R requests, S shapes, C compiles (F foreground, B background),
///   H cache hits, p50 X ms, p99 Y ms
int ReplayTrace(Session &session, const RunFlags &flags,
                const InputFlags &inputs, const Startup &startup);

/// Prints "error: <message>" on stderr; returns 1.
int Fail(const std::string &message);

} // namespace bathy::rt::tool

#endif // BATHY_RUNTIME_TOOLS_RUN_H
