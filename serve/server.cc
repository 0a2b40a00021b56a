//===- server.cc - Models of a repository, loaded, batched and served -----===//

#include "serve/server.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <future>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "runtime/file.h"
#include "runtime/memory.h"
#include "simdjson.h"

namespace bathy::serve {
namespace {

constexpr uint64_t kMaxConfigBytes = 1 << 20;

double Seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

/// The dim_param every input's and output's leading dim shares ("" when
/// they do not all have one).
std::string BatchDimOf(const rt::Session &session) {
  std::string dim;
  auto check = [&](const std::vector<rt::TensorSpec> &specs) {
    for (const rt::TensorSpec &s : specs) {
      if (s.shape.empty() || s.shape[0] >= 0 || s.dim_params.empty() ||
          s.dim_params[0].empty())
        return false;
      if (dim.empty())
        dim = s.dim_params[0];
      else if (dim != s.dim_params[0])
        return false;
    }
    return true;
  };
  if (!check(session.inputs()) || !check(session.outputs()))
    return "";
  return dim;
}

} // namespace

bool ValidModelName(absl::string_view name) {
  if (name.empty() || name.size() > 128 || name[0] == '.')
    return false;
  for (char c : name)
    if (!absl::ascii_isalnum(c) && c != '_' && c != '-' && c != '.')
      return false;
  return true;
}

absl::StatusOr<ModelConfig> ParseModelConfig(absl::string_view json,
                                             const std::string &source,
                                             const ModelConfig &defaults) {
  auto bad = [&](const std::string &what) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": ", what));
  };
  simdjson::dom::parser parser;
  simdjson::padded_string padded(json.data(), json.size());
  simdjson::dom::element doc;
  if (auto err = parser.parse(padded).get(doc); err)
    return bad(absl::StrCat("not valid JSON: ", simdjson::error_message(err)));
  simdjson::dom::object root;
  if (doc.get_object().get(root))
    return bad("must be a JSON object");
  ModelConfig c = defaults;
  auto uint_of = [&](simdjson::dom::element e, const char *key,
                     uint64_t max) -> absl::StatusOr<uint64_t> {
    int64_t v;
    if (e.get_int64().get(v) || v < 0 || static_cast<uint64_t>(v) > max)
      return bad(absl::StrCat("\"", key, "\" must be an integer in [0, ", max,
                              "]"));
    return static_cast<uint64_t>(v);
  };
  for (auto [key, value] : root) {
    std::string k(key);
    absl::StatusOr<uint64_t> u = uint64_t{0};
    if (k == "max_batch_size") {
      if (!(u = uint_of(value, "max_batch_size", 1 << 16)).ok()) return u.status();
      c.batcher.max_batch_size = static_cast<int64_t>(*u);
      c.limits.max_batch = static_cast<int64_t>(*u);
      c.max_batch_given = true;
    } else if (k == "preferred_batch_sizes") {
      simdjson::dom::array a;
      if (value.get_array().get(a))
        return bad("\"preferred_batch_sizes\" must be an array");
      c.batcher.preferred_batch_sizes.clear();
      for (simdjson::dom::element x : a) {
        if (!(u = uint_of(x, "preferred_batch_sizes", 1 << 16)).ok())
          return u.status();
        c.batcher.preferred_batch_sizes.push_back(static_cast<int64_t>(*u));
      }
      c.preferred_given = true;
    } else if (k == "max_queue_delay_us") {
      if (!(u = uint_of(value, "max_queue_delay_us", 60'000'000)).ok()) return u.status();
      c.batcher.max_queue_delay_us = *u;
    } else if (k == "priority_levels") {
      if (!(u = uint_of(value, "priority_levels", 16)).ok()) return u.status();
      c.batcher.priority_levels = static_cast<uint32_t>(std::max<uint64_t>(1, *u));
    } else if (k == "default_priority") {
      if (!(u = uint_of(value, "default_priority", 16)).ok()) return u.status();
      c.batcher.default_priority = static_cast<uint32_t>(*u);
    } else if (k == "max_queue_size") {
      if (!(u = uint_of(value, "max_queue_size", 1 << 20)).ok()) return u.status();
      c.batcher.max_queue_size = static_cast<uint32_t>(*u);
    } else if (k == "default_timeout_us") {
      if (!(u = uint_of(value, "default_timeout_us", 3'600'000'000ull)).ok()) return u.status();
      c.batcher.default_timeout_us = *u;
    } else if (k == "instances") {
      if (!(u = uint_of(value, "instances", 64)).ok()) return u.status();
      c.batcher.instances = static_cast<uint32_t>(std::max<uint64_t>(1, *u));
    } else if (k == "prefetch_batches") {
      if (!(u = uint_of(value, "prefetch_batches", 64)).ok()) return u.status();
      c.batcher.prefetch_batches = static_cast<uint32_t>(std::max<uint64_t>(1, *u));
    } else if (k == "latency_target_ms") {
      double d;
      if (value.is_int64())
        d = static_cast<double>(value.get_int64().value_unsafe());
      else if (value.get_double().get(d) || d < 0 || d > 3.6e6)
        return bad("\"latency_target_ms\" must be a number in [0, 3600000]");
      c.batcher.latency_target_ms = d;
    } else if (k == "max_tensor_bytes") {
      if (!(u = uint_of(value, "max_tensor_bytes", uint64_t{1} << 40)).ok()) return u.status();
      c.limits.max_tensor_bytes = *u;
    } else if (k == "max_request_bytes") {
      if (!(u = uint_of(value, "max_request_bytes", uint64_t{1} << 40)).ok()) return u.status();
      c.limits.max_request_bytes = *u;
    } else if (k == "pad") {
      simdjson::dom::array a;
      if (value.get_array().get(a))
        return bad("\"pad\" must be an array of rules (\"seq:mask=attention_mask\")");
      for (simdjson::dom::element x : a) {
        std::string_view text;
        if (x.get_string().get(text))
          return bad("a pad rule must be a string");
        absl::StatusOr<rt::PadRule> rule = rt::ParsePadRule(std::string(text));
        if (!rule.ok())
          return bad(std::string(rule.status().message()));
        c.pad.push_back(*rule);
      }
    } else {
      return bad(absl::StrCat("unknown key \"", k.substr(0, 64),
                              "\" (see docs/serving.md)"));
    }
  }
  if (c.batcher.default_priority > c.batcher.priority_levels)
    return bad("\"default_priority\" must be at most \"priority_levels\"");
  return c;
}

absl::StatusOr<std::unique_ptr<Server>>
Server::Create(ServerOptions options, std::unique_ptr<AuditLog> audit,
               TokenTable tokens) {
  std::unique_ptr<Server> s(new Server());
  s->options_ = std::move(options);
  s->audit_ = std::move(audit);
  s->tokens_ = std::move(tokens);
  struct stat st;
  if (stat(s->options_.repository.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return absl::NotFoundError(absl::StrCat(
        "--model-repository: '", s->options_.repository, "' is not a folder"));
  if (s->options_.load_all)
    for (const std::string &m : s->ModelNames())
      if (absl::Status st2 = s->Load(m); !st2.ok())
        s->Log(std::string(st2.message()));
  if (s->options_.poll_seconds > 0)
    s->poller_ = std::thread([p = s.get()] { p->PollLoop(); });
  return s;
}

Server::~Server() {
  BeginShutdown();
  if (poller_.joinable())
    poller_.join();
  std::map<std::string, std::shared_ptr<LoadedModel>> models;
  {
    std::lock_guard<std::mutex> lock(mu_);
    models.swap(models_);
  }
  // Each batcher finishes its queue as it goes.
  models.clear();
}

void Server::Log(const std::string &message) const {
  if (options_.log)
    options_.log(message);
}

void Server::BeginShutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    shutting_down_ = true;
  }
  poll_cv_.notify_all();
}

bool Server::Ready() const {
  if (shutting_down_)
    return false;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto &[name, reason] : reasons_)
    if (!models_.count(name) && !unloaded_.count(name))
      return false;
  return true;
}

std::vector<std::string> Server::ModelNames() const {
  std::vector<std::string> names;
  DIR *d = opendir(options_.repository.c_str());
  if (!d)
    return names;
  while (dirent *e = readdir(d)) {
    std::string n = e->d_name;
    if (!ValidModelName(n))
      continue;
    struct stat st;
    std::string path = options_.repository + "/" + n;
    // A model folder that is a symlink is not followed (it could lead out).
    if (lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
      names.push_back(n);
  }
  closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<int64_t> Server::Versions(const std::string &model) const {
  std::vector<int64_t> versions;
  std::string dir = options_.repository + "/" + model;
  DIR *d = opendir(dir.c_str());
  if (!d)
    return versions;
  while (dirent *e = readdir(d)) {
    std::string n = e->d_name;
    int64_t v;
    if (n.empty() || n.size() > 18 ||
        !std::all_of(n.begin(), n.end(), absl::ascii_isdigit) ||
        !absl::SimpleAtoi(n, &v))
      continue;
    struct stat st;
    if (lstat((dir + "/" + n).c_str(), &st) == 0 && S_ISDIR(st.st_mode))
      versions.push_back(v);
  }
  closedir(d);
  std::sort(versions.rbegin(), versions.rend());
  return versions;
}

Server::FailedVersion Server::Stamp(const std::string &model,
                                   int64_t version) const {
  FailedVersion f;
  f.version = version;
  struct stat st;
  std::string path = absl::StrCat(options_.repository, "/", model, "/",
                                  version, "/model.bathy");
  if (stat(path.c_str(), &st) == 0) {
    f.size = static_cast<uint64_t>(st.st_size);
    f.mtime = st.st_mtime;
  }
  return f;
}

absl::StatusOr<std::shared_ptr<LoadedModel>>
Server::LoadVersion(const std::string &model, int64_t version) {
  std::string rel = absl::StrCat(model, "/", version, "/model.bathy");
  absl::StatusOr<std::unique_ptr<rt::Artifact>> artifact =
      rt::Artifact::OpenBeneath(options_.repository, rel,
                                options_.trusted_key_pem);
  if (!artifact.ok())
    return artifact.status();
  auto m = std::make_shared<LoadedModel>();
  m->name = model;
  m->version = version;
  m->version_text = absl::StrCat(version);
  m->artifact = std::shared_ptr<const rt::Artifact>(std::move(*artifact));
  m->file_size = Stamp(model, version).size;
  // The model's config.json, if any, over the server's defaults.
  m->config = options_.defaults;
  std::string config_rel = model + "/config.json";
  struct stat cst;
  if (lstat((options_.repository + "/" + config_rel).c_str(), &cst) == 0) {
    absl::StatusOr<rt::File> f =
        rt::OpenFileBeneath(options_.repository, config_rel);
    if (!f.ok())
      return f.status();
    absl::StatusOr<uint64_t> size = f->Size();
    if (!size.ok())
      return size.status();
    if (*size > kMaxConfigBytes)
      return absl::InvalidArgumentError(
          absl::StrCat(config_rel, " is over ", kMaxConfigBytes, " bytes"));
    std::string text(*size, '\0');
    if (absl::Status s = f->ReadAt(0, text.data(), *size, config_rel); !s.ok())
      return s;
    absl::StatusOr<ModelConfig> c =
        ParseModelConfig(text, config_rel, options_.defaults);
    if (!c.ok())
      return c.status();
    m->config = std::move(*c);
  }
  rt::SessionOptions so;
  so.pad = m->config.pad;
  so.log = options_.log;
  absl::StatusOr<std::unique_ptr<rt::Session>> session =
      rt::Session::FromArtifact(m->artifact, rel, so);
  if (!session.ok())
    return session.status();
  m->session = std::shared_ptr<rt::Session>(std::move(*session));
  m->batch_dim = BatchDimOf(*m->session);
  BatcherOptions &b = m->config.batcher;
  if (m->batch_dim.empty()) {
    b.max_batch_size = 1;
    m->config.limits.max_batch = 0;
  } else {
    // Preferred sizes default to the artifact's buckets of the batch dim.
    if (!m->config.preferred_given) {
      b.preferred_batch_sizes.clear();
      for (const rt::Manifest::Bucket &bucket :
           m->artifact->manifest().buckets)
        for (const auto &[dim, size] : bucket.dims)
          if (dim == m->batch_dim && size <= b.max_batch_size &&
              std::find(b.preferred_batch_sizes.begin(),
                        b.preferred_batch_sizes.end(),
                        size) == b.preferred_batch_sizes.end())
            b.preferred_batch_sizes.push_back(size);
      std::sort(b.preferred_batch_sizes.begin(), b.preferred_batch_sizes.end());
    }
    if (!m->config.max_batch_given)
      m->config.limits.max_batch = b.max_batch_size;
  }
  b.log = [log = options_.log, model, version](const std::string &message) {
    if (log)
      log(absl::StrCat(model, " version ", version, ": ", message));
  };
  m->batcher = std::make_unique<Batcher>(m->session, m->batch_dim, b);
  return m;
}

absl::Status Server::Load(const std::string &model) {
  if (!ValidModelName(model))
    return absl::InvalidArgumentError(absl::StrCat(
        "'", model.substr(0, 64),
        "' is not a model name (letters, digits, '_', '-', '.'; not "
        "starting with '.')"));
  std::lock_guard<std::mutex> load_lock(load_mu_);
  std::vector<int64_t> versions = Versions(model);
  AuditRecord rec;
  rec.identity = "server";
  rec.model = model;
  rec.action = "load";
  auto start = std::chrono::steady_clock::now();
  if (versions.empty()) {
    std::string why = absl::StrCat("model '", model, "' has no version folder in '",
                                   options_.repository, "'");
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!models_.count(model))
        reasons_[model] = why;
    }
    rec.outcome = "failed";
    rec.detail = why;
    audit_->Write(rec);
    return absl::NotFoundError(why);
  }
  absl::Status last;
  // The highest version that failed, so a poll does not retry the same file.
  std::optional<FailedVersion> highest_failed;
  for (int64_t v : versions) {
    if (highest_failed) {
      // A newer version failed; if this one (or a later) serves already,
      // keep it rather than load it a second time.
      std::lock_guard<std::mutex> lock(mu_);
      auto it = models_.find(model);
      if (it != models_.end() && it->second->version >= v) {
        failed_[model] = *highest_failed;
        return absl::Status(
            last.code(),
            absl::StrCat("version ", highest_failed->version, " of '",
                         model, "' did not load (", last.message(),
                         "); version ", it->second->version, " keeps serving"));
      }
    }
    absl::StatusOr<std::shared_ptr<LoadedModel>> m = LoadVersion(model, v);
    rec.version = absl::StrCat(v);
    rec.latency_ms = Seconds(std::chrono::steady_clock::now() - start) * 1e3;
    if (m.ok()) {
      std::shared_ptr<LoadedModel> old;
      {
        std::lock_guard<std::mutex> lock(mu_);
        auto it = models_.find(model);
        if (it != models_.end())
          old = it->second;
        models_[model] = *m;
        reasons_[model] = "";
        unloaded_.erase(model);
        if (highest_failed)
          failed_[model] = *highest_failed;
        else
          failed_.erase(model);
      }
      rec.outcome = "ok";
      rec.bytes_in = (*m)->file_size;
      // The configuration it runs with: a changed config.json shows here.
      const ModelConfig &c = (*m)->config;
      rec.detail = absl::StrCat(
          "batch_dim=", (*m)->batch_dim.empty() ? "none" : (*m)->batch_dim,
          " max_batch_size=", c.batcher.max_batch_size, " preferred=[",
          absl::StrJoin(c.batcher.preferred_batch_sizes, ","),
          "] max_queue_delay_us=", c.batcher.max_queue_delay_us,
          " max_queue_size=", c.batcher.max_queue_size, " priority_levels=",
          c.batcher.priority_levels, " instances=", c.batcher.instances,
          " latency_target_ms=", c.batcher.latency_target_ms, " pad=[",
          absl::StrJoin((*m)->session->pad_rules(), ",",
                        [](std::string *out, const rt::PadRule &r) {
                          out->append(rt::PadRuleToString(r));
                        }),
          "]");
      audit_->Write(rec);
      Log(absl::StrCat("loaded ", model, " version ", v,
                       old ? absl::StrCat(" (was ", old->version, ")") : ""));
      // `old` is released here; its requests in flight hold it until they
      // finish, and its batcher drains before it goes.
      return absl::OkStatus();
    }
    rec.outcome = "failed";
    rec.detail = std::string(m.status().message());
    audit_->Write(rec);
    Log(absl::StrCat("cannot load ", model, " version ", v, ": ",
                     m.status().message()));
    if (!highest_failed) {
      highest_failed = Stamp(model, v);
      last = m.status();
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (highest_failed)
    failed_[model] = *highest_failed;
  if (!models_.count(model))
    reasons_[model] = std::string(last.message());
  return last;
}

absl::Status Server::Unload(const std::string &model) {
  std::shared_ptr<LoadedModel> old;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = models_.find(model);
    if (it == models_.end())
      return absl::NotFoundError(
          absl::StrCat("model '", model.substr(0, 64), "' is not loaded"));
    old = std::move(it->second);
    models_.erase(it);
    unloaded_.insert(model);
    reasons_[model] = "unloaded";
  }
  AuditRecord rec;
  rec.identity = "server";
  rec.model = model;
  rec.version = old->version_text;
  rec.action = "unload";
  rec.outcome = "ok";
  audit_->Write(rec);
  Log(absl::StrCat("unloaded ", model, " version ", old->version));
  return absl::OkStatus();
}

void Server::Poll() {
  for (const std::string &model : ModelNames()) {
    std::vector<int64_t> versions = Versions(model);
    if (versions.empty())
      continue;
    int64_t newest = versions[0];
    bool load = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (unloaded_.count(model))
        continue;
      auto it = models_.find(model);
      load = it == models_.end() || newest > it->second->version;
      auto f = failed_.find(model);
      if (load && f != failed_.end()) {
        FailedVersion now = Stamp(model, newest);
        if (f->second.version == newest && f->second.size == now.size &&
            f->second.mtime == now.mtime)
          load = false; // the same file failed before
      }
    }
    if (load) {
      if (absl::Status s = Load(model); !s.ok())
        Log(std::string(s.message()));
    }
  }
}

void Server::PollLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!shutting_down_) {
    poll_cv_.wait_for(lock, std::chrono::duration<double>(options_.poll_seconds));
    if (shutting_down_)
      break;
    lock.unlock();
    Poll();
    lock.lock();
  }
}

