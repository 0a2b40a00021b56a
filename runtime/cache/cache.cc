//===- cache.cc - Compiled models on disk, by what they were made from ---===//
#include "runtime/cache/cache.h"

#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "runtime/file.h"
#include "runtime/memory.h"

namespace bathy::rt {

namespace {

namespace fs = std::filesystem;

constexpr uint64_t kDefaultMaxBytes = uint64_t{4} << 30;
constexpr const char *kSuffix = ".bathy";

bool IsKey(const std::string &name) {
  return name.size() == 64 &&
         std::all_of(name.begin(), name.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

int64_t MtimeNs(const struct stat &st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 +
         st.st_mtim.tv_nsec;
}

/// The NT_GNU_BUILD_ID note of the main program, as hex.
int FindBuildId(struct dl_phdr_info *info, size_t, void *out) {
  // The first object is the main program.
  std::string &id = *static_cast<std::string *>(out);
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr) &ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_NOTE)
      continue;
    const char *p = reinterpret_cast<const char *>(info->dlpi_addr + ph.p_vaddr);
    const char *end = p + ph.p_memsz;
    while (p + sizeof(ElfW(Nhdr)) <= end) {
      ElfW(Nhdr) n;
      std::memcpy(&n, p, sizeof(n));
      const char *name = p + sizeof(n);
      const char *desc = name + ((n.n_namesz + 3) & ~3u);
      const char *next = desc + ((n.n_descsz + 3) & ~3u);
      if (next > end)
        break;
      if (n.n_type == NT_GNU_BUILD_ID && n.n_namesz == 4 &&
          std::memcmp(name, "GNU", 4) == 0) {
        id = absl::BytesToHexString(absl::string_view(desc, n.n_descsz));
        return 1;
      }
      p = next;
    }
  }
  return 1; // only the main program
}

} // namespace

std::string CacheKey(
    const std::vector<std::pair<std::string, std::string>> &parts) {
  std::string text = "bathy compile cache key v1\n";
  for (const auto &[k, v] : parts)
    absl::StrAppend(&text, k, "=", v, "\n");
  return Sha256Hex(text);
}

std::string ExecutableBuildId() {
  std::string id;
  dl_iterate_phdr(FindBuildId, &id);
  if (!id.empty())
    return id;
  struct stat st;
  if (stat("/proc/self/exe", &st) == 0)
    return absl::StrCat("size ", st.st_size, " mtime ", MtimeNs(st));
  return "unknown";
}

CompileCache::CompileCache(std::string dir, uint64_t max_bytes)
    : dir_(std::move(dir)), max_bytes_(max_bytes) {}

absl::StatusOr<CompileCache> CompileCache::FromEnvironment() {
  std::string dir;
  if (const char *d = std::getenv("BATHY_CACHE_DIR"); d && *d)
    dir = d;
  else if (const char *x = std::getenv("XDG_CACHE_HOME"); x && *x)
    dir = absl::StrCat(x, "/bathy");
  else if (const char *h = std::getenv("HOME"); h && *h)
    dir = absl::StrCat(h, "/.cache/bathy");
  else
    return absl::FailedPreconditionError(
        "no cache directory: set BATHY_CACHE_DIR (or HOME)");
  uint64_t max = kDefaultMaxBytes;
  if (const char *m = std::getenv("BATHY_CACHE_MAX"); m && *m) {
    int64_t bytes = 0;
    if (absl::Status s = ParseByteSize(m, &bytes); !s.ok())
      return absl::InvalidArgumentError(
          absl::StrCat("BATHY_CACHE_MAX: ", s.message()));
    max = static_cast<uint64_t>(bytes);
  }
  return CompileCache(dir, max);
}

std::string CompileCache::PathOf(const std::string &key) const {
  return absl::StrCat(dir_, "/", key, kSuffix);
}

absl::Status CompileCache::CheckDirectory(bool create) const {
  struct stat st;
  if (lstat(dir_.c_str(), &st) != 0) {
    if (errno != ENOENT || !create)
      return absl::NotFoundError(absl::StrCat("the compile cache '", dir_,
                                              "' cannot be read: ",
                                              std::strerror(errno)));
    std::error_code ec;
    fs::create_directories(dir_, ec);
    if (ec)
      return absl::PermissionDeniedError(absl::StrCat(
          "cannot create the compile cache '", dir_, "': ", ec.message()));
    chmod(dir_.c_str(), 0700);
    if (lstat(dir_.c_str(), &st) != 0)
      return absl::PermissionDeniedError(
          absl::StrCat("cannot create the compile cache '", dir_, "'"));
  }
  if (!S_ISDIR(st.st_mode))
    return absl::FailedPreconditionError(
        absl::StrCat("the compile cache '", dir_, "' is not a directory"));
  if (st.st_uid != geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH)))
    return absl::PermissionDeniedError(absl::StrCat(
        "the compile cache '", dir_,
        "' is owned by another user or writable by others; its entries are "
        "code this process would run, so it is not used (chmod go-w it, or "
        "set BATHY_CACHE_DIR)"));
  return absl::OkStatus();
}

