//===- bathy-run-runtime.cc - bathy-run with the runtime alone ------------===//
//
// The bathy-run of the runtime-only build (-DBATHY_BUILD_COMPILER=OFF; in
// the full build it is bathy-run-runtime): loads a .bathy artifact and runs
// it, with no LLVM, MLIR or protobuf in the process. The flags are the full
// bathy-run's run flags; the run itself is runtime/tools/run.h, shared
// with it.
//
//===----------------------------------------------------------------------===//
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <string>

#include "runtime/cpu/kernels.h"
#include "runtime/cpu/model.h"
#include "runtime/file.h"
#include "runtime/memory.h"
#include "runtime/session/session.h"
#include "runtime/tools/run.h"

namespace {

constexpr char kHelp[] =
    "bathy-run: loads a .bathy artifact (compiled by bathyc) and runs it on\n"
    "the CPU, with the runtime alone.\n\n"
    "  bathy-run model.bathy --input=x=x.npy --output-dir=out\n"
    "  bathy-run model.bathy --dim=batch=8 --benchmark=20 --threads=2\n\n"
    "  --input=NAME=FILE      an input from a .npy file (repeatable; others "
    "are random)\n"
    "  --dim=NAME=N           size of a dynamic dim by its dim_param "
    "(default 1)\n"
    "  --shape=NAME=AxBx...   a random input's whole shape\n"
    "  --seed=N               seed of the random inputs (0)\n"
    "  --output-dir=DIR       write each output as DIR/<name>.npy\n"
    "  --save-inputs=DIR      write the inputs of the run as .npy\n"
    "  --benchmark=N          run N more times; print median and p90 "
    "latency\n"
    "  --threads=N            threads the kernels use (0: all)\n"
    "  --max-memory=BYTES     most tensor memory the run may hold (8G, "
    "512M)\n"
    "  --trusted-key=PEM      run only artifacts this Ed25519 public key "
    "signed\n"
    "  --print-plan           print the (generic) execution plan and stop\n"
    "  --shape-trace=FILE     replay FILE's requests (one line per request,\n"
    "                         e.g. 'batch=1 seq=37') and report latency per\n"
    "                         plan kind, shapes, cache hits and memory\n"
    "  --pad=DIM[:value=V][:mask=INPUT][:mask-value=V]\n"
    "                         requests may be padded along DIM up to a bucket\n"
    "                         (added to the artifact's own rules)\n"
    "  --quiet                no progress messages\n";

bool Value(const std::string &arg, const char *name, std::string &out) {
  std::string prefix = std::string("--") + name + "=";
  if (arg.rfind(prefix, 0) != 0)
    return false;
  out = arg.substr(prefix.size());
  return true;
}

bool Number(const std::string &text, unsigned long &out) {
  if (text.empty() || text.size() > 9 ||
      text.find_first_not_of("0123456789") != std::string::npos)
    return false;
  out = std::stoul(text);
  return true;
}

} // namespace

int main(int argc, char **argv) {
  namespace tool = bathy::rt::tool;
  tool::RunFlags flags;
  std::string path, value, trustedKey;
  unsigned long threads = 0;
  bool printPlan = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    unsigned long n = 0;
    if (a == "--help" || a == "-h") {
      std::cout << kHelp;
      return 0;
    } else if (Value(a, "input", value)) {
      flags.inputs.push_back(value);
    } else if (Value(a, "dim", value)) {
      flags.dims.push_back(value);
    } else if (Value(a, "shape", value)) {
      flags.shapes.push_back(value);
    } else if (Value(a, "output-dir", value)) {
      flags.output_dir = value;
    } else if (Value(a, "save-inputs", value)) {
      flags.save_inputs = value;
    } else if (Value(a, "seed", value) && Number(value, n)) {
      flags.seed = static_cast<unsigned>(n);
    } else if (Value(a, "benchmark", value) && Number(value, n)) {
      flags.benchmark = static_cast<unsigned>(n);
    } else if (Value(a, "threads", value) && Number(value, n) && n <= 1024) {
      threads = n;
    } else if (Value(a, "max-memory", value)) {
      int64_t bytes = 0;
      if (absl::Status s = bathy::rt::ParseByteSize(value, &bytes); !s.ok())
        return tool::Fail("--max-memory: " + std::string(s.message()));
      bathy::rt::SetMemoryLimit(bytes);
    } else if (Value(a, "shape-trace", value)) {
      flags.shape_trace = value;
    } else if (Value(a, "pad", value)) {
      flags.pad.push_back(value);
    } else if (a.rfind("--specialize-after", 0) == 0 ||
               a.rfind("--max-specialization", 0) == 0) {
      return tool::Fail(a.substr(0, a.find('=')) +
                        " needs the compiler; the runtime alone serves the "
                        "artifact's buckets (bathyc --buckets)");
    } else if (Value(a, "trusted-key", value)) {
      absl::StatusOr<std::string> key =
          bathy::rt::ReadRegularFile(value, 1 << 16);
      if (!key.ok())
        return tool::Fail("--trusted-key: " +
                          std::string(key.status().message()));
      trustedKey = std::move(*key);
    } else if (a == "--print-plan") {
      printPlan = true;
    } else if (a == "--bench-stdin") {
      flags.bench_stdin = true;
    } else if (a == "--quiet" || a == "--device=cpu") {
    } else if (!a.empty() && a[0] != '-' && path.empty()) {
      path = a;
    } else {
      return tool::Fail("unknown or malformed argument '" + a +
                        "' (see --help)");
    }
  }
  if (path.empty())
    return tool::Fail("no model given (see --help)");
  if (path.size() < 6 || path.substr(path.size() - 6) != ".bathy")
    return tool::Fail(path + ": this bathy-run runs .bathy artifacts only (the "
                             "runtime-only build has no compiler; use bathyc)");
  bathy_rt_set_num_threads(static_cast<int>(threads));
  tool::InputFlags parsed;
  if (std::optional<std::string> error = tool::ParseInputFlags(flags, parsed))
    return tool::Fail(*error);
  absl::StatusOr<bathy::rt::SessionOptions> options =
      tool::SessionOptionsFrom(flags);
  if (!options.ok())
    return tool::Fail(std::string(options.status().message()));
  auto start = std::chrono::steady_clock::now();
  absl::StatusOr<std::unique_ptr<bathy::rt::Artifact>> artifact =
      bathy::rt::Artifact::Open(path, trustedKey);
  if (!artifact.ok())
    return tool::Fail(std::string(artifact.status().message()));
  absl::StatusOr<std::unique_ptr<bathy::rt::Session>> session =
      bathy::rt::Session::FromArtifact(std::move(*artifact), path, *options);
  if (!session.ok())
    return tool::Fail(std::string(session.status().message()));
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  if (printPlan) {
    std::cout << (*session)->generic().plan().ToString();
    return 0;
  }
  if (!flags.shape_trace.empty()) {
    tool::Startup startup;
    startup.seconds = seconds;
    return tool::ReplayTrace(**session, flags, parsed, startup);
  }
  std::vector<std::vector<int64_t>> shapes;
  if (std::optional<std::string> error =
          tool::InputShapes((*session)->inputs(), parsed, shapes))
    return tool::Fail(*error);
  return tool::RunAndReport(**session, flags, parsed, shapes, seconds);
}