absl::StatusOr<std::shared_ptr<LoadedModel>>
Server::Find(const std::string &model, const std::string &version) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = models_.find(model);
  if (it == models_.end()) {
    if (reasons_.count(model) && !reasons_.at(model).empty())
      return absl::UnavailableError(absl::StrCat("model '", model,
                                                 "' is not loaded: ",
                                                 reasons_.at(model)));
    return absl::NotFoundError(
        absl::StrCat("unknown model '", model.substr(0, 64), "'"));
  }
  if (!version.empty() && version != it->second->version_text)
    return absl::NotFoundError(absl::StrCat(
        "version '", version.substr(0, 32), "' of model '", model,
        "' is not loaded (serving version ", it->second->version, ")"));
  return it->second;
}

std::vector<IndexEntry> Server::Index() const {
  std::vector<IndexEntry> out;
  std::lock_guard<std::mutex> lock(mu_);
  for (const std::string &name : ModelNames()) {
    IndexEntry e;
    e.name = name;
    auto it = models_.find(name);
    if (it != models_.end()) {
      e.version = it->second->version_text;
      e.state = "READY";
    } else {
      e.state = "UNAVAILABLE";
      auto r = reasons_.find(name);
      e.reason = r == reasons_.end() ? "not loaded" : r->second;
    }
    out.push_back(std::move(e));
  }
  return out;
}

