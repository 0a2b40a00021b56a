//===- audit.h - The server's audit log: JSON lines, rotated, retained ----===//
//
// One line per action (model loads and unloads, inference requests,
// configuration changes, refused requests):
//
//   {"time":"2026-12-01T22:17:07.123Z","client":"127.0.0.1:5123",
//    "identity":"ci","model":"bert","version":"2","action":"infer",
//    "outcome":"ok","status":200,"bytes_in":3120,"bytes_out":1536,
//    "latency_ms":4.2}
//
// Configured as the design's audit section names it: `log_path`,
// `rotation_interval` (seconds; 0: none), `max_size` (bytes; 0: none),
// `retention_days` (rotated files older than this are deleted; 0: keep).
// The live file is rotated to `log_path.YYYYmmddTHHMMSS.uuuuuuZ` before a line
// would take it past `max_size` or once `rotation_interval` has passed
// since it was opened; retention is applied at start and at each rotation.
// Files are created 0600. Writes are whole lines under a lock (O_APPEND).
//
//===----------------------------------------------------------------------===//
#ifndef BATHY_SERVE_AUDIT_H
#define BATHY_SERVE_AUDIT_H

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"

namespace bathy::serve {

struct AuditOptions {
  std::string log_path;
  double rotation_interval_s = 0;
  uint64_t max_size = 0;
  double retention_days = 0;
};

struct AuditRecord {
  std::string client, identity, model, version, action, outcome, detail;
  int status = 0;
  uint64_t bytes_in = 0, bytes_out = 0;
  double latency_ms = 0;
};

class AuditLog {
public:
  /// An audit log at options.log_path (empty: a log that writes nothing).
  static absl::StatusOr<std::unique_ptr<AuditLog>> Open(AuditOptions options);
  ~AuditLog();
  void Write(const AuditRecord &record);
  /// Rotated files deleted so far (for tests and metrics).
  uint64_t removed() const;

private:
  AuditLog() = default;
  absl::Status OpenFile();
  void Rotate();
  void ApplyRetention();

  AuditOptions options_;
  mutable std::mutex mu_;
  int fd_ = -1;
  uint64_t size_ = 0, removed_ = 0;
  std::chrono::steady_clock::time_point opened_;
};

} // namespace bathy::serve

#endif // BATHY_SERVE_AUDIT_H
