//===- session.cc - A model serving requests of changing shapes ----------===//
#include "runtime/session/session.h"

#include <algorithm>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <chrono>
#include <cmath>
#include <limits>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace bathy::rt {

namespace {

/// Signatures the counter table holds before it forgets the ones seen once.
constexpr size_t kMaxCountedSignatures = 4096;
/// Requests between two returns of freed memory to the system.
constexpr uint64_t kTrimEvery = 64;

/// Gives the pages of freed heap memory back to the system. Runs of
/// different shapes free buffers of different sizes, and glibc keeps what
/// it cannot reuse resident: the suite's Llama on a trace of 186 lengths
/// went 14 -> 227 MiB without this, 14 -> 38 MiB with it every 64
/// requests (bench/shape_trace.py).
void ReturnFreedMemory() {
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

const int64_t *Find(const std::vector<std::pair<std::string, int64_t>> &dims,
                    const std::string &name) {
  for (const auto &[n, v] : dims)
    if (n == name)
      return &v;
  return nullptr;
}

} // namespace

Specializer::~Specializer() = default;

std::string ShapeSignature::ToString() const {
  if (dims.empty())
    return "static";
  std::vector<std::string> parts;
  for (const auto &[name, size] : dims)
    parts.push_back(absl::StrCat(name, "=", size));
  return absl::StrJoin(parts, " ");
}

absl::StatusOr<ShapeSignature>
SignatureOf(const std::vector<TensorSpec> &specs,
            const std::vector<std::vector<int64_t>> &shapes) {
  if (shapes.size() != specs.size())
    return absl::InvalidArgumentError(absl::StrCat(
        "the model takes ", specs.size(), " inputs, got ", shapes.size()));
  ShapeSignature sig;
  for (size_t i = 0; i < specs.size(); ++i) {
    const TensorSpec &spec = specs[i];
    if (shapes[i].size() != spec.shape.size())
      return absl::InvalidArgumentError(
          absl::StrCat("input '", spec.name, "' must have rank ",
                       spec.shape.size(), ", got shape ",
                       ShapeToString(shapes[i])));
    for (size_t d = 0; d < spec.shape.size(); ++d) {
      if (spec.shape[d] >= 0)
        continue;
      std::string name =
          d < spec.dim_params.size() && !spec.dim_params[d].empty()
              ? spec.dim_params[d]
              : absl::StrCat(spec.name, "[", d, "]");
      // Dims sharing a dim_param are one dim (CpuModel::Run checks that
      // they agree).
      if (!Find(sig.dims, name))
        sig.dims.emplace_back(std::move(name), shapes[i][d]);
    }
  }
  return sig;
}

absl::StatusOr<PadRule> ParsePadRule(const std::string &text) {
  std::vector<std::string> parts = absl::StrSplit(text, ':');
  PadRule rule;
  rule.dim = parts[0];
  if (rule.dim.empty() || rule.dim.find('=') != std::string::npos)
    return absl::InvalidArgumentError(absl::StrCat(
        "--pad expects DIM[:value=V][:mask=INPUT][:mask-value=V], got '", text,
        "'"));
  for (size_t i = 1; i < parts.size(); ++i) {
    std::pair<std::string, std::string> kv =
        absl::StrSplit(parts[i], absl::MaxSplits('=', 1));
    double v = 0;
    if (kv.first == "mask" && !kv.second.empty()) {
      rule.mask_input = kv.second;
      continue;
    }
    if ((kv.first == "value" || kv.first == "mask-value") &&
        absl::SimpleAtod(kv.second, &v) && std::isfinite(v)) {
      (kv.first == "value" ? rule.value : rule.mask_value) = v;
      continue;
    }
    return absl::InvalidArgumentError(
        absl::StrCat("--pad ", text, ": '", parts[i],
                     "' is not value=NUMBER, mask=INPUT or mask-value=NUMBER"));
  }
  return rule;
}

std::string PadRuleToString(const PadRule &r) {
  std::string out = absl::StrCat(r.dim, ":value=", r.value);
  if (!r.mask_input.empty())
    absl::StrAppend(&out, ":mask=", r.mask_input, ":mask-value=", r.mask_value);
  return out;
}

const char *PlanKindName(PlanKind kind) {
  switch (kind) {
  case PlanKind::kGeneric:
    return "generic";
  case PlanKind::kBucket:
    return "bucket";
  case PlanKind::kPadded:
    return "padded bucket";
  case PlanKind::kSpecialized:
    return "specialized";
  }
  return "?";
}

Session::Session(
    std::unique_ptr<CpuModel> generic,
    std::vector<std::pair<std::vector<std::pair<std::string, int64_t>>,
                          std::unique_ptr<CpuModel>>>
        buckets,
    std::unique_ptr<Specializer> specializer, SessionOptions options)
    : generic_(std::move(generic)), specializer_(std::move(specializer)),
      options_(std::move(options)), pad_(options_.pad) {
  for (auto &[dims, model] : buckets) {
    Holder h;
    h.dims = std::move(dims);
    h.model = std::move(model);
    h.kind = PlanKind::kBucket;
    buckets_.push_back(std::move(h));
  }
  // Padding cuts outputs back along the padded dims, so it needs every
  // dynamic dim of the outputs named.
  can_pad_ = !pad_.empty();
  for (const TensorSpec &s : generic_->outputs())
    for (size_t d = 0; d < s.shape.size(); ++d)
      if (s.shape[d] < 0 && (d >= s.dim_params.size() || s.dim_params[d].empty()))
        can_pad_ = false;
  if (!pad_.empty() && !can_pad_)
    Log("padding is off: an output has a dynamic dim without a name, so it "
        "cannot be cut back to the request's size");
}

absl::StatusOr<std::unique_ptr<Session>>
Session::FromArtifact(std::shared_ptr<const Artifact> artifact,
                      const std::string &name, SessionOptions options,
                      std::unique_ptr<Specializer> specializer) {
  absl::StatusOr<std::unique_ptr<CpuModel>> generic =
      CpuModel::FromArtifact(artifact, name, 0);
  if (!generic.ok())
    return generic.status();
  std::vector<std::pair<std::vector<std::pair<std::string, int64_t>>,
                        std::unique_ptr<CpuModel>>>
      buckets;
  for (const Manifest::Bucket &b : artifact->manifest().buckets) {
    absl::StatusOr<std::unique_ptr<CpuModel>> m =
        CpuModel::FromArtifact(artifact, name, b.plan);
    if (!m.ok())
      return m.status();
    buckets.emplace_back(b.dims, std::move(*m));
  }
  // The artifact's padding rules, then the caller's (which win for a dim
  // both name).
  std::vector<PadRule> pad = artifact->manifest().pad;
  for (const PadRule &r : options.pad) {
    bool replaced = false;
    for (PadRule &p : pad)
      if (p.dim == r.dim) {
        p = r;
        replaced = true;
      }
    if (!replaced)
      pad.push_back(r);
  }
  options.pad = std::move(pad);
  return std::make_unique<Session>(std::move(*generic), std::move(buckets),
                                   std::move(specializer), std::move(options));
}

Session::~Session() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  if (worker_.joinable())
    worker_.join();
}

