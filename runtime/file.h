//===- file.h - Reading and writing files that may be hostile -------------===//
//
// Models, their external weights, inputs and outputs name files chosen by
// whoever supplied them. These helpers refuse what a plain open would get
// wrong: a FIFO or device instead of a regular file (a read that blocks, or
// never ends), a file larger than its format allows, a path that resolves
// outside the folder it must stay in (through `..`, an absolute path or a
// symlink), and an output name that is a symlink (written through to its
// target). Errors name the path and what is wrong with it.
//
//===----------------------------------------------------------------------===//
#ifndef BATHY_RUNTIME_FILE_H
#define BATHY_RUNTIME_FILE_H

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace bathy::rt {

/// An open regular file (closed on destruction).
class File {
public:
  File() = default;
  explicit File(int fd) : fd_(fd) {}
  File(File &&other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  File &operator=(File &&other) noexcept;
  ~File();
  int fd() const { return fd_; }
  /// The file's size in bytes.
  absl::StatusOr<uint64_t> Size() const;
  /// Reads exactly `bytes` bytes at `offset` into `out`.
  absl::Status ReadAt(uint64_t offset, void *out, uint64_t bytes,
                      absl::string_view path) const;

private:
  int fd_ = -1;
};

/// Opens `path` for reading; an error unless it is a regular file (symlinks
/// to one are followed: the caller named the path). Never blocks on a FIFO.
absl::StatusOr<File> OpenRegularFile(const std::string &path);

/// Opens `relative` inside `directory` for reading, resolving every
/// component (symlinks included) beneath `directory`: an absolute path,
/// `..` or a symlink that leads out of it is refused, as is anything that
/// is not a regular file.
absl::StatusOr<File> OpenFileBeneath(const std::string &directory,
                                     const std::string &relative);

/// The whole of a regular file, refused when larger than `max_bytes`.
absl::StatusOr<std::string> ReadRegularFile(const std::string &path,
                                            uint64_t max_bytes);

/// An anonymous file in memory (memfd_create) holding `bytes`, for mapping
/// or loading bytes as a file's without touching the disk. `what` names it
/// in /proc and in errors.
absl::StatusOr<File> MemoryFile(absl::string_view bytes, const char *what);

/// Writes `directory/name` by writing a temporary file in `directory` and
/// renaming it over `name`: a symlink named `name` is replaced, never
/// written through, and a reader never sees a half-written file. `name`
/// must be a plain file name (no '/').
absl::Status WriteFileAtomically(const std::string &directory,
                                 const std::string &name,
                                 absl::string_view bytes);

} // namespace bathy::rt

#endif // BATHY_RUNTIME_FILE_H