absl::StatusOr<std::vector<rt::HostTensor>>
Server::Infer(LoadedModel &model, InferRequest &request, BatchInfo *info) {
  if (shutting_down_)
    return absl::UnavailableError("the server is shutting down");
  auto start = std::chrono::steady_clock::now();
  ++model.counters.in_flight;
  // Shared with the callback: a worker thread may still be inside
  // set_value when this thread wakes up and returns.
  auto promise = std::make_shared<std::promise<
      std::pair<absl::StatusOr<std::vector<rt::HostTensor>>, BatchInfo>>>();
  auto future = promise->get_future();
  model.batcher->Submit(
      std::move(request.inputs), request.priority, request.timeout_us,
      [promise](absl::StatusOr<std::vector<rt::HostTensor>> out,
                const BatchInfo &i) {
        promise->set_value({std::move(out), i});
      });
  auto [out, batch] = future.get();
  --model.counters.in_flight;
  uint64_t us = static_cast<uint64_t>(
      Seconds(std::chrono::steady_clock::now() - start) * 1e6);
  model.counters.request_us += us;
  model.counters.queue_us += static_cast<uint64_t>(batch.queue_seconds * 1e6);
  model.counters.compute_us +=
      static_cast<uint64_t>(batch.compute_seconds * 1e6);
  if (out.ok())
    ++model.counters.success;
  else
    ++model.counters.failure;
  if (info)
    *info = batch;
  return std::move(out);
}

