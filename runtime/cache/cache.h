//===- cache.h - Compiled models on disk, by what they were made from ----===//
//
// The compile cache: a directory of .bathy artifacts, each named by the
// SHA-256 of everything that decides what the compiler makes of a model
// (the model's bytes, the shapes it was specialised for, the options, the
// compiler's build and the CPU's features: CacheKey). A second process
// compiling the same model for the same shapes loads the entry instead.
//
//   - Entries are written whole or not at all (a temporary file, then
//     rename), so processes compiling the same key at once each leave a
//     complete entry and the last rename wins; a reader keeps the file it
//     opened even if it is replaced or removed meanwhile.
//   - An entry is an artifact, so it carries its checksums: loading verifies
//     it (Artifact::Open), and a corrupted or truncated entry is removed and
//     compiled again.
//   - Using an entry touches its modification time; the cache is kept under
//     a size cap by removing the least recently used entries.
//   - Entries hold code this process will run, so the cache refuses a
//     directory another user owns or others may write to.
//
// Directory: $BATHY_CACHE_DIR, else $XDG_CACHE_HOME/bathy, else
// ~/.cache/bathy. Cap: $BATHY_CACHE_MAX (e.g. 2G), else 4 GiB.
//
//===----------------------------------------------------------------------===//
#ifndef BATHY_RUNTIME_CACHE_CACHE_H
#define BATHY_RUNTIME_CACHE_CACHE_H

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "runtime/artifact/artifact.h"

namespace bathy::rt {

/// The key for these parts ("name=value" lines, in order): the hex SHA-256
/// of a versioned text of them.
std::string CacheKey(
    const std::vector<std::pair<std::string, std::string>> &parts);

/// What identifies the running program's build for a key: the GNU build ID
/// of the executable (every relink that changes its code changes it), else
/// its size and modification time.
std::string ExecutableBuildId();

class CompileCache {
public:
  struct Entry {
    std::string key;
    std::string path;
    uint64_t bytes = 0;
    /// Modification time, in nanoseconds since the epoch: the last use.
    int64_t last_used_ns = 0;
  };

  CompileCache(std::string dir, uint64_t max_bytes);
  /// The cache the environment names (see above).
  static absl::StatusOr<CompileCache> FromEnvironment();

  const std::string &dir() const { return dir_; }
  uint64_t max_bytes() const { return max_bytes_; }

  /// The verified entry for `key`; null when there is none. A corrupted
  /// entry is removed and reported in `note` (null is returned).
  std::shared_ptr<const Artifact> Lookup(const std::string &key,
                                         std::string *note) const;
  /// Stores `bytes` under `key` atomically (creating the directory), then
  /// removes least recently used entries down to the cap.
  absl::Status Insert(const std::string &key, absl::string_view bytes) const;

  /// Every entry, least recently used first.
  absl::StatusOr<std::vector<Entry>> List() const;
  /// Verifies every entry; removes the bad ones and returns them with why.
  absl::StatusOr<std::vector<std::pair<Entry, std::string>>> Verify() const;
  /// Removes least recently used entries until they take at most
  /// `max_bytes` (and leftover temporary files over an hour old); returns
  /// the entries removed.
  absl::StatusOr<std::vector<Entry>> Collect(uint64_t max_bytes) const;
  /// Removes every entry; returns them.
  absl::StatusOr<std::vector<Entry>> Clear() const;

private:
  /// Refuses a directory another user owns or others may write to (when it
  /// exists; `create` makes it, private, when it does not).
  absl::Status CheckDirectory(bool create) const;
  std::string PathOf(const std::string &key) const;
  std::string dir_;
  uint64_t max_bytes_;
};

} // namespace bathy::rt

#endif // BATHY_RUNTIME_CACHE_CACHE_H
