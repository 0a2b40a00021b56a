//===- batcher.cc - Requests gathered into batches for one model ----------===//

#include "serve/batcher.h"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <cstring>
#include <map>

#include "absl/strings/str_cat.h"

namespace bathy::serve {

Batcher::Batcher(std::shared_ptr<rt::Session> session, std::string batch_dim,
                 BatcherOptions options)
    : session_(std::move(session)), batch_dim_(std::move(batch_dim)),
      options_(std::move(options)) {
  options_.priority_levels = std::max<uint32_t>(1, options_.priority_levels);
  options_.default_priority = std::clamp<uint32_t>(
      options_.default_priority, 1, options_.priority_levels);
  options_.instances = std::max<uint32_t>(1, options_.instances);
  options_.prefetch_batches = std::max<uint32_t>(1, options_.prefetch_batches);
  options_.max_batch_size = std::max<int64_t>(1, options_.max_batch_size);
  batching_ = !batch_dim_.empty() && options_.max_batch_size > 1;
  rules_ = session_->pad_rules();
  for (const rt::PadRule &rule : rules_)
    rule_buckets_.push_back(session_->BucketSizes(rule.dim));
  // Padding inside a batch needs every dynamic output dim named, as the
  // session's own padding does: the cut back goes by name.
  bool outputs_named = true;
  for (const rt::TensorSpec &s : session_->outputs())
    for (size_t d = 0; d < s.shape.size(); ++d)
      if (s.shape[d] < 0 && (d >= s.dim_params.size() || s.dim_params[d].empty()))
        outputs_named = false;
  auto axes = [&](const std::vector<rt::TensorSpec> &specs,
                  std::vector<int> &batch_axis,
                  std::vector<std::vector<int>> &pad) {
    for (const rt::TensorSpec &s : specs) {
      batch_axis.push_back(batching_ ? 0 : -1);
      std::vector<int> p(s.shape.size(), -1);
      for (size_t d = 0; d < s.shape.size(); ++d) {
        if (s.shape[d] >= 0 || d >= s.dim_params.size() || !outputs_named)
          continue;
        if (batching_ && d == 0)
          continue;
        for (size_t r = 0; r < rules_.size(); ++r)
          if (rules_[r].dim == s.dim_params[d])
            p[d] = static_cast<int>(r);
      }
      pad.push_back(std::move(p));
    }
  };
  axes(session_->inputs(), input_batch_axis_, input_pad_);
  axes(session_->outputs(), output_batch_axis_, output_pad_);
  queues_.resize(options_.priority_levels);
  cap_ = options_.max_batch_size;
  delay_us_ = options_.max_queue_delay_us;
  gatherer_ = std::thread([this] { Gather(); });
  for (uint32_t i = 0; i < options_.instances; ++i)
    workers_.emplace_back([this] { Work(); });
  if (!options_.cpu_affinity.empty()) {
    for (size_t i = 0; i < workers_.size(); ++i) {
      cpu_set_t set;
      CPU_ZERO(&set);
      int cpu = options_.cpu_affinity[i % options_.cpu_affinity.size()];
      CPU_SET(cpu, &set);
      int err = pthread_setaffinity_np(workers_[i].native_handle(), sizeof set, &set);
      if (err != 0 && options_.log)
        options_.log(absl::StrCat("cannot pin batch worker ", i, " to CPU ", cpu,
                                  ": ", std::strerror(err)));
    }
  }
}

Batcher::~Batcher() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  queue_cv_.notify_all();
  space_cv_.notify_all();
  gatherer_.join();
  staged_cv_.notify_all();
  for (std::thread &t : workers_)
    t.join();
}

