//===- session.h - A model serving requests of changing shapes -----------===//
//
// One object between callers (bathy-run, later the server and the Python
// API) and a model's plans. The generic plan serves every shape; plans
// specialised for some sizes of the dynamic dims serve those faster:
//
//   - buckets, compiled ahead of time (bathyc --buckets), fixed for the
//     session's life;
//   - specialisations, made while the session runs: after a shape
//     signature (the sizes of the dynamic dims, "batch=1 seq=37") has been
//     seen `specialize_after` times, a Specializer makes a plan for it on a
//     background thread while the generic plan keeps serving; it is swapped
//     in (under a lock; runs in flight keep the plan they started with) when
//     ready. At most `max_specializations` of them live at once, and at most
//     `max_specialization_bytes` of their memory; the least recently used
//     goes first. A signature whose specialisation failed is never tried
//     again (the failure is counted and logged).
//
// A request runs on the plan made for exactly its signature, else (when
// the model's contract allows padding along some dims, PadRule) on the
// smallest plan that holds it, its inputs padded and outputs cut back,
// else on the generic plan. Nothing here compiles on the caller's thread.
//
// Specialised plans share the generic plan's weights (ConstantPool): a
// specialisation costs its code, its arena and the constants the compiler
// folded for its shapes, not a second copy of the model.
//
//===----------------------------------------------------------------------===//
#ifndef BATHY_RUNTIME_SESSION_SESSION_H
#define BATHY_RUNTIME_SESSION_SESSION_H

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/artifact/artifact.h"
#include "runtime/cpu/model.h"

namespace bathy::rt {

/// The sizes of a request's dynamic dims, in the order the inputs first
/// show them: named dims by dim_param, unnamed ones as "input[d]".
struct ShapeSignature {
  std::vector<std::pair<std::string, int64_t>> dims;
  /// "batch=1 seq=37" ("static" when the model has no dynamic dim).
  std::string ToString() const;
  bool operator<(const ShapeSignature &o) const { return dims < o.dims; }
  bool operator==(const ShapeSignature &o) const { return dims == o.dims; }
};

/// The signature of inputs of these shapes for a model with these inputs.
/// Ranks must match the specs (checked: an error names the input).
absl::StatusOr<ShapeSignature>
SignatureOf(const std::vector<TensorSpec> &specs,
            const std::vector<std::vector<int64_t>> &shapes);

/// "seq", "seq:mask=attention_mask", "seq:value=0:mask=m:mask-value=0"
/// (bathyc --pad, bathy-run --pad).
absl::StatusOr<PadRule> ParsePadRule(const std::string &text);
/// The rule as ParsePadRule reads it.
std::string PadRuleToString(const PadRule &rule);

/// A plan made for one signature, by whatever can make one.
struct Specialization {
  Plan plan;
  /// Its kernels' shared object.
  std::string code;
  /// An artifact (a compile-cache entry) the plan's constants view, if any.
  std::shared_ptr<const Artifact> keep;
  /// Whether it came from the compile cache rather than the compiler.
  bool cache_hit = false;
};

/// What makes specialisations: the compiler (JIT mode) or nothing (a
/// runtime alone has only the artifact's buckets). Called on the session's
/// background thread, one call at a time.
class Specializer {
public:
  virtual ~Specializer();
  /// A plan for inputs of exactly `shapes` (whose signature is `signature`).
  virtual absl::StatusOr<Specialization>
  Specialize(const ShapeSignature &signature,
             const std::vector<std::vector<int64_t>> &shapes) = 0;
};

struct SessionOptions {
  /// Specialise a signature once it has been seen this many times (0:
  /// never; needs a Specializer).
  uint32_t specialize_after = 0;
  /// At most this many specialisations alive at once (LRU eviction).
  uint32_t max_specializations = 8;
  /// At most this many bytes of them (code, arena, constants of their own).
  uint64_t max_specialization_bytes = uint64_t{2} << 30;
  /// Dims along which requests may be padded up to a plan (added to the
  /// artifact's own rules).
  std::vector<PadRule> pad;
  /// Called with each message worth a user's attention (a failed or
  /// evicted specialisation), from any thread.
  std::function<void(const std::string &)> log;
};

/// Which plan served a request.
enum class PlanKind : uint8_t { kGeneric, kBucket, kPadded, kSpecialized };
const char *PlanKindName(PlanKind kind);

/// Counters for the server to export (and bathy-run --shape-trace to
/// print). Read with Session::metrics().
struct SessionMetrics {
  uint64_t requests = 0;
  /// Requests per plan kind (PlanKind order).
  uint64_t runs[4] = {0, 0, 0, 0};
  /// Specialisations: asked for, ready (compiled or from the cache), of
  /// those from the cache, failed, evicted; seconds spent making them.
  uint64_t specializations_requested = 0, specializations_ready = 0,
           cache_hits = 0, failures = 0, evictions = 0;
  double specialize_seconds = 0;
  /// Alive now, and their bytes.
  uint64_t specializations_alive = 0, specialization_bytes = 0;
  /// Distinct signatures seen (counted up to the counter table's bound).
  uint64_t signatures_seen = 0;
};

class Session {
public:
  /// A session over `generic` and the `buckets` made for it (each with the
  /// dims it is specialised for); `specializer` may be null.
  Session(std::unique_ptr<CpuModel> generic,
          std::vector<std::pair<std::vector<std::pair<std::string, int64_t>>,
                                std::unique_ptr<CpuModel>>>
              buckets,
          std::unique_ptr<Specializer> specializer, SessionOptions options);
  /// A session over an artifact: its generic plan, its buckets, its
  /// padding rules.
  static absl::StatusOr<std::unique_ptr<Session>>
  FromArtifact(std::shared_ptr<const Artifact> artifact,
               const std::string &name, SessionOptions options,
               std::unique_ptr<Specializer> specializer = nullptr);
  /// Stops the background thread (a specialisation being made is finished
  /// first).
  ~Session();