void Session::Log(const std::string &message) const {
  if (options_.log)
    options_.log(message);
}

Session::Holder *Session::Choose(const ShapeSignature &sig, bool &padded) {
  padded = false;
  if (auto it = specialized_.find(sig); it != specialized_.end())
    return &it->second;
  Holder *best = nullptr;
  double bestCost = std::numeric_limits<double>::infinity();
  auto consider = [&](Holder &h) {
    bool pads = false;
    double cost = 1;
    for (const auto &[name, size] : h.dims) {
      const int64_t *want = Find(sig.dims, name);
      if (!want)
        return false;
      if (*want == size)
        continue;
      bool rule = false;
      for (const PadRule &r : pad_)
        rule |= r.dim == name;
      if (!can_pad_ || !rule || *want > size)
        return false;
      pads = true;
      cost *= static_cast<double>(size);
    }
    if (!pads)
      return true; // exact
    if (cost < bestCost) {
      best = &h;
      bestCost = cost;
    }
    return false;
  };
  for (Holder &h : buckets_)
    if (consider(h))
      return &h;
  for (auto &[s, h] : specialized_)
    if (consider(h))
      return &h;
  padded = best != nullptr;
  return best;
}

void Session::Count(const ShapeSignature &sig,
                    const std::vector<std::vector<int64_t>> &shapes,
                    bool exact) {
  auto it = counts_.find(sig);
  if (it == counts_.end()) {
    if (counts_.size() >= kMaxCountedSignatures) {
      // A long tail of shapes seen once must not grow the table forever.
      for (auto c = counts_.begin(); c != counts_.end();)
        c = c->second <= 1 ? counts_.erase(c) : std::next(c);
      if (counts_.size() >= kMaxCountedSignatures)
        counts_.clear();
    }
    it = counts_.emplace(sig, 0).first;
    ++metrics_.signatures_seen;
  }
  ++it->second;
  // A plan made for exactly this signature (a bucket or a specialisation)
  // needs no other.
  if (!specializer_ || options_.specialize_after == 0 || exact ||
      it->second < options_.specialize_after || queued_.count(sig) ||
      failed_.count(sig))
    return;
  queued_.insert(sig);
  jobs_.push_back({sig, shapes});
  ++metrics_.specializations_requested;
  if (!worker_.joinable())
    worker_ = std::thread([this] { Work(); });
  work_cv_.notify_one();
}

