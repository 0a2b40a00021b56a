//===- bathy-cache.cc - Look after the compile cache ----------------------===//
//
// bathy-cache list|verify|gc|clear: what the compile cache holds
// (runtime/cache/cache.h), and removing entries, saying each one removed.
// Runtime only: it reads entries as artifacts.
//
//===----------------------------------------------------------------------===//
#include <ctime>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "runtime/artifact/artifact.h"
#include "runtime/cache/cache.h"
#include "runtime/memory.h"

namespace {

constexpr char kHelp[] =
    "bathy-cache: looks after bathy's compile cache, the compiled models\n"
    "bathy-run keeps so that a second run of the same model and shapes\n"
    "compiles nothing.\n\n"
    "  bathy-cache list             every entry: key, size, last use, model,\n"
    "                               shapes (least recently used first)\n"
    "  bathy-cache verify           check every entry's checksums; remove\n"
    "                               the damaged ones, saying which\n"
    "  bathy-cache gc [--max=SIZE]  remove least recently used entries until\n"
    "                               the cache holds at most SIZE (default:\n"
    "                               its cap)\n"
    "  bathy-cache clear            remove every entry\n\n"
    "  --dir=DIR                    the cache (default $BATHY_CACHE_DIR, else\n"
    "                               $XDG_CACHE_HOME/bathy, else "
    "~/.cache/bathy)\n\n"
    "The cap is $BATHY_CACHE_MAX (e.g. 2G; default 4G); bathy-run collects\n"
    "down to it after each entry it adds. Entries are .bathy artifacts:\n"
    "bathy-meta shows one in full.\n";

int Fail(const std::string &message) {
  std::cerr << "error: " << message << "\n";
  return 1;
}

std::string Size(uint64_t bytes) {
  return absl::StrFormat("%.1f MiB", bytes / 1048576.0);
}

std::string Age(int64_t ns) {
  int64_t s = static_cast<int64_t>(std::time(nullptr)) - ns / 1000000000;
  if (s < 120)
    return absl::StrCat(s, " s ago");
  if (s < 7200)
    return absl::StrCat(s / 60, " min ago");
  if (s < 172800)
    return absl::StrCat(s / 3600, " h ago");
  return absl::StrCat(s / 86400, " days ago");
}

/// What an entry was compiled from: the model file and the shape options.
std::string Describe(const bathy::rt::Artifact &a) {
  const bathy::rt::Manifest &m = a.manifest();
  std::string shapes;
  for (const auto &[k, v] : m.options)
    if (k == "dim" || k == "shape")
      absl::StrAppend(&shapes, shapes.empty() ? "" : " ", v);
  return absl::StrCat(m.model_file, ", ",
                      shapes.empty() ? "every shape" : shapes, ", for ", m.cpu);
}

} // namespace

int main(int argc, char **argv) {
  std::string command, dir, max;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::cout << kHelp;
      return 0;
    }
    if (a.rfind("--dir=", 0) == 0)
      dir = a.substr(6);
    else if (a.rfind("--max=", 0) == 0)
      max = a.substr(6);
    else if (command.empty() && !a.empty() && a[0] != '-')
      command = a;
    else
      return Fail("unknown or malformed argument '" + a + "' (see --help)");
  }
  if (command.empty())
    return Fail("no command: list, verify, gc or clear (see --help)");
  absl::StatusOr<bathy::rt::CompileCache> env =
      bathy::rt::CompileCache::FromEnvironment();
  if (!env.ok() && dir.empty())
    return Fail(std::string(env.status().message()));
  bathy::rt::CompileCache cache(dir.empty() ? env->dir() : dir,
                                env.ok() ? env->max_bytes() : uint64_t{4} << 30);
  if (!max.empty() && command != "gc")
    return Fail("--max is for gc");

  if (command == "list") {
    absl::StatusOr<std::vector<bathy::rt::CompileCache::Entry>> entries =
        cache.List();
    if (!entries.ok())
      return Fail(std::string(entries.status().message()));
    uint64_t total = 0;
    for (const auto &e : *entries) {
      total += e.bytes;
      absl::StatusOr<std::unique_ptr<bathy::rt::Artifact>> a =
          bathy::rt::Artifact::Open(e.path);
      std::cout << e.key.substr(0, 16) << "  " << Size(e.bytes) << "  "
                << Age(e.last_used_ns) << "  "
                << (a.ok() ? Describe(**a)
                           : "damaged (bathy-cache verify removes it)")
                << "\n";
    }
    std::cout << cache.dir() << ": " << entries->size() << " entries, "
              << Size(total) << " (cap " << Size(cache.max_bytes()) << ")\n";
    return 0;
  }
  if (command == "verify") {
    absl::StatusOr<std::vector<bathy::rt::CompileCache::Entry>> entries =
        cache.List();
    if (!entries.ok())
      return Fail(std::string(entries.status().message()));
    auto bad = cache.Verify();
    if (!bad.ok())
      return Fail(std::string(bad.status().message()));
    for (const auto &[e, why] : *bad)
      std::cout << "removed " << e.key << " (" << Size(e.bytes)
                << "): " << why << "\n";
    std::cout << cache.dir() << ": " << entries->size() - bad->size()
              << " of " << entries->size() << " entries verified, "
              << bad->size() << " removed\n";
    return 0;
  }
  if (command == "gc" || command == "clear") {
    uint64_t cap = cache.max_bytes();
    if (!max.empty()) {
      int64_t bytes = 0;
      if (absl::Status s = bathy::rt::ParseByteSize(max, &bytes); !s.ok())
        return Fail("--max: " + std::string(s.message()));
      cap = static_cast<uint64_t>(bytes);
    }
    auto removed = command == "clear" ? cache.Clear() : cache.Collect(cap);
    if (!removed.ok())
      return Fail(std::string(removed.status().message()));
    uint64_t freed = 0;
    for (const auto &e : *removed) {
      freed += e.bytes;
      std::cout << "removed " << e.key << " (" << Size(e.bytes) << ", used "
                << Age(e.last_used_ns) << ")\n";
    }
    std::cout << cache.dir() << ": removed " << removed->size()
              << " entries, " << Size(freed) << "\n";
    return 0;
  }
  return Fail("unknown command '" + command +
              "': list, verify, gc or clear (see --help)");
}