std::shared_ptr<const Artifact>
CompileCache::Lookup(const std::string &key, std::string *note) const {
  if (absl::Status s = CheckDirectory(/*create=*/false); !s.ok()) {
    if (!absl::IsNotFound(s) && note)
      *note = std::string(s.message());
    return nullptr;
  }
  std::string path = PathOf(key);
  struct stat st;
  if (lstat(path.c_str(), &st) != 0)
    return nullptr;
  absl::StatusOr<std::unique_ptr<Artifact>> a = Artifact::Open(path);
  if (!a.ok()) {
    unlink(path.c_str());
    if (note)
      *note = absl::StrCat("the compile cache's entry ", key,
                           " was damaged and is removed (",
                           a.status().message(), ")");
    return nullptr;
  }
  // Its use, for least-recently-used collection.
  utimensat(AT_FDCWD, path.c_str(), nullptr, 0);
  return std::shared_ptr<const Artifact>(std::move(*a));
}

absl::Status CompileCache::Insert(const std::string &key,
                                  absl::string_view bytes) const {
  if (!IsKey(key))
    return absl::InvalidArgumentError(
        absl::StrCat("'", key, "' is not a compile cache key"));
  if (absl::Status s = CheckDirectory(/*create=*/true); !s.ok())
    return s;
  if (absl::Status s = WriteFileAtomically(dir_, key + kSuffix, bytes);
      !s.ok())
    return s;
  absl::StatusOr<std::vector<Entry>> removed = Collect(max_bytes_);
  return removed.ok() ? absl::OkStatus() : removed.status();
}

absl::StatusOr<std::vector<CompileCache::Entry>> CompileCache::List() const {
  std::vector<Entry> out;
  if (absl::Status s = CheckDirectory(/*create=*/false); !s.ok())
    return absl::IsNotFound(s) ? absl::StatusOr<std::vector<Entry>>(out) : s;
  std::error_code ec;
  for (const fs::directory_entry &e : fs::directory_iterator(dir_, ec)) {
    std::string name = e.path().filename().string();
    if (name.size() <= 6 || name.substr(name.size() - 6) != kSuffix ||
        !IsKey(name.substr(0, name.size() - 6)))
      continue;
    struct stat st;
    if (lstat(e.path().c_str(), &st) != 0 || !S_ISREG(st.st_mode))
      continue;
    out.push_back({name.substr(0, 64), e.path().string(),
                   static_cast<uint64_t>(st.st_size), MtimeNs(st)});
  }
  if (ec)
    return absl::PermissionDeniedError(absl::StrCat(
        "cannot list the compile cache '", dir_, "': ", ec.message()));
  std::sort(out.begin(), out.end(), [](const Entry &a, const Entry &b) {
    return a.last_used_ns < b.last_used_ns;
  });
  return out;
}

absl::StatusOr<std::vector<std::pair<CompileCache::Entry, std::string>>>
CompileCache::Verify() const {
  absl::StatusOr<std::vector<Entry>> entries = List();
  if (!entries.ok())
    return entries.status();
  std::vector<std::pair<Entry, std::string>> bad;
  for (const Entry &e : *entries) {
    absl::StatusOr<std::unique_ptr<Artifact>> a = Artifact::Open(e.path);
    if (a.ok())
      continue;
    unlink(e.path.c_str());
    bad.emplace_back(e, std::string(a.status().message()));
  }
  return bad;
}

absl::StatusOr<std::vector<CompileCache::Entry>>
CompileCache::Collect(uint64_t max_bytes) const {
  absl::StatusOr<std::vector<Entry>> entries = List();
  if (!entries.ok())
    return entries.status();
  uint64_t total = 0;
  for (const Entry &e : *entries)
    total += e.bytes;
  std::vector<Entry> removed;
  for (const Entry &e : *entries) {
    if (total <= max_bytes)
      break;
    if (unlink(e.path.c_str()) == 0 || errno == ENOENT) {
      total -= e.bytes;
      removed.push_back(e);
    }
  }
  // Temporary files a killed writer left behind (WriteFileAtomically's).
  std::error_code ec;
  auto now = fs::file_time_type::clock::now();
  for (const fs::directory_entry &e : fs::directory_iterator(dir_, ec)) {
    std::string name = e.path().filename().string();
    std::error_code tec;
    if (name.size() > 1 && name[0] == '.' &&
        name.find(".tmp") != std::string::npos &&
        now - e.last_write_time(tec) > std::chrono::hours(1) && !tec)
      unlink(e.path().c_str());
  }
  return removed;
}

absl::StatusOr<std::vector<CompileCache::Entry>> CompileCache::Clear() const {
  return Collect(0);
}

} // namespace bathy::rt
