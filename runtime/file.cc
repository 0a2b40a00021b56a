//===- file.cc - Reading and writing files that may be hostile ------------===//
#include "runtime/file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

#if defined(__linux__)
#include <linux/openat2.h>
#endif

#include "absl/strings/str_cat.h"

namespace bathy::rt {
namespace {

std::string Errno() { return std::strerror(errno); }

const char *KindOf(mode_t mode) {
  if (S_ISDIR(mode))
    return "a directory";
  if (S_ISFIFO(mode))
    return "a FIFO";
  if (S_ISCHR(mode))
    return "a character device";
  if (S_ISBLK(mode))
    return "a block device";
  if (S_ISSOCK(mode))
    return "a socket";
  return "not a regular file";
}

/// Takes ownership of `fd` if it is a regular file.
absl::StatusOr<File> RequireRegular(int fd, absl::string_view path) {
  File file(fd);
  struct stat st;
  if (fstat(fd, &st) != 0)
    return absl::InvalidArgumentError(
        absl::StrCat("cannot stat '", path, "': ", Errno()));
  if (!S_ISREG(st.st_mode))
    return absl::InvalidArgumentError(absl::StrCat(
        "'", path, "' is ", KindOf(st.st_mode), ", not a regular file"));
  // Opened non-blocking so that a FIFO could not stall the open; reads of
  // a regular file do not care, but clear it anyway.
  int flags = fcntl(fd, F_GETFL);
  if (flags >= 0)
    fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  return file;
}

bool IsBeneath(const std::string &dir, const std::string &path) {
  if (dir == "/")
    return true;
  return path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 &&
         path[dir.size()] == '/';
}

} // namespace

File &File::operator=(File &&other) noexcept {
  if (this != &other) {
    if (fd_ >= 0)
      close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

File::~File() {
  if (fd_ >= 0)
    close(fd_);
}

absl::StatusOr<uint64_t> File::Size() const {
  struct stat st;
  if (fstat(fd_, &st) != 0)
    return absl::InternalError(absl::StrCat("fstat failed: ", Errno()));
  return static_cast<uint64_t>(st.st_size);
}

absl::Status File::ReadAt(uint64_t offset, void *out, uint64_t bytes,
                          absl::string_view path) const {
  auto *dst = static_cast<char *>(out);
  while (bytes > 0) {
    size_t chunk = bytes > (1u << 30) ? (1u << 30) : static_cast<size_t>(bytes);
    ssize_t n = pread(fd_, dst, chunk, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return absl::InvalidArgumentError(
          absl::StrCat("reading '", path, "' failed: ", Errno()));
    if (n == 0)
      return absl::InvalidArgumentError(
          absl::StrCat("'", path, "' ended early (truncated while read?)"));
    dst += n;
    offset += static_cast<uint64_t>(n);
    bytes -= static_cast<uint64_t>(n);
  }
  return absl::OkStatus();
}

absl::StatusOr<File> OpenRegularFile(const std::string &path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0)
    return absl::NotFoundError(
        absl::StrCat("cannot read '", path, "': ", Errno()));
  return RequireRegular(fd, path);
}

absl::StatusOr<File> OpenFileBeneath(const std::string &directory,
                                     const std::string &relative) {
  std::string shown = absl::StrCat(directory, "/", relative);
  if (relative.empty() || relative[0] == '/')
    return absl::InvalidArgumentError(absl::StrCat(
        "'", relative, "' must be a relative path inside '", directory, "'"));
  int dir = open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0)
    return absl::NotFoundError(
        absl::StrCat("cannot open the folder '", directory, "': ", Errno()));
  File dirFile(dir);
  int fd = -1;
#if defined(__linux__) && defined(SYS_openat2)
  struct open_how how;
  std::memset(&how, 0, sizeof how);
  how.flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  fd = static_cast<int>(
      syscall(SYS_openat2, dir, relative.c_str(), &how, sizeof how));
  if (fd < 0 && errno == EXDEV)
    return absl::PermissionDeniedError(absl::StrCat(
        "'", relative, "' resolves outside the folder '", directory,
        "' (through '..', an absolute path or a "
        "symlink); files must stay inside it"));
  if (fd < 0 && errno != ENOSYS && errno != EPERM)
    return absl::NotFoundError(
        absl::StrCat("cannot read '", shown, "': ", Errno()));
#endif
  if (fd < 0) {
    // No openat2 (older kernels, some sandboxes): resolve the path, check
    // it is inside the folder, then open what was checked without
    // following a final symlink.
    char dirReal[PATH_MAX], fileReal[PATH_MAX];
    if (!realpath(directory.c_str(), dirReal))
      return absl::NotFoundError(
          absl::StrCat("cannot resolve '", directory, "': ", Errno()));
    if (!realpath(shown.c_str(), fileReal))
      return absl::NotFoundError(
          absl::StrCat("cannot read '", shown, "': ", Errno()));
    if (!IsBeneath(dirReal, fileReal))
      return absl::PermissionDeniedError(absl::StrCat(
          "'", relative, "' resolves outside the folder '", directory,
          "' (to '", fileReal, "'); files must stay inside it"));
    fd = open(fileReal,
              O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | O_NOFOLLOW);
    if (fd < 0)
      return absl::NotFoundError(
          absl::StrCat("cannot read '", shown, "': ", Errno()));
  }
  return RequireRegular(fd, shown);
}

absl::StatusOr<std::string> ReadRegularFile(const std::string &path,
                                            uint64_t max_bytes) {
  absl::StatusOr<File> file = OpenRegularFile(path);
  if (!file.ok())
    return file.status();
  absl::StatusOr<uint64_t> size = file->Size();
  if (!size.ok())
    return size.status();
  if (*size > max_bytes)
    return absl::InvalidArgumentError(absl::StrCat("'", path, "' has ", *size,
                                                   " bytes, more than the ",
                                                   max_bytes, " allowed"));
  std::string out(static_cast<size_t>(*size), '\0');
  if (absl::Status s = file->ReadAt(0, out.data(), *size, path); !s.ok())
    return s;
  return out;
}

absl::StatusOr<File> MemoryFile(absl::string_view bytes, const char *what) {
  int fd = memfd_create(what, MFD_CLOEXEC);
  if (fd < 0)
    return absl::InternalError(
        absl::StrCat(what, ": memfd_create: ", strerror(errno)));
  File file(fd);
  for (size_t done = 0; done < bytes.size();) {
    ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return absl::ResourceExhaustedError(absl::StrCat(
          what, ": cannot hold ", bytes.size(),
          " bytes in memory: ", n < 0 ? strerror(errno) : "short write"));
    done += static_cast<size_t>(n);
  }
  return file;
}

absl::Status WriteFileAtomically(const std::string &directory,
                                 const std::string &name,
                                 absl::string_view bytes) {
  if (name.empty() || name.find('/') != std::string::npos || name == "." ||
      name == "..")
    return absl::InvalidArgumentError(
        absl::StrCat("'", name, "' is not a plain file name"));
  std::string target = absl::StrCat(directory, "/", name);
  std::string temp = absl::StrCat(directory, "/.", name, ".tmpXXXXXX");
  int fd = mkstemp(temp.data());
  if (fd < 0)
    return absl::PermissionDeniedError(
        absl::StrCat("cannot create a file in '", directory, "': ", Errno()));
  File file(fd);
  const char *p = bytes.data();
  size_t left = bytes.size();
  while (left > 0) {
    ssize_t n = write(fd, p, left);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      std::string error = Errno();
      unlink(temp.c_str());
      return absl::ResourceExhaustedError(
          absl::StrCat("writing '", target, "' failed: ", error));
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  // mkstemp makes the file private; outputs get the usual rw-r--r--.
  fchmod(fd, 0644);
  if (rename(temp.c_str(), target.c_str()) != 0) {
    std::string error = Errno();
    unlink(temp.c_str());
    return absl::PermissionDeniedError(
        absl::StrCat("cannot write '", target, "': ", error));
  }
  return absl::OkStatus();
}

} // namespace bathy::rt