absl::StatusOr<std::vector<HostTensor>>
Session::Run(const std::vector<HostTensor> &inputs, PlanKind *kind) {
  std::vector<std::vector<int64_t>> shapes;
  for (const HostTensor &t : inputs)
    shapes.push_back(t.shape());
  absl::StatusOr<ShapeSignature> sig = SignatureOf(generic_->inputs(), shapes);
  if (!sig.ok())
    return sig.status();
  std::shared_ptr<const CpuModel> model;
  std::vector<std::pair<std::string, int64_t>> dims;
  PlanKind ran = PlanKind::kGeneric;
  bool trim = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    trim = ++metrics_.requests % kTrimEvery == 0;
    bool padded = false;
    Holder *h = Choose(*sig, padded);
    if (h) {
      model = h->model;
      h->last_used = ++clock_;
      ran = padded ? PlanKind::kPadded : h->kind;
      if (padded)
        dims = h->dims;
    }
    ++metrics_.runs[static_cast<int>(ran)];
    Count(*sig, shapes, /*exact=*/h && !padded);
  }
  if (kind)
    *kind = ran;
  if (trim)
    ReturnFreedMemory();
  if (!model)
    return generic_->Run(inputs);
  if (ran == PlanKind::kPadded)
    return RunPadded(*model, dims, *sig, inputs);
  return model->Run(inputs);
}

absl::StatusOr<std::vector<HostTensor>>
Session::RunPadded(const CpuModel &model,
                   const std::vector<std::pair<std::string, int64_t>> &dims,
                   const ShapeSignature &sig,
                   const std::vector<HostTensor> &inputs) {
  // The dims to pad (to the plan's size) and each one's rule.
  std::map<std::string, std::pair<int64_t, const PadRule *>> grow;
  for (const auto &[name, size] : dims)
    if (const int64_t *want = Find(sig.dims, name); want && *want < size)
      for (const PadRule &r : pad_)
        if (r.dim == name)
          grow[name] = {size, &r};
  auto paramOf = [](const TensorSpec &s, size_t d) -> const std::string * {
    return d < s.dim_params.size() && s.shape[d] < 0 ? &s.dim_params[d]
                                                      : nullptr;
  };
  std::vector<HostTensor> padded;
  padded.reserve(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    const TensorSpec &spec = generic_->inputs()[i];
    std::vector<int64_t> shape = inputs[i].shape();
    const PadRule *rule = nullptr;
    for (size_t d = 0; d < shape.size(); ++d)
      if (const std::string *p = paramOf(spec, d))
        if (auto g = grow.find(*p); g != grow.end()) {
          shape[d] = g->second.first;
          if (!rule || g->second.second->mask_input == spec.name)
            rule = g->second.second;
        }
    if (!rule) {
      padded.push_back(inputs[i]);
      continue;
    }
    double fill = rule->mask_input == spec.name ? rule->mask_value : rule->value;
    absl::StatusOr<HostTensor> t = ResizeCorner(inputs[i], shape, fill);
    if (!t.ok())
      return t.status();
    padded.push_back(std::move(*t));
  }
  absl::StatusOr<std::vector<HostTensor>> outputs = model.Run(padded);
  if (!outputs.ok())
    return outputs.status();
  for (size_t j = 0; j < outputs->size(); ++j) {
    const TensorSpec &spec = generic_->outputs()[j];
    HostTensor &out = (*outputs)[j];
    std::vector<int64_t> shape = out.shape();
    bool cut = false;
    for (size_t d = 0; d < shape.size() && d < spec.shape.size(); ++d)
      if (const std::string *p = paramOf(spec, d); p && grow.count(*p)) {
        shape[d] = *Find(sig.dims, *p);
        cut = true;
      }
    if (!cut)
      continue;
    absl::StatusOr<HostTensor> t = ResizeCorner(out, shape, 0);
    if (!t.ok())
      return t.status();
    out = std::move(*t);
  }
  return outputs;
}

