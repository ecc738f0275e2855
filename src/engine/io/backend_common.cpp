#include "engine/io/backend_common.hpp"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "engine/io/npy.hpp"

namespace kv::io::detail {

BackendOptions normalized(const BackendOptions& o) {
  BackendOptions n = o;
  n.chunk_bytes = std::max<std::uint64_t>(kDirectAlign, round_up(o.chunk_bytes, kDirectAlign));
  n.max_inflight_bytes = std::max(n.max_inflight_bytes, n.chunk_bytes);
  n.io_depth = std::max(1U, o.io_depth);
  return n;
}

std::filesystem::path object_path(const std::filesystem::path& dir, const std::string& key) {
  return dir / (key + ".npy");
}

void set_failure(IoResult& r, int err, std::string_view what, const std::filesystem::path& path) {
  if (!r.ok && r.error != 0) return;  // keep the first failure
  r.ok = false;
  r.error = err;
  r.message.assign(what);
  r.message += ' ';
  r.message += path.string();
  r.message += ": ";
  r.message += std::strerror(err);
}

int write_full(int fd, const std::byte* p, std::size_t n, std::uint64_t off) {
  while (n > 0) {
    const ssize_t w = ::pwrite(fd, p, n, static_cast<off_t>(off));
    if (w < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (w == 0) return EIO;
    p += w;
    off += static_cast<std::uint64_t>(w);
    n -= static_cast<std::size_t>(w);
  }
  return 0;
}

int read_full(int fd, std::byte* p, std::size_t n, std::uint64_t off, std::size_t* got) {
  std::size_t done = 0;
  while (done < n) {
    const ssize_t r = ::pread(fd, p + done, n - done, static_cast<off_t>(off + done));
    if (r < 0) {
      if (errno == EINTR) continue;
      *got = done;
      return errno;
    }
    if (r == 0) break;
    done += static_cast<std::size_t>(r);
  }
  *got = done;
  return 0;
}

int sync_fd(int fd, SyncMode mode) {
  int rc = 0;
  switch (mode) {
    case SyncMode::kFsync: rc = ::fsync(fd); break;
    case SyncMode::kFdatasync: rc = ::fdatasync(fd); break;
    case SyncMode::kNone: return 0;
  }
  return rc == 0 ? 0 : errno;
}

int preallocate(int fd, std::uint64_t bytes) {
  static const char* mode = std::getenv("KV_IO_PREALLOC");
  if (mode != nullptr && std::strcmp(mode, "none") == 0) return 0;
  if (mode == nullptr || std::strcmp(mode, "truncate") != 0) {
    if (::fallocate(fd, 0, 0, static_cast<off_t>(bytes)) == 0) return 0;
    if (errno != EOPNOTSUPP && errno != ENOSYS && errno != EINVAL) return errno;
  }
  return ::ftruncate(fd, static_cast<off_t>(bytes)) == 0 ? 0 : errno;
}

namespace {
std::uint64_t product(const std::vector<std::uint64_t>& shape) {
  std::uint64_t p = 1;
  for (auto d : shape) p *= d;
  return p;
}
}  // namespace

std::size_t check_header(std::string_view first, const ObjectSpec& spec, std::string* why) {
  // Fast path: one of our own layouts, byte for byte.
  if (!spec.shape.empty()) {
    alignas(64) std::byte expect[kDirectAlign];
    for (std::size_t align : {std::size_t{64}, std::size_t{kDirectAlign}}) {
      const std::size_t n = write_npy_header(expect, spec.shape, align, spec.dtype);
      if (n != 0 && first.size() >= n && std::memcmp(first.data(), expect, n) == 0) {
        if (product(spec.shape) * npy_itemsize(spec.dtype) != spec.payload_bytes)
          break;  // inconsistent spec: slow path says why
        return n;
      }
    }
  }
  const auto info = parse_npy_header(first);
  if (!info) {
    *why = "not a valid .npy v1.0 header";
    return 0;
  }
  if (info->descr != npy_descr(spec.dtype) || info->fortran_order) {
    *why = "unexpected dtype/order '" + info->descr + "'";
    return 0;
  }
  if (!spec.shape.empty() && info->shape != spec.shape) {
    *why = "shape differs from the expected one";
    return 0;
  }
  if (product(info->shape) * npy_itemsize(spec.dtype) != spec.payload_bytes) {
    *why = "header shape does not match the payload size";
    return 0;
  }
  return info->header_bytes;
}

ObjectDir::ObjectDir(const std::filesystem::path& dir)
    : dir_(dir), fd_(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) {
  if (fd_ < 0) fd_ = AT_FDCWD;
}

ObjectDir::~ObjectDir() {
  if (fd_ >= 0) ::close(fd_);
}

std::string ObjectDir::name(const std::string& key) const {
  return fd_ == AT_FDCWD ? object_path(dir_, key).string() : key + ".npy";
}

namespace {
// openat with O_NOFOLLOW|O_NONBLOCK (a planted FIFO cannot block us), O_NONBLOCK cleared after.
int open_nofollow(const ObjectDir& dir, const std::string& name, int flags) {
  const int fd = ::openat(dir.fd(), name.c_str(), flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd >= 0) ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return fd;
}
}  // namespace

int create_object(const ObjectDir& dir, const std::string& key, bool direct) {
  const std::string name = dir.name(key);
  const int dflag = direct ? O_DIRECT : 0;
  // A rewrite reuses the file only when it is a regular file of ours with a single link.
  int fd = open_nofollow(dir, name, O_WRONLY | dflag);
  if (fd >= 0) {
    struct stat sb {};
    if (::fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_nlink == 1 &&
        sb.st_uid == ::geteuid() && ::ftruncate(fd, 0) == 0)
      return fd;
    ::close(fd);
  }
  // Anything else under the name (a symlink, a hard link, a FIFO, a file of another user) loses
  // its name, never its content; the new file is created O_EXCL.
  if (::unlinkat(dir.fd(), name.c_str(), 0) != 0 && errno != ENOENT) return -1;
  fd = ::openat(dir.fd(), name.c_str(),
                O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | dflag, 0644);
  return fd;
}

int open_object(const ObjectDir& dir, const std::string& key, bool direct) {
  return open_nofollow(dir, dir.name(key), O_RDONLY | (direct ? O_DIRECT : 0));
}

int remove_object(const ObjectDir& dir, const std::string& key) {
  return ::unlinkat(dir.fd(), dir.name(key).c_str(), 0) == 0 ? 0 : errno;
}

int create_unique(const std::filesystem::path& dir, const std::string& stem, bool direct,
                  std::string* path) {
  *path = (dir / (stem + "XXXXXX")).string();
  return ::mkostemp(path->data(), O_CLOEXEC | (direct ? O_DIRECT : 0));
}

bool direct_io_supported(const std::filesystem::path& dir, int* err) {
  std::string path;
  const int fd = create_unique(dir, ".kv_probe_direct.", true, &path);
  if (fd < 0) {
    *err = errno;
    return false;
  }
  void* buf = nullptr;
  bool ok = false;
  if (::posix_memalign(&buf, kDirectAlign, kDirectAlign) == 0) {
    std::memset(buf, 0, kDirectAlign);
    const ssize_t w = ::pwrite(fd, buf, kDirectAlign, 0);
    ok = w == static_cast<ssize_t>(kDirectAlign);
    *err = ok ? 0 : (w < 0 ? errno : EIO);
    std::free(buf);
  } else {
    *err = ENOMEM;
  }
  ::close(fd);
  ::unlink(path.c_str());
  return ok;
}

}  // namespace kv::io::detail