void Batcher::Submit(std::vector<rt::HostTensor> inputs, uint64_t priority,
                     uint64_t timeout_us, BatchDone done) {
  Request r;
  r.arrived = Clock::now();
  if (timeout_us == 0)
    timeout_us = options_.default_timeout_us;
  if (timeout_us) {
    r.has_deadline = true;
    r.deadline = r.arrived + std::chrono::microseconds(timeout_us);
  }
  if (batching_ && !inputs.empty() && inputs[0].rank() > 0)
    r.rows = inputs[0].shape()[0];
  r.inputs = std::move(inputs);
  uint32_t level = priority == 0 ? options_.default_priority
                                 : static_cast<uint32_t>(std::min<uint64_t>(
                                       priority, options_.priority_levels));
  BatchInfo none;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_) {
      r.done = std::move(done);
    } else if (queued_ >= options_.max_queue_size) {
      ++stats_.rejected_full;
      r.done = std::move(done);
      r.rows = -1;
    } else {
      if (options_.latency_target_ms > 0) {
        double dt =
            std::chrono::duration<double>(r.arrived - last_arrival_).count();
        if (last_arrival_ != Clock::time_point{} && dt >= 0) {
          // Seconds per row, averaged (the rate is its inverse: an average
          // of instantaneous rates would be dominated by bursts).
          double per_row = dt / static_cast<double>(std::max<int64_t>(1, r.rows));
          row_interval_ =
              row_interval_ == 0 ? per_row : 0.9 * row_interval_ + 0.1 * per_row;
        }
        last_arrival_ = r.arrived;
      }
      r.done = std::move(done);
      queues_[level - 1].push_back(std::move(r));
      ++queued_;
      queue_cv_.notify_one();
      return;
    }
  }
  if (r.rows == -1)
    r.done(absl::ResourceExhaustedError(absl::StrCat(
               "the model's queue is full (", options_.max_queue_size,
               " requests); try again later")),
           none);
  else
    r.done(absl::UnavailableError("the model is being unloaded"), none);
}

bool Batcher::Compatible(const Request &head, const Request &r) const {
  for (size_t i = 0; i < head.inputs.size(); ++i) {
    const std::vector<int64_t> &a = head.inputs[i].shape(),
                               &b = r.inputs[i].shape();
    for (size_t d = 0; d < a.size(); ++d) {
      if (static_cast<int>(d) == input_batch_axis_[i])
        continue;
      if (a[d] == b[d])
        continue;
      int rule = input_pad_[i][d];
      if (rule < 0)
        return false;
      const std::vector<int64_t> &sizes = rule_buckets_[rule];
      if (sizes.empty())
        continue; // padded to the batch's longest
      auto bucket = [&](int64_t n) {
        return std::lower_bound(sizes.begin(), sizes.end(), n) - sizes.begin();
      };
      size_t ba = static_cast<size_t>(bucket(a[d]));
      if (ba == sizes.size() || ba != static_cast<size_t>(bucket(b[d])))
        return false;
    }
  }
  return true;
}

void Batcher::Expire(Clock::time_point now) {
  for (std::deque<Request> &q : queues_) {
    for (auto it = q.begin(); it != q.end();) {
      if (it->has_deadline && it->deadline <= now) {
        expired_.push_back(std::move(*it));
        it = q.erase(it);
        --queued_;
        ++stats_.timed_out;
      } else {
        ++it;
      }
    }
  }
}

AdaptiveChoice ChooseAdaptive(double a, double c, double rows_per_second,
                              double target_seconds, int64_t max_batch,
                              uint64_t max_delay_us) {
  AdaptiveChoice out;
  a = std::max(a, 0.0);
  c = std::max(c, 0.0);
  for (int64_t b = 1; b <= max_batch; ++b) {
    double fill = static_cast<double>(b - 1) / rows_per_second;
    if (fill + a + c * static_cast<double>(b) <= target_seconds)
      out.cap = b;
  }
  double left = target_seconds - (a + c * static_cast<double>(out.cap));
  out.delay_us = left > 0 ? static_cast<uint64_t>(left * 1e6) : 0;
  if (max_delay_us)
    out.delay_us = std::min(out.delay_us, max_delay_us);
  return out;
}

