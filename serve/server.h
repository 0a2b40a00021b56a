//===- server.h - Models of a repository, loaded, batched and served ------===//
//
// What bathy-serve's transports (http.cc, grpc.cc) call: the model
// repository, the loaded versions with their sessions and batchers,
// inference, the repository extension (index, load, unload), hot reload,
// metrics, access control and the audit log. Nothing here knows HTTP or
// gRPC.
//
// The repository (`--model-repository=DIR`):
//
//   DIR/<model>/config.json        optional (ModelConfig below)
//   DIR/<model>/<version>/model.bathy
//
// Model names are [A-Za-z0-9_.-], at most 128 characters, not starting
// with '.'; versions are decimal numbers. Every file is opened beneath DIR
// (OpenFileBeneath: `..`, absolute paths and symlinks that lead out are
// refused), and requests name models only as keys of what was loaded. The
// highest version whose artifact verifies is served; when a higher one
// appears (poll mode) it is loaded beside the old one and swapped in:
// requests in flight finish on the version they started with, and a
// version that fails to load leaves the old one serving (the failure is
// logged and audited, and not retried until the file changes).
//
//===----------------------------------------------------------------------===//
#ifndef BATHY_SERVE_SERVER_H
#define BATHY_SERVE_SERVER_H

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/artifact/artifact.h"
#include "runtime/session/session.h"
#include "serve/audit.h"
#include "serve/auth.h"
#include "serve/batcher.h"
#include "serve/codec.h"

namespace bathy::serve {

/// A model's `config.json`; every key is optional:
///
///   {"max_batch_size": 8, "preferred_batch_sizes": [4, 8],
///    "max_queue_delay_us": 500, "priority_levels": 2, "default_priority": 2,
///    "max_queue_size": 256, "default_timeout_us": 0, "instances": 1,
///    "latency_target_ms": 0, "pad": ["seq:mask=attention_mask"],
///    "max_tensor_bytes": 268435456, "max_request_bytes": 536870912}
///
/// An unknown key is an error (a typo would otherwise be ignored).
struct ModelConfig {
  BatcherOptions batcher;
  bool max_batch_given = false, preferred_given = false;
  RequestLimits limits;
  std::vector<rt::PadRule> pad;
};
absl::StatusOr<ModelConfig> ParseModelConfig(absl::string_view json,
                                             const std::string &source,
                                             const ModelConfig &defaults);

/// Whether `name` may name a model (and so a folder of the repository).
bool ValidModelName(absl::string_view name);

/// Counters per loaded version (the batcher keeps the batch-level ones).
struct VersionCounters {
  std::atomic<uint64_t> success{0}, failure{0}, in_flight{0};
  std::atomic<uint64_t> request_us{0}, queue_us{0}, compute_us{0};
};

/// One loaded version of a model.
struct LoadedModel {
  std::string name;
  int64_t version = 0;
  std::string version_text;
  std::shared_ptr<const rt::Artifact> artifact;
  std::shared_ptr<rt::Session> session;
  ModelConfig config;
  /// The dim requests are batched along ("" when the model has none).
  std::string batch_dim;
  std::unique_ptr<Batcher> batcher;
  VersionCounters counters;
  /// The artifact file's size.
  uint64_t file_size = 0;
  const std::vector<rt::TensorSpec> &inputs() const { return session->inputs(); }
  const std::vector<rt::TensorSpec> &outputs() const {
    return session->outputs();
  }
};

struct ServerOptions {
  std::string repository;
  /// Poll the repository for new versions this often (0: never; load and
  /// unload only through the repository API).
  double poll_seconds = 0;
  /// Load every model at start (else only through the API).
  bool load_all = true;
  /// Defaults for models without a config.json (and for keys it leaves
  /// out).
  ModelConfig defaults;
  /// Only artifacts this PEM Ed25519 key signed (empty: any).
  std::string trusted_key_pem;
  /// Messages for the operator (stderr).
  std::function<void(const std::string &)> log;
};

/// One row of the repository index.
struct IndexEntry {
  std::string name, version, state, reason;
};

class Server {
public:
  static absl::StatusOr<std::unique_ptr<Server>>
  Create(ServerOptions options, std::unique_ptr<AuditLog> audit,
         TokenTable tokens);
  ~Server();

  /// Whether every model that should be loaded is (and not shutting down).
  bool Ready() const;
  /// The version of `model` named `version` ("" : the one served). NotFound
  /// names what is loaded.
  absl::StatusOr<std::shared_ptr<LoadedModel>>
  Find(const std::string &model, const std::string &version) const;
  /// The repository's models and their state.
  std::vector<IndexEntry> Index() const;
  /// Loads (or reloads) the highest version of `model`.
  absl::Status Load(const std::string &model);
  absl::Status Unload(const std::string &model);
  /// One look at the repository: loads versions newer than the served ones.
  void Poll();

  /// Runs a decoded request through the model's batcher and waits for it.
  absl::StatusOr<std::vector<rt::HostTensor>>
  Infer(LoadedModel &model, InferRequest &request, BatchInfo *info);

  /// Prometheus text exposition of every counter.
  std::string Metrics() const;

  /// Stops polling and marks the server not ready (transports stop
  /// accepting; in-flight requests finish).
  void BeginShutdown();

  const TokenTable &tokens() const { return tokens_; }
  AuditLog &audit() { return *audit_; }
  const ServerOptions &options() const { return options_; }

private:
  Server() = default;
  absl::StatusOr<std::shared_ptr<LoadedModel>>
  LoadVersion(const std::string &model, int64_t version);
  /// The model's versions with an artifact file, highest first.
  std::vector<int64_t> Versions(const std::string &model) const;
  std::vector<std::string> ModelNames() const;
  void Log(const std::string &message) const;
  void PollLoop();

  ServerOptions options_;
  std::unique_ptr<AuditLog> audit_;
  TokenTable tokens_;
  mutable std::mutex mu_;
  /// Serializes loads and unloads (a load runs outside mu_).
  std::mutex load_mu_;
  std::map<std::string, std::shared_ptr<LoadedModel>> models_;
  /// Why a model is not loaded (for the index), and failed versions not to
  /// retry until their file changes.
  std::map<std::string, std::string> reasons_;
  struct FailedVersion {
    int64_t version = 0;
    /// The file's size and mtime when it failed (0, 0: there was none).
    uint64_t size = 0;
    int64_t mtime = 0;
  };
  /// A version's artifact file as it is now.
  FailedVersion Stamp(const std::string &model, int64_t version) const;
  std::map<std::string, FailedVersion> failed_;
  std::set<std::string> unloaded_;
  std::atomic<bool> shutting_down_{false};
  std::condition_variable poll_cv_;
  std::thread poller_;
};

} // namespace bathy::serve

#endif // BATHY_SERVE_SERVER_H
