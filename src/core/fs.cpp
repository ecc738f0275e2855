#include "core/fs.hpp"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.hpp"

namespace kv::fs {
namespace {
ExitCode code_for_errno(int e) {
  if (e == ENOENT || e == ENOTDIR) return ExitCode::kFileNotFound;
  if (e == EACCES || e == EPERM || e == EROFS) return ExitCode::kPermissionDenied;
  if (e == ENAMETOOLONG || e == EISDIR || e == ELOOP) return ExitCode::kInvalidArguments;
  return ExitCode::kFailure;
}
[[noreturn]] void fail(const std::filesystem::path& p, const char* op, int e) {
  throw Error(code_for_errno(e), std::string(op) + " " + p.string() + ": " + std::strerror(e));
}
}  // namespace

namespace {
// `<path>.tmp.XXXXXX`, created with O_EXCL by mkostemp: a symlink or file planted under any name
// is never opened, and the name cannot be guessed in advance.
// The destination may be missing, a regular file or a symlink (rename replaces the link itself);
// anything else (a device such as /dev/zero, a FIFO, a directory) is never replaced.
void check_destination(const std::filesystem::path& path) {
  struct stat sb {};
  if (::lstat(path.c_str(), &sb) != 0 || S_ISREG(sb.st_mode) || S_ISLNK(sb.st_mode)) return;
  throw Error(ExitCode::kInvalidArguments,
              path.string() +
                  (S_ISDIR(sb.st_mode) ? " is a directory" : " exists and is not a regular file") +
                  "; refusing to replace it");
}

int create_temp(const std::filesystem::path& path, std::string* tmp) {
  check_destination(path);
  *tmp = path.string() + ".tmp.XXXXXX";
  const int fd = ::mkostemp(tmp->data(), O_CLOEXEC);
  if (fd < 0) fail(path.string() + ".tmp.*", "cannot create", errno);
  ::fchmod(fd, 0644);  // mkostemp makes 0600; results are meant to be read by others
  return fd;
}
}  // namespace

void check_writable(const std::filesystem::path& path) {
  std::string tmp;
  const int fd = create_temp(path, &tmp);
  ::close(fd);
  ::unlink(tmp.c_str());
}

void atomic_write(const std::filesystem::path& path, std::string_view content) {
  std::string tmp;
  int fd = create_temp(path, &tmp);
  const char* p = content.data();
  std::size_t left = content.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      fail(tmp, "cannot write", e);
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 && errno != EINVAL) {
    int e = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    fail(tmp, "cannot fsync", e);
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    fail(path, "cannot rename into", e);
  }
}

std::string read_file(const std::filesystem::path& path, std::string_view what,
                      std::size_t max_bytes) {
  const auto name = [&] { return std::string(what) + ": '" + path.string() + "'"; };
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    const int e = errno;
    throw Error(e == ENOENT || e == ENOTDIR ? ExitCode::kFileNotFound : code_for_errno(e),
                std::string(what) + ": cannot open '" + path.string() + "': " + std::strerror(e));
  }
  struct stat sb {};
  if (::fstat(fd, &sb) == 0 && S_ISDIR(sb.st_mode)) {
    ::close(fd);
    throw Error(ExitCode::kInvalidArguments, name() + " is a directory, not a file");
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  std::string out;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int e = errno;
      ::close(fd);
      throw Error(code_for_errno(e), name() + ": cannot read: " + std::strerror(e));
    }
    if (n == 0) break;
    if (out.size() + static_cast<std::size_t>(n) > max_bytes) {
      ::close(fd);
      throw Error(ExitCode::kInvalidArguments,
                  name() + " is larger than " + std::to_string(max_bytes >> 20) + " MiB");
    }
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

}  // namespace kv::fs
