//===- audit.cc - The server's audit log: JSON lines, rotated, retained ---===//

#include "serve/audit.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "serve/codec.h"

namespace bathy::serve {
namespace {

std::string Timestamp(bool compact) {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  tm t;
  gmtime_r(&ts.tv_sec, &t);
  char buf[64];
  if (compact) {
    strftime(buf, sizeof buf, "%Y%m%dT%H%M%S", &t);
    return absl::StrFormat("%s.%06dZ", buf, ts.tv_nsec / 1000);
  }
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &t);
  return absl::StrFormat("%s.%03dZ", buf, ts.tv_nsec / 1000000);
}

void Split(const std::string &path, std::string &dir, std::string &base) {
  size_t slash = path.rfind('/');
  dir = slash == std::string::npos ? "." : path.substr(0, slash);
  if (dir.empty())
    dir = "/";
  base = slash == std::string::npos ? path : path.substr(slash + 1);
}

} // namespace

absl::StatusOr<std::unique_ptr<AuditLog>> AuditLog::Open(AuditOptions options) {
  std::unique_ptr<AuditLog> log(new AuditLog());
  log->options_ = std::move(options);
  if (log->options_.log_path.empty())
    return log;
  if (absl::Status s = log->OpenFile(); !s.ok())
    return s;
  log->ApplyRetention();
  return log;
}

AuditLog::~AuditLog() {
  if (fd_ >= 0)
    close(fd_);
}

absl::Status AuditLog::OpenFile() {
  int fd = open(options_.log_path.c_str(),
                O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return absl::PermissionDeniedError(absl::StrCat(
        "cannot open the audit log '", options_.log_path, "': ",
        std::strerror(errno)));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return absl::PermissionDeniedError(absl::StrCat(
        "the audit log '", options_.log_path, "' is not a regular file"));
  }
  fd_ = fd;
  size_ = static_cast<uint64_t>(st.st_size);
  opened_ = std::chrono::steady_clock::now();
  return absl::OkStatus();
}

void AuditLog::Rotate() {
  if (fd_ >= 0)
    close(fd_);
  fd_ = -1;
  std::string rotated = absl::StrCat(options_.log_path, ".", Timestamp(true));
  rename(options_.log_path.c_str(), rotated.c_str());
  if (!OpenFile().ok())
    fd_ = -1;
  ApplyRetention();
}

void AuditLog::ApplyRetention() {
  if (options_.retention_days <= 0)
    return;
  std::string dir, base;
  Split(options_.log_path, dir, base);
  DIR *d = opendir(dir.c_str());
  if (!d)
    return;
  time_t cutoff =
      time(nullptr) - static_cast<time_t>(options_.retention_days * 86400.0);
  std::string prefix = base + ".";
  while (dirent *e = readdir(d)) {
    std::string name = e->d_name;
    if (!absl::StartsWith(name, prefix) || name.size() <= prefix.size())
      continue;
    std::string path = dir + "/" + name;
    struct stat st;
    if (lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
      continue;
    if (st.st_mtime < cutoff && unlink(path.c_str()) == 0)
      ++removed_;
  }
  closedir(d);
}

void AuditLog::Write(const AuditRecord &r) {
  if (options_.log_path.empty())
    return;
  std::string line = absl::StrCat(
      "{\"time\":\"", Timestamp(false), "\",\"client\":", JsonString(r.client),
      ",\"identity\":", JsonString(r.identity), ",\"model\":",
      JsonString(r.model), ",\"version\":", JsonString(r.version),
      ",\"action\":", JsonString(r.action), ",\"outcome\":",
      JsonString(r.outcome), ",\"status\":", r.status, ",\"bytes_in\":",
      r.bytes_in, ",\"bytes_out\":", r.bytes_out, ",\"latency_ms\":",
      absl::StrFormat("%.3f", r.latency_ms));
  if (!r.detail.empty())
    absl::StrAppend(&line, ",\"detail\":", JsonString(r.detail.substr(0, 512)));
  line += "}\n";
  std::lock_guard<std::mutex> lock(mu_);
  bool too_big = options_.max_size && size_ > 0 &&
                 size_ + line.size() > options_.max_size;
  bool too_old =
      options_.rotation_interval_s > 0 &&
      std::chrono::duration<double>(std::chrono::steady_clock::now() - opened_)
              .count() >= options_.rotation_interval_s;
  if (too_old && size_ == 0)
    opened_ = std::chrono::steady_clock::now(); // nothing to rotate yet
  else if (too_big || too_old || fd_ < 0)
    Rotate();
  if (fd_ < 0)
    return;
  ssize_t n = write(fd_, line.data(), line.size());
  if (n > 0)
    size_ += static_cast<uint64_t>(n);
}

uint64_t AuditLog::removed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return removed_;
}

} // namespace bathy::serve
