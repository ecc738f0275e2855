#include "core/fs.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/error.hpp"

namespace kv::fs {
namespace {
ExitCode code_for_errno(int e) {
  if (e == ENOENT || e == ENOTDIR) return ExitCode::kFileNotFound;
  if (e == EACCES || e == EPERM || e == EROFS) return ExitCode::kPermissionDenied;
  return ExitCode::kFailure;
}
[[noreturn]] void fail(const std::filesystem::path& p, const char* op, int e) {
  throw Error(code_for_errno(e), std::string(op) + " " + p.string() + ": " + std::strerror(e));
}
}  // namespace

void atomic_write(const std::filesystem::path& path, std::string_view content) {
  std::string tmp = path.string() + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail(tmp, "cannot create", errno);
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

std::string read_file(const std::filesystem::path& path, std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw Error(ExitCode::kFileNotFound,
                std::string(what) + ": cannot open '" + path.string() + "': " + std::strerror(errno));
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace kv::fs
