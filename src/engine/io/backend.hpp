// Storage I/O backends behind one interface (contract). One file per object,
// `<dir>/<key>.npy`, always a valid NumPy .npy v1.0 file (header + little-endian payload of the
// model's dtype).
//
// Engines (BackendOptions::engine):
//   * kPosix — the reference-compatible path (docs/reference-behaviour.md#posix-storage-io):
//     write = open(O_TRUNC), buffered write of header + payload streamed in chunks, then fsync
//     (host = up to the end of the writes, device = fsync); read = posix_fadvise(DONTNEED) (host)
//     then buffered reads of the whole file in chunks (device). Never holds a whole object in
//     memory: chunks go through a bounded, reused buffer.
//   * kIoUring — liburing, registered aligned buffers, several chunks of one object in flight,
//     optional O_DIRECT (the .npy header is padded so the payload starts 4 KiB aligned).
// Every backend reports failures as IoResult{ok = false, error = errno} — never throws on I/O
// errors — so the caller counts the op as failed, not completed.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/io/npy.hpp"

namespace kv::io {

struct IoTiming {
  double total_s = 0;
  double device_s = 0;
  double host_s = 0;
};

struct IoResult {
  bool ok = false;
  int error = 0;        // errno of the first failure (ENOSPC, EIO, ...), 0 when ok
  std::string message;  // what failed, with the path
  IoTiming timing;
  std::uint64_t bytes = 0;  // payload bytes transferred
};

// What an I/O buffer that is reused chunk after chunk still holds from its last fill, so that a
// source may skip the bytes that are already right (PayloadSource::fill_reusing; the stamped
// payload, docs/performance.md "Payload generator"). One per buffer, owned with the buffer. The
// bytes in [lo, hi) are `source`'s base bytes in arrangement `phase` (anything at the source's own
// per-block stamp positions). Whoever writes anything else into the buffer (a read, a header) must
// call overwritten() or reset() first.
struct FillMemo {
  std::uint64_t source = 0;  // 0 = nothing known
  std::uint64_t phase = 0;
  const std::byte* lo = nullptr;
  const std::byte* hi = nullptr;
  void reset() { *this = FillMemo{}; }
  // [p, p + n) of the buffer now holds something else: the memo keeps the larger side of it.
  void overwritten(const std::byte* p, std::size_t n) {
    const std::byte* e = p + n;
    if (source == 0 || e <= lo || p >= hi) return;
    if (p - lo >= hi - e) {
      hi = p;
    } else {
      lo = e;
    }
    if (lo >= hi) reset();
  }
};

// Produces an object's payload bytes chunk by chunk. fill() must be deterministic in (offset, size)
// and thread-safe (const).
class PayloadSource {
 public:
  virtual ~PayloadSource() = default;
  virtual void fill(std::uint64_t offset, std::span<std::byte> out) const = 0;
  // The same bytes as fill(), into a reused buffer described by `memo` (updated).
  virtual void fill_reusing(std::uint64_t offset, std::span<std::byte> out, FillMemo& memo) const {
    memo.reset();
    fill(offset, out);
  }
};

// Receives payload bytes as they are read (for verification or a tier-to-tier copy).
class PayloadSink {
 public:
  virtual ~PayloadSink() = default;
  virtual void consume(std::uint64_t offset, std::span<const std::byte> in) = 0;
};

struct ObjectSpec {
  std::string key;                   // file name stem; validated by the caller (no '/')
  std::vector<std::uint64_t> shape;  // .npy shape; product × itemsize(dtype) == payload_bytes
  std::uint64_t payload_bytes = 0;
  NpyDtype dtype = NpyDtype::kFloat16;  // the model's element type (npy.hpp)
};

// Called once per completed chunk I/O (device latency of that one system call / SQE).
class ChunkObserver {
 public:
  virtual ~ChunkObserver() = default;
  virtual void on_chunk(bool is_write, double seconds, std::uint64_t bytes) = 0;
};

// Bounded stop (docs/performance.md, "Bounded stop"). The owner sets a deadline on the mono_ns()
// clock; an operation still running at the deadline gives up: io_uring cancels its in-flight
// requests (IORING_OP_ASYNC_CANCEL; a request the device already started finishes first), posix
// stops at the next chunk boundary. It fails with ECANCELED (a write removes its partial file and
// is not synced). Operations started after the deadline fail at once. Thread-safe.
class IoStop {
 public:
  static constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::max();
  void stop_at(std::int64_t deadline_ns) {
    deadline_.store(deadline_ns, std::memory_order_relaxed);
  }
  void clear() { stop_at(kNever); }
  std::int64_t deadline() const { return deadline_.load(std::memory_order_relaxed); }
  bool due(std::int64_t now_ns) const { return now_ns >= deadline(); }

 private:
  std::atomic<std::int64_t> deadline_{kNever};
};

enum class Engine { kPosix, kIoUring };
enum class SyncMode { kFsync, kFdatasync, kNone };

struct BackendOptions {
  std::filesystem::path dir;
  Engine engine = Engine::kPosix;
  bool direct_io = false;
  SyncMode sync = SyncMode::kFsync;
  std::uint64_t chunk_bytes = 8ULL << 20;           // --io-chunk-mib
  unsigned io_depth = 16;                           // --io-depth (io_uring)
  std::uint64_t max_inflight_bytes = 512ULL << 20;  // --max-inflight-mib, reads and writes together
  ChunkObserver* chunk_observer = nullptr;          // may be null
  const IoStop* stop = nullptr;                     // null = never stops; outlives the backend
};

class StorageBackend {
 public:
  virtual ~StorageBackend() = default;
  virtual const char* name() const = 0;  // "posix", "io_uring", "io_uring+direct", "fault(...)"
  virtual IoResult write(const ObjectSpec& spec, const PayloadSource& src) = 0;
  // Reads the whole object; sink may be null (bytes discarded after the read, as a consumer
  // would).
  virtual IoResult read(const ObjectSpec& spec, PayloadSink* sink) = 0;
  virtual bool remove(const std::string& key) = 0;
  virtual std::filesystem::path path_for(const std::string& key) const = 0;
  // Peak bytes of I/O buffers held at once since creation (<= max_inflight_bytes, rounded up to
  // whole chunks); 0 when the backend does not track it.
  virtual std::uint64_t peak_inflight_bytes() const { return 0; }
};

// What make_backend() really chose (fallbacks are reported here and logged as one warning line).
struct BackendChoice {
  std::unique_ptr<StorageBackend> backend;
  Engine engine = Engine::kPosix;
  bool direct_io = false;
  // e.g. "O_DIRECT refused by filesystem (tmpfs): buffered I/O"
  std::vector<std::string> fallbacks;
};

BackendChoice make_backend(const BackendOptions& opts);

}  // namespace kv::io