void Batcher::Adapt() {
  if (options_.latency_target_ms <= 0 || fit_n_ < 1 || row_interval_ <= 0)
    return;
  // compute = a + c * rows, least squares over the decayed observations;
  // one distinct batch size seen: proportional.
  double a = 0, c;
  double det = fit_n_ * fit_sxx_ - fit_sx_ * fit_sx_;
  if (det > 1e-9 * fit_n_ * fit_sxx_) {
    c = (fit_n_ * fit_sxy_ - fit_sx_ * fit_sy_) / det;
    a = (fit_sy_ - c * fit_sx_) / fit_n_;
  } else {
    c = fit_sy_ / std::max(fit_sx_, 1e-9);
  }
  if (c < 0) {
    c = fit_sy_ / std::max(fit_sx_, 1e-9);
    a = 0;
  }
  AdaptiveChoice choice = ChooseAdaptive(
      a, c, 1.0 / row_interval_, options_.latency_target_ms / 1e3,
      options_.max_batch_size, options_.max_queue_delay_us);
  cap_ = choice.cap;
  delay_us_ = choice.delay_us;
}

std::vector<Batcher::Request> Batcher::Take(Clock::time_point now,
                                            Clock::time_point &wake) {
  Expire(now);
  Adapt();
  std::deque<Request> *head_q = nullptr;
  for (std::deque<Request> &q : queues_)
    if (!q.empty()) {
      head_q = &q;
      break;
    }
  std::vector<Request> out;
  if (!head_q)
    return out;
  for (std::deque<Request> &q : queues_)
    for (const Request &r : q)
      if (r.has_deadline)
        wake = std::min(wake, r.deadline);
  if (!batching_) {
    out.push_back(std::move(head_q->front()));
    head_q->pop_front();
    --queued_;
    return out;
  }
  const Request &head = head_q->front();
  int64_t cap = std::max<int64_t>(1, cap_);
  // The requests that can join the head, in priority then arrival order.
  std::vector<std::pair<std::deque<Request> *, size_t>> chosen;
  int64_t rows = 0;
  bool left_over = false;
  for (std::deque<Request> &q : queues_) {
    for (size_t i = 0; i < q.size(); ++i) {
      const Request &r = q[i];
      if (&r != &head && !Compatible(head, r))
        continue;
      if (!chosen.empty() && rows + r.rows > cap) {
        left_over = true;
        continue;
      }
      chosen.push_back({&q, i});
      rows += r.rows;
    }
  }
  bool preferred =
      std::find(options_.preferred_batch_sizes.begin(),
                options_.preferred_batch_sizes.end(),
                rows) != options_.preferred_batch_sizes.end();
  Clock::time_point due = head.arrived + std::chrono::microseconds(delay_us_);
  bool send = rows >= cap || (preferred && !left_over) || now >= due || stop_;
  if (!send) {
    wake = std::min(wake, due);
    return out;
  }
  // Take them out, back to front within each queue so indices stay valid.
  for (size_t k = chosen.size(); k-- > 0;) {
    std::deque<Request> &q = *chosen[k].first;
    size_t i = chosen[k].second;
    out.push_back(std::move(q[i]));
    q.erase(q.begin() + static_cast<std::ptrdiff_t>(i));
    --queued_;
  }
  std::reverse(out.begin(), out.end());
  return out;
}

