//===- batcher.h - Requests gathered into batches for one model -----------===//
//
// A model's request queue. Requests wait in one queue per priority level
// (1 is the highest; a request past its deadline leaves with
// DeadlineExceeded; a full queue refuses with ResourceExhausted, which the
// transports turn into 429 / RESOURCE_EXHAUSTED). A gatherer thread takes
// the oldest request of the highest priority and the queued requests that
// can run with it, and sends the batch on when
//
//   - it holds `max_batch_size` rows (or the adaptive cap, below), or
//   - it holds a preferred batch size and nothing more that fits is queued,
//   - or its oldest request has waited `max_queue_delay_us`;
//
// then it stages the batch (inputs concatenated along the batch dim,
// padded along dims the model's contract lets be padded: PadRule) in a
// queue of `prefetch_batches`, so the next batch is gathered while one
// computes. `instances` worker threads run staged batches on the model's
// session and hand each request its rows back, cut to its own sizes: a
// response is the response the request alone would get.
//
// Requests run together only when they agree on every dim but the batch
// dim and the paddable ones, and along a paddable dim with buckets only
// when they fall in the same bucket (the smallest that holds them): they
// would be padded to it alone too, so batching adds no padding. Requests
// beyond the largest bucket join only requests of their own size; along a
// paddable dim without buckets they are padded to the batch's longest. A model with no batch dim (its inputs' and
// outputs' leading dims do not all share one dim_param) runs each request
// alone, through the same queue.
//
// Adaptive mode (`latency_target_ms` > 0): the batch-size cap is the
// largest size whose expected queueing (rows / arrival rate) plus compute
// (fitted per batch size from the runs seen) fits the target, and the
// queue delay is what is left of the target after compute.
//
//===----------------------------------------------------------------------===//
#ifndef BATHY_SERVE_BATCHER_H
#define BATHY_SERVE_BATCHER_H

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/session/session.h"

namespace bathy::serve {

struct BatcherOptions {
  /// Rows per batch at most (1: no batching).
  int64_t max_batch_size = 1;
  /// Sizes to send as soon as they are reached.
  std::vector<int64_t> preferred_batch_sizes;
  uint64_t max_queue_delay_us = 0;
  /// Priority levels (1 = highest); requests with priority 0 get
  /// `default_priority`.
  uint32_t priority_levels = 1;
  uint32_t default_priority = 1;
  /// Requests queued at most (all levels together).
  uint32_t max_queue_size = 1024;
  /// A request's timeout when it names none (0: none).
  uint64_t default_timeout_us = 0;
  uint32_t instances = 1;
  uint32_t prefetch_batches = 1;
  /// Adaptive batch size for this latency (0: off).
  double latency_target_ms = 0;
  /// CPUs for the worker threads (empty: any).
  std::vector<int> cpu_affinity;
  /// Messages for the operator (a CPU the workers cannot be pinned to).
  std::function<void(const std::string &)> log;
};

/// What happened to a request, for metrics and the audit log.
struct BatchInfo {
  /// Rows in the batch it ran in.
  int64_t batch_rows = 0;
  /// Elements computed for the batch's inputs, and of those the ones that
  /// were padding.
  uint64_t batch_elements = 0, padding_elements = 0;
  double queue_seconds = 0, compute_seconds = 0;
  rt::PlanKind plan = rt::PlanKind::kGeneric;
};

using BatchDone = std::function<void(absl::StatusOr<std::vector<rt::HostTensor>>,
                                     const BatchInfo &)>;

/// Counters the server exports per model version.
struct BatcherStats {
  uint64_t batches = 0, rows = 0, padding_elements = 0, batch_elements = 0;
  uint64_t rejected_full = 0, timed_out = 0;
  /// Batch sizes seen: histogram over 1, 2, 4, ..., 2^15 and more.
  uint64_t batch_size_buckets[17] = {};
  uint64_t queued = 0;
  int64_t current_cap = 0;
};

/// The adaptive mode's choice: the largest batch size `cap` whose fill
/// time ((cap - 1) / rows_per_second) plus compute (a + c * cap seconds)
/// fits `target_seconds` (at least 1), and the queue delay left over (at
/// most `max_delay_us` when that is set).
struct AdaptiveChoice {
  int64_t cap = 1;
  uint64_t delay_us = 0;
};
AdaptiveChoice ChooseAdaptive(double a, double c, double rows_per_second,
                              double target_seconds, int64_t max_batch,
                              uint64_t max_delay_us);

class Batcher {
public:
  /// A batcher in front of `session`; `batch_dim` is the dim it batches
  /// along ("" for none).
  Batcher(std::shared_ptr<rt::Session> session, std::string batch_dim,
          BatcherOptions options);
  /// Finishes every queued request, then stops.
  ~Batcher();

