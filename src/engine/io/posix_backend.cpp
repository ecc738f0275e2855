// Reference-compatible POSIX backend (docs/reference-behaviour.md#posix-storage-io), streamed
// through a bounded buffer pool instead of whole-object arrays.
//   write: host  = open + truncate, never through a planted link (create_object) + the
//                  pwrite() calls of header+payload, chunk by chunk;
//          device = fsync / fdatasync / nothing (SyncMode) + close.
//   read:  host  = open + posix_fadvise(DONTNEED) (drops the cached pages, as the reference);
//          device = pread() of the whole file in chunks (header validated, size checked).
// Bounded stop (BackendOptions::stop): past the deadline a write or read stops at the next chunk
// boundary with ECANCELED (a write removes its partial file and skips the sync).
// Payload generation and sink consumption happen between the timed system calls, never inside them.
// With direct_io the file is opened O_DIRECT, the header is padded to 4 KiB and the last partial
// chunk is written padded to 4 KiB and then truncated to the exact size.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>

#include "core/clock.hpp"
#include "engine/io/backend_common.hpp"
#include "engine/io/buffer_pool.hpp"
#include "engine/io/npy.hpp"

namespace kv::io::detail {
namespace {

class PosixBackend final : public StorageBackend {
 public:
  explicit PosixBackend(const BackendOptions& o)
      : opts_(normalized(o)), pool_(opts_.chunk_bytes, opts_.max_inflight_bytes) {}

  const char* name() const override { return opts_.direct_io ? "posix+direct" : "posix"; }
  std::filesystem::path path_for(const std::string& key) const override {
    return object_path(opts_.dir, key);
  }

  std::uint64_t peak_inflight_bytes() const override {
    return pool_.max_outstanding() * pool_.buffer_bytes();
  }

  bool remove(const std::string& key) override { return remove_object(dir_, key) == 0; }

  IoResult write(const ObjectSpec& spec, const PayloadSource& src) override {
    IoResult r;
    const auto path = path_for(spec.key);
    const std::size_t align = opts_.direct_io ? kDirectAlign : 64;
    const std::uint64_t chunk = opts_.chunk_bytes;
    std::int64_t host_ns = 0;

    std::int64_t t0 = mono_ns();
    const int fd = create_object(dir_, spec.key, opts_.direct_io);
    host_ns += mono_ns() - t0;
    if (fd < 0) {
      set_failure(r, errno, "open for write", path);
      return r;
    }

    BufferLease buf(pool_, BufferPool::Use::kWrite);
    const std::size_t hdr = write_npy_header({buf.data(), chunk}, spec.shape, align, spec.dtype);
    buf.memo().overwritten(buf.data(), hdr);
    if (hdr == 0) {
      ::close(fd);
      remove_object(dir_, spec.key);
      set_failure(r, EINVAL, "npy header for", path);
      return r;
    }
    const std::uint64_t file_bytes = hdr + spec.payload_bytes;
    bool padded = false;
    int err = 0;
    const char* what = "write";
    for (std::uint64_t off = 0; off < file_bytes; off += chunk) {
      if (stopped()) {  // bounded stop: give up at the chunk boundary
        err = ECANCELED;
        what = kStoppedWrite;
        break;
      }
      const std::uint64_t n = std::min(chunk, file_bytes - off);
      const std::uint64_t payload_off = off == 0 ? 0 : off - hdr;
      const std::uint64_t skip = off == 0 ? hdr : 0;
      src.fill_reusing(payload_off, {buf.data() + skip, n - skip}, buf.memo());
      std::uint64_t io_n = n;
      if (opts_.direct_io && n % kDirectAlign != 0) {
        io_n = round_up(n, kDirectAlign);
        padded = true;
      }
      t0 = mono_ns();
      err = write_full(fd, buf.data(), io_n, off);
      const std::int64_t dt = mono_ns() - t0;
      host_ns += dt;
      if (err != 0) break;
      if (opts_.chunk_observer)
        opts_.chunk_observer->on_chunk(true, static_cast<double>(dt) * 1e-9, io_n);
    }
    if (err != 0) {
      ::close(fd);
      remove_object(dir_, spec.key);
      set_failure(r, err, what, path);
      r.timing.host_s = static_cast<double>(host_ns) * 1e-9;
      r.timing.total_s = r.timing.host_s;
      return r;
    }
    buf.reset();  // the buffer is not needed during the sync

    t0 = mono_ns();
    what = "sync";
    if (stopped()) {  // no sync after the deadline: it could take longer than the drain allows
      err = ECANCELED;
      what = kStoppedWrite;
    }
    if (err == 0 && padded && ::ftruncate(fd, static_cast<off_t>(file_bytes)) != 0) err = errno;
    if (err == 0) err = sync_fd(fd, opts_.sync);
    if (::close(fd) != 0 && err == 0) err = errno;
    const std::int64_t device_ns = mono_ns() - t0;
    r.timing.host_s = static_cast<double>(host_ns) * 1e-9;
    r.timing.device_s = static_cast<double>(device_ns) * 1e-9;
    r.timing.total_s = r.timing.host_s + r.timing.device_s;
    if (err != 0) {
      remove_object(dir_, spec.key);
      set_failure(r, err, what, path);
      return r;
    }
    r.ok = true;
    r.bytes = spec.payload_bytes;
    return r;
  }