std::string Server::Metrics() const {
  std::vector<std::shared_ptr<LoadedModel>> models;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto &[name, m] : models_)
      models.push_back(m);
  }
  std::string out;
  auto family = [&](const char *name, const char *type, const char *help) {
    absl::StrAppend(&out, "# HELP ", name, " ", help, "\n# TYPE ", name, " ",
                    type, "\n");
  };
  auto labels = [](const LoadedModel &m) {
    return absl::StrCat("model=\"", m.name, "\",version=\"", m.version, "\"");
  };
  family("bathy_inference_requests_total", "counter",
         "Inference requests by outcome.");
  for (const auto &m : models) {
    absl::StrAppend(&out, "bathy_inference_requests_total{", labels(*m),
                    ",outcome=\"success\"} ", m->counters.success.load(), "\n");
    absl::StrAppend(&out, "bathy_inference_requests_total{", labels(*m),
                    ",outcome=\"failure\"} ", m->counters.failure.load(), "\n");
  }
  family("bathy_inference_in_flight", "gauge", "Requests being served now.");
  for (const auto &m : models)
    absl::StrAppend(&out, "bathy_inference_in_flight{", labels(*m), "} ",
                    m->counters.in_flight.load(), "\n");
  struct Sum {
    const char *name, *help;
    std::atomic<uint64_t> VersionCounters::*field;
  };
  const Sum sums[] = {
      {"bathy_request_seconds_total", "Time from arrival to response.",
       &VersionCounters::request_us},
      {"bathy_queue_seconds_total", "Time requests waited to be batched.",
       &VersionCounters::queue_us},
      {"bathy_compute_seconds_total", "Time the batches of requests computed "
       "(counted once per request).",
       &VersionCounters::compute_us},
  };
  for (const Sum &s : sums) {
    family(s.name, "counter", s.help);
    for (const auto &m : models)
      absl::StrAppend(&out, s.name, "{", labels(*m), "} ",
                      absl::StrFormat("%.6f", (m->counters.*(s.field)).load() / 1e6),
                      "\n");
  }
  // One snapshot per batcher, so the families agree with each other.
  std::vector<BatcherStats> stats;
  for (const auto &m : models)
    stats.push_back(m->batcher->stats());
  family("bathy_batch_size", "histogram", "Rows per batch run.");
  for (size_t i = 0; i < models.size(); ++i) {
    const LoadedModel *m = models[i].get();
    const BatcherStats &b = stats[i];
    uint64_t cum = 0;
    for (int i = 0; i < 16; ++i) {
      cum += b.batch_size_buckets[i];
      absl::StrAppend(&out, "bathy_batch_size_bucket{", labels(*m), ",le=\"",
                      int64_t{1} << i, "\"} ", cum, "\n");
    }
    cum += b.batch_size_buckets[16];
    absl::StrAppend(&out, "bathy_batch_size_bucket{", labels(*m),
                    ",le=\"+Inf\"} ", cum, "\n");
    absl::StrAppend(&out, "bathy_batch_size_sum{", labels(*m), "} ", b.rows,
                    "\n");
    absl::StrAppend(&out, "bathy_batch_size_count{", labels(*m), "} ",
                    b.batches, "\n");
  }
  family("bathy_batch_elements_total", "counter",
         "Input elements computed in batches, padding included.");
  for (size_t i = 0; i < models.size(); ++i)
    absl::StrAppend(&out, "bathy_batch_elements_total{", labels(*models[i]),
                    "} ", stats[i].batch_elements, "\n");
  family("bathy_padding_elements_total", "counter",
         "Input elements that were padding (batching requests of different "
         "lengths).");
  for (size_t i = 0; i < models.size(); ++i)
    absl::StrAppend(&out, "bathy_padding_elements_total{", labels(*models[i]),
                    "} ", stats[i].padding_elements, "\n");
  family("bathy_queue_rejections_total", "counter",
         "Requests refused by a full queue (429) or that timed out in it.");
  for (size_t i = 0; i < models.size(); ++i) {
    const LoadedModel *m = models[i].get();
    const BatcherStats &b = stats[i];
    absl::StrAppend(&out, "bathy_queue_rejections_total{", labels(*m),
                    ",reason=\"full\"} ", b.rejected_full, "\n");
    absl::StrAppend(&out, "bathy_queue_rejections_total{", labels(*m),
                    ",reason=\"timeout\"} ", b.timed_out, "\n");
  }
  family("bathy_queue_depth", "gauge", "Requests waiting in the queue.");
  for (size_t i = 0; i < models.size(); ++i)
    absl::StrAppend(&out, "bathy_queue_depth{", labels(*models[i]), "} ",
                    stats[i].queued, "\n");
  family("bathy_batch_cap", "gauge",
         "The batch size the batcher forms at most now (adaptive mode moves "
         "it).");
  for (size_t i = 0; i < models.size(); ++i)
    absl::StrAppend(&out, "bathy_batch_cap{", labels(*models[i]), "} ",
                    stats[i].current_cap, "\n");
  family("bathy_plan_runs_total", "counter",
         "Runs per plan kind (generic, bucket, padded, specialized).");
  for (const auto &m : models) {
    rt::SessionMetrics s = m->session->metrics();
    for (int k = 0; k < 4; ++k)
      absl::StrAppend(&out, "bathy_plan_runs_total{", labels(*m), ",plan=\"",
                      rt::PlanKindName(static_cast<rt::PlanKind>(k)), "\"} ",
                      s.runs[k], "\n");
  }
  family("bathy_memory_bytes", "gauge",
         "Tensor memory held by runs now, and the limit (--max-memory).");
  absl::StrAppend(&out, "bathy_memory_bytes{kind=\"in_use\"} ",
                  rt::MemoryInUse(), "\n");
  absl::StrAppend(&out, "bathy_memory_bytes{kind=\"limit\"} ",
                  rt::MemoryLimit(), "\n");
  return out;
}

} // namespace bathy::serve