  /// Queues a request (inputs in the model's order, already checked against
  /// its specs). `done` is called exactly once, from a worker thread (or
  /// from here, when the request is refused).
  void Submit(std::vector<rt::HostTensor> inputs, uint64_t priority,
              uint64_t timeout_us, BatchDone done);

  BatcherStats stats() const;
  const std::string &batch_dim() const { return batch_dim_; }
  const BatcherOptions &options() const { return options_; }

private:
  using Clock = std::chrono::steady_clock;
  struct Request {
    std::vector<rt::HostTensor> inputs;
    int64_t rows = 1;
    Clock::time_point arrived, deadline;
    bool has_deadline = false;
    BatchDone done;
    /// Its inputs' shapes, once the inputs went into a batch.
    std::vector<std::vector<int64_t>> shapes;
  };
  struct Batch {
    std::vector<Request> requests;
    std::vector<rt::HostTensor> inputs;
    uint64_t elements = 0, padding = 0;
    Clock::time_point formed;
  };

  void Gather();
  void Work();
  /// Whether `r` can run in one batch with `head` (same sizes but along
  /// the batch dim and paddable dims).
  bool Compatible(const Request &head, const Request &r) const;
  /// Moves the requests of the next batch out of the queues; empty when
  /// nothing is due yet (`wake` says when to look again). Under mu_.
  std::vector<Request> Take(Clock::time_point now, Clock::time_point &wake);
  /// The batch of `requests`; nullopt when it could not be made (each
  /// request was told).
  std::optional<Batch> Stage(std::vector<Request> requests);
  void Finish(Batch &batch);
  /// Drops queued requests past their deadline. Under mu_.
  void Expire(Clock::time_point now);
  /// The adaptive cap and delay. Under mu_.
  void Adapt();

  std::shared_ptr<rt::Session> session_;
  std::string batch_dim_;
  BatcherOptions options_;
  /// Per input: the batch dim's index (-1: none); per input and dim: the
  /// pad rule that applies (-1: none).
  std::vector<int> input_batch_axis_;
  std::vector<std::vector<int>> input_pad_;
  std::vector<int> output_batch_axis_;
  std::vector<std::vector<int>> output_pad_;
  std::vector<rt::PadRule> rules_;
  /// Per rule: the sizes the artifact's buckets fix for its dim (ascending).
  std::vector<std::vector<int64_t>> rule_buckets_;
  bool batching_ = false;

  mutable std::mutex mu_;
  std::condition_variable queue_cv_, staged_cv_, space_cv_;
  std::vector<std::deque<Request>> queues_;
  size_t queued_ = 0;
  std::deque<Batch> staged_;
  std::vector<Request> expired_;
  bool stop_ = false, gathered_all_ = false;
  BatcherStats stats_;
  // Adaptive state: seconds between arriving rows (EWMA), compute seconds
  // per row and per batch (least squares over recent batches).
  double row_interval_ = 0;
  Clock::time_point last_arrival_{};
  double fit_n_ = 0, fit_sx_ = 0, fit_sy_ = 0, fit_sxx_ = 0, fit_sxy_ = 0;
  int64_t cap_ = 1;
  uint64_t delay_us_ = 0;
  std::thread gatherer_;
  std::vector<std::thread> workers_;
};

} // namespace bathy::serve

#endif // BATHY_SERVE_BATCHER_H