  IoResult read(const ObjectSpec& spec, PayloadSink* sink) override {
    IoResult r;
    const auto path = path_for(spec.key);
    const std::uint64_t chunk = opts_.chunk_bytes;

    std::int64_t t0 = mono_ns();
    const int fd = open_object(dir_, spec.key, opts_.direct_io);
    if (fd >= 0 && !opts_.direct_io) ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    const std::int64_t host_ns = mono_ns() - t0;
    if (fd < 0) {
      set_failure(r, errno, "open for read", path);
      return r;
    }

    BufferLease buf(pool_, BufferPool::Use::kRead);
    buf.memo().reset();  // the reads overwrite it
    std::int64_t device_ns = 0;
    std::uint64_t file_bytes = 0, hdr = 0;
    int err = 0;
    std::string why;
    for (std::uint64_t off = 0; err == 0 && (off == 0 || off < file_bytes); off += chunk) {
      if (stopped()) {  // bounded stop: give up at the chunk boundary
        why = "stopped at the drain deadline";
        err = ECANCELED;
        break;
      }
      std::size_t got = 0;
      std::uint64_t want = chunk;
      if (off != 0) want = std::min(chunk, file_bytes - off);
      if (opts_.direct_io) want = round_up(want, kDirectAlign);
      t0 = mono_ns();
      err = read_full(fd, buf.data(), want, off, &got);
      if (off == 0 && err == 0) {
        struct stat st {};
        if (::fstat(fd, &st) != 0) err = errno;
        file_bytes = static_cast<std::uint64_t>(st.st_size);
      }
      const std::int64_t dt = mono_ns() - t0;
      device_ns += dt;
      if (err != 0) break;
      if (opts_.chunk_observer)
        opts_.chunk_observer->on_chunk(false, static_cast<double>(dt) * 1e-9, got);
      if (off == 0) {
        hdr = check_header({reinterpret_cast<const char*>(buf.data()), got}, spec, &why);
        if (hdr == 0) {
          err = EIO;
          break;
        }
        if (file_bytes != hdr + spec.payload_bytes) {
          why = "file size " + std::to_string(file_bytes) + " != header + payload " +
                std::to_string(hdr + spec.payload_bytes) + " (truncated or foreign file)";
          err = EIO;
          break;
        }
      }
      const std::uint64_t end = std::min<std::uint64_t>(off + got, file_bytes);
      if (end < std::min(off + chunk, file_bytes)) {  // file shrank under us
        why = "short read";
        err = EIO;
        break;
      }
      const std::uint64_t skip = off == 0 ? hdr : 0;
      if (sink && end > off + skip) {
        sink->consume(off + skip - hdr, {buf.data() + skip, end - off - skip});
      }
    }
    ::close(fd);
    r.timing.host_s = static_cast<double>(host_ns) * 1e-9;
    r.timing.device_s = static_cast<double>(device_ns) * 1e-9;
    r.timing.total_s = r.timing.host_s + r.timing.device_s;
    if (err != 0) {
      set_failure(r, err, why.empty() ? "read" : ("read (" + why + ")"), path);
      return r;
    }
    r.ok = true;
    r.bytes = spec.payload_bytes;
    return r;
  }

 private:
  static constexpr const char* kStoppedWrite = "write (stopped at the drain deadline)";
  bool stopped() const { return opts_.stop != nullptr && opts_.stop->due(mono_ns()); }

  BackendOptions opts_;
  ObjectDir dir_{opts_.dir};
  BufferPool pool_;
};

}  // namespace

std::unique_ptr<StorageBackend> make_posix_backend(const BackendOptions& opts) {
  return std::make_unique<PosixBackend>(opts);
}

}  // namespace kv::io::detail