void Session::Work() {
  while (true) {
    Job job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      work_cv_.wait(lock, [&] { return stop_ || !jobs_.empty(); });
      if (stop_)
        return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
      busy_ = true;
    }
    // Only this thread uses the pool; hashing the weights waits for the
    // first specialisation.
    if (!pool_)
      pool_ = std::make_unique<ConstantPool>(generic_->plan());
    auto start = std::chrono::steady_clock::now();
    absl::StatusOr<Specialization> s =
        specializer_->Specialize(job.signature, job.shapes);
    std::shared_ptr<const CpuModel> model;
    uint64_t bytes = 0;
    absl::Status status = s.status();
    if (s.ok()) {
      uint64_t constants = 0;
      for (const Plan::Constant &c : s->plan.constants)
        constants += c.bytes.size;
      constants -= pool_->Share(s->plan);
      if (s->keep)
        s->keep->ReleaseWeightPages();
      bytes = s->code.size() + constants;
      absl::StatusOr<std::unique_ptr<CpuModel>> m = CpuModel::Create(
          std::move(s->plan), s->code,
          "the specialisation for " + job.signature.ToString(), s->keep);
      if (m.ok()) {
        bytes += static_cast<uint64_t>((*m)->plan().arena_bytes);
        model = std::move(*m);
      } else {
        status = m.status();
      }
    }
    double seconds = std::chrono::duration<double>(
                         std::chrono::steady_clock::now() - start)
                         .count();
    // A compile's transient memory (an imported model, an MLIR context,
    // LLVM's) is freed by now, but glibc keeps freed pages of its arenas
    // resident: 573 -> 1566 MiB RSS after two BERT-base specialisations
    // without this. Give them back.
    bool cacheHit = s.ok() && s->cache_hit;
    s = absl::CancelledError(); // its code was copied into the loaded model
    ReturnFreedMemory();
    std::vector<std::string> messages;
    {
      std::lock_guard<std::mutex> lock(mu_);
      queued_.erase(job.signature);
      metrics_.specialize_seconds += seconds;
      if (!model) {
        failed_.insert(job.signature);
        ++metrics_.failures;
        messages.push_back(absl::StrCat(
            "specialising for ", job.signature.ToString(),
            " failed; the generic plan keeps serving it: ", status.message()));
      } else {
        ++metrics_.specializations_ready;
        if (cacheHit)
          ++metrics_.cache_hits;
        Holder h;
        h.dims = job.signature.dims;
        h.model = std::move(model);
        h.kind = PlanKind::kSpecialized;
        h.bytes = bytes;
        h.last_used = ++clock_;
        specialized_[job.signature] = std::move(h);
        metrics_.specialization_bytes += bytes;
        // Least recently used first, until within both budgets.
        while (!specialized_.empty() &&
               (specialized_.size() > options_.max_specializations ||
                metrics_.specialization_bytes >
                    options_.max_specialization_bytes)) {
          auto lru = specialized_.begin();
          for (auto it = specialized_.begin(); it != specialized_.end(); ++it)
            if (it->second.last_used < lru->second.last_used)
              lru = it;
          messages.push_back(absl::StrCat(
              "evicted the specialisation for ", lru->first.ToString(), " (",
              lru->second.bytes, " bytes)"));
          metrics_.specialization_bytes -= lru->second.bytes;
          counts_.erase(lru->first);
          specialized_.erase(lru);
          ++metrics_.evictions;
        }
        metrics_.specializations_alive = specialized_.size();
      }
      busy_ = false;
    }
    idle_cv_.notify_all();
    for (const std::string &m : messages)
      Log(m);
  }
}

void Session::WaitForBackground() {
  std::unique_lock<std::mutex> lock(mu_);
  idle_cv_.wait(lock, [&] { return jobs_.empty() && !busy_; });
}

std::vector<int64_t> Session::BucketSizes(const std::string &dim) const {
  std::vector<int64_t> sizes;
  std::lock_guard<std::mutex> lock(mu_);
  for (const Holder &h : buckets_)
    for (const auto &[name, size] : h.dims)
      if (name == dim)
        sizes.push_back(size);
  std::sort(sizes.begin(), sizes.end());
  sizes.erase(std::unique(sizes.begin(), sizes.end()), sizes.end());
  return sizes;
}

SessionMetrics Session::metrics() const {
  std::lock_guard<std::mutex> lock(mu_);
  return metrics_;
}

} // namespace bathy::rt