std::optional<Batcher::Batch> Batcher::Stage(std::vector<Request> requests) {
  Batch b;
  b.formed = Clock::now();
  const std::vector<rt::TensorSpec> &specs = session_->inputs();
  if (requests.size() == 1) {
    Request &r = requests[0];
    for (const rt::HostTensor &t : r.inputs) {
      b.elements += static_cast<uint64_t>(t.num_elements());
      r.shapes.push_back(t.shape());
    }
    b.inputs = std::move(r.inputs);
    r.inputs.clear();
    b.requests = std::move(requests);
    return b;
  }
  uint64_t real = 0;
  for (size_t i = 0; i < specs.size(); ++i) {
    std::vector<int64_t> shape = requests[0].inputs[i].shape();
    shape[0] = 0;
    for (const Request &r : requests) {
      const std::vector<int64_t> &s = r.inputs[i].shape();
      shape[0] += s[0];
      for (size_t d = 1; d < s.size(); ++d)
        shape[d] = std::max(shape[d], s[d]);
      real += static_cast<uint64_t>(r.inputs[i].num_elements());
    }
    absl::StatusOr<rt::HostTensor> t = rt::HostTensor::Create(specs[i].dtype, shape);
    if (!t.ok()) {
      for (Request &r : requests)
        r.done(t.status(), BatchInfo());
      return std::nullopt;
    }
    // Padding: the rule's value, or for its mask input the mask value.
    double fill = 0;
    bool pads = false;
    for (size_t d = 1; d < shape.size(); ++d)
      if (input_pad_[i][d] >= 0) {
        const rt::PadRule &rule = rules_[input_pad_[i][d]];
        fill = rule.value;
        pads = true;
      }
    for (const rt::PadRule &rule : rules_)
      if (rule.mask_input == specs[i].name) {
        fill = rule.mask_value;
        pads = true;
      }
    if (pads && fill != 0)
      t->Fill(fill);
    int64_t row = 0;
    for (const Request &r : requests) {
      rt::CopyBlock(r.inputs[i], 0, *t, row, r.inputs[i].shape());
      row += r.inputs[i].shape()[0];
    }
    b.elements += static_cast<uint64_t>(t->num_elements());
    b.inputs.push_back(std::move(*t));
  }
  b.padding = b.elements - real;
  for (Request &r : requests) {
    for (const rt::HostTensor &t : r.inputs)
      r.shapes.push_back(t.shape());
    r.inputs.clear();
  }
  b.requests = std::move(requests);
  return b;
}