  const CpuModel &generic() const { return *generic_; }
  const std::vector<TensorSpec> &inputs() const { return generic_->inputs(); }
  const std::vector<TensorSpec> &outputs() const {
    return generic_->outputs();
  }

  /// Runs one request (thread-safe). `kind`, if given, says which plan
  /// served it.
  absl::StatusOr<std::vector<HostTensor>>
  Run(const std::vector<HostTensor> &inputs, PlanKind *kind = nullptr);

  /// Waits until no specialisation is queued or being made.
  void WaitForBackground();
  SessionMetrics metrics() const;
  /// The padding rules in force.
  const std::vector<PadRule> &pad_rules() const { return pad_; }
  /// The sizes the buckets fix for `dim`, ascending (empty: no bucket
  /// fixes it). The batcher groups requests by the bucket they would run on.
  std::vector<int64_t> BucketSizes(const std::string &dim) const;

private:
  struct Holder {
    std::vector<std::pair<std::string, int64_t>> dims;
    std::shared_ptr<const CpuModel> model;
    PlanKind kind = PlanKind::kBucket;
    uint64_t bytes = 0;
    uint64_t last_used = 0;
  };
  struct Job {
    ShapeSignature signature;
    std::vector<std::vector<int64_t>> shapes;
  };
  /// The plan for `sig`, and whether it needs padding; null: the generic
  /// plan. Under mu_.
  Holder *Choose(const ShapeSignature &sig, bool &padded);
  /// Counts a request of `sig` and queues its specialisation when it is
  /// due (never when `exact`: a plan for exactly `sig` exists). Under mu_.
  void Count(const ShapeSignature &sig,
             const std::vector<std::vector<int64_t>> &shapes, bool exact);
  /// The background thread: makes the queued specialisations.
  void Work();
  void Log(const std::string &message) const;
  /// Runs `model` (made for `dims`) on `inputs` padded up to it, and cuts
  /// the outputs back to `sig`.
  absl::StatusOr<std::vector<HostTensor>>
  RunPadded(const CpuModel &model,
            const std::vector<std::pair<std::string, int64_t>> &dims,
            const ShapeSignature &sig, const std::vector<HostTensor> &inputs);

  std::unique_ptr<CpuModel> generic_;
  std::unique_ptr<ConstantPool> pool_;
  std::unique_ptr<Specializer> specializer_;
  SessionOptions options_;
  std::vector<PadRule> pad_;
  /// Whether every dynamic dim of the outputs is named (padding needs to
  /// know which output dims to cut back).
  bool can_pad_ = false;

  mutable std::mutex mu_;
  std::condition_variable work_cv_, idle_cv_;
  std::vector<Holder> buckets_;
  std::map<ShapeSignature, Holder> specialized_;
  std::map<ShapeSignature, uint64_t> counts_;
  std::set<ShapeSignature> failed_, queued_;
  std::deque<Job> jobs_;
  bool busy_ = false, stop_ = false;
  uint64_t clock_ = 0;
  SessionMetrics metrics_;
  std::thread worker_;
};

} // namespace bathy::rt

#endif // BATHY_RUNTIME_SESSION_SESSION_H