void Batcher::Finish(Batch &batch) {
  Clock::time_point start = Clock::now();
  rt::PlanKind kind = rt::PlanKind::kGeneric;
  absl::StatusOr<std::vector<rt::HostTensor>> out =
      session_->Run(batch.inputs, &kind);
  Clock::time_point end = Clock::now();
  batch.inputs.clear();
  double compute = std::chrono::duration<double>(end - start).count();
  int64_t rows = 0;
  for (const Request &r : batch.requests)
    rows += r.rows;
  BatchInfo info;
  info.batch_rows = batching_ ? rows : 1;
  info.batch_elements = batch.elements;
  info.padding_elements = batch.padding;
  info.compute_seconds = compute;
  info.plan = kind;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.batches;
    stats_.rows += static_cast<uint64_t>(info.batch_rows);
    stats_.batch_elements += batch.elements;
    stats_.padding_elements += batch.padding;
    int bucket = 0;
    while (bucket < 16 && (int64_t{1} << bucket) < info.batch_rows)
      ++bucket;
    ++stats_.batch_size_buckets[bucket];
    if (out.ok() && options_.latency_target_ms > 0) {
      // Decay old observations so the fit follows the machine's load.
      const double k = 0.95;
      double x = static_cast<double>(info.batch_rows);
      fit_n_ = k * fit_n_ + 1;
      fit_sx_ = k * fit_sx_ + x;
      fit_sy_ = k * fit_sy_ + compute;
      fit_sxx_ = k * fit_sxx_ + x * x;
      fit_sxy_ = k * fit_sxy_ + x * compute;
    }
  }
  if (!out.ok()) {
    for (Request &r : batch.requests) {
      BatchInfo i = info;
      i.queue_seconds =
          std::chrono::duration<double>(batch.formed - r.arrived).count();
      r.done(out.status(), i);
    }
    return;
  }
  const std::vector<rt::TensorSpec> &ins = session_->inputs();
  const std::vector<rt::TensorSpec> &outs = session_->outputs();
  if (batch.requests.size() == 1) {
    Request &r = batch.requests[0];
    BatchInfo i = info;
    i.queue_seconds =
        std::chrono::duration<double>(batch.formed - r.arrived).count();
    r.done(std::move(out), i);
    return;
  }
  int64_t row = 0;
  for (Request &r : batch.requests) {
    // The request's sizes of the named dims, for the cut back.
    std::map<std::string, int64_t> sizes;
    for (size_t i = 0; i < ins.size(); ++i)
      for (size_t d = 0; d < ins[i].dim_params.size() && d < r.shapes[i].size();
           ++d)
        if (!ins[i].dim_params[d].empty())
          sizes[ins[i].dim_params[d]] = r.shapes[i][d];
    std::vector<rt::HostTensor> mine;
    absl::Status failed;
    for (size_t o = 0; o < outs.size(); ++o) {
      const rt::HostTensor &t = (*out)[o];
      std::vector<int64_t> shape = t.shape();
      if (shape.empty()) {
        failed = absl::InternalError(absl::StrCat(
            "output '", outs[o].name, "' has no batch dim to split"));
        break;
      }
      shape[0] = r.rows;
      for (size_t d = 1; d < shape.size(); ++d)
        if (output_pad_[o][d] >= 0) {
          auto it = sizes.find(outs[o].dim_params[d]);
          if (it != sizes.end())
            shape[d] = std::min(shape[d], it->second);
        }
      absl::StatusOr<rt::HostTensor> part =
          rt::HostTensor::Create(t.dtype(), shape);
      if (!part.ok()) {
        failed = part.status();
        break;
      }
      rt::CopyBlock(t, row, *part, 0, shape);
      mine.push_back(std::move(*part));
    }
    row += r.rows;
    BatchInfo i = info;
    i.queue_seconds =
        std::chrono::duration<double>(batch.formed - r.arrived).count();
    if (!failed.ok())
      r.done(failed, i);
    else
      r.done(std::move(mine), i);
  }
}

void Batcher::Gather() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    space_cv_.wait(lock, [&] {
      return staged_.size() < options_.prefetch_batches || stop_;
    });
    Clock::time_point now = Clock::now();
    Clock::time_point wake = now + std::chrono::seconds(1);
    std::vector<Request> taken = Take(now, wake);
    std::vector<Request> expired = std::move(expired_);
    expired_.clear();
    if (!expired.empty()) {
      lock.unlock();
      for (Request &r : expired) {
        BatchInfo info;
        info.queue_seconds =
            std::chrono::duration<double>(now - r.arrived).count();
        r.done(absl::DeadlineExceededError(
                   "the request's timeout passed while it waited in the queue"),
               info);
      }
      lock.lock();
    }
    if (taken.empty()) {
      if (stop_ && queued_ == 0)
        break;
      if (queued_ == 0)
        queue_cv_.wait_until(lock, wake, [&] { return queued_ > 0 || stop_; });
      else
        queue_cv_.wait_until(lock, wake);
      continue;
    }
    lock.unlock();
    std::optional<Batch> batch = Stage(std::move(taken));
    lock.lock();
    if (batch) {
      staged_.push_back(std::move(*batch));
      staged_cv_.notify_one();
    }
  }
  gathered_all_ = true;
  staged_cv_.notify_all();
}

void Batcher::Work() {
  while (true) {
    std::unique_lock<std::mutex> lock(mu_);
    staged_cv_.wait(lock, [&] { return !staged_.empty() || gathered_all_; });
    if (staged_.empty())
      return;
    Batch b = std::move(staged_.front());
    staged_.pop_front();
    space_cv_.notify_one();
    lock.unlock();
    Finish(b);
  }
}

BatcherStats Batcher::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  BatcherStats s = stats_;
  s.queued = queued_;
  s.current_cap = cap_;
  return s;
}

} // namespace bathy::serve
