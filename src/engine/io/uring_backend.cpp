// io_uring backend (liburing).
//
// Model: a small pool of rings, each checked out by one operation at a time (like a connection
// pool). The op thread submits and reaps on its checked-out ring itself, so completions run as task
// work of the thread that waits for them (no reaper thread, no cross-thread wake-ups), and no lock
// is held while I/O is in flight. Rings are created lazily up to min(pool buffers, 64), and every
// ring registers the whole buffer pool once (fixed buffers: no page pinning per I/O).
//
// Memory: chunk buffers come from the backend's BufferPool (max_inflight_bytes for reads and
// writes together). An op keeps up to io_depth chunks in flight; it blocks for a buffer only while
// it holds none, otherwise it proceeds with what it has.
//
// Timing: write host = open (+ fallocate with O_DIRECT) + close, device = time with >= 1 chunk in
// flight + ftruncate + sync;
// read host = open + fadvise(DONTNEED, then SEQUENTIAL) (buffered only) + fstat, device = time with
// >= 1 chunk in flight. A write submits each chunk as soon as it is generated, so generation
// overlaps the I/O of the chunks before it (only the first chunk's generation happens before the
// clock runs). Each chunk's submit→reap time goes to the ChunkObserver.
//
// Bounded stop (BackendOptions::stop): an op waiting for completions wakes at the deadline (and
// every 50 ms to look at it), queues no more chunks, cancels its in-flight requests with one
// IORING_OP_ASYNC_CANCEL (all requests on its fd), reaps what is left and fails with ECANCELED
// (a write removes its partial file, no ftruncate, no sync).
//
// O_DIRECT: the file is first given its size (fallocate, else ftruncate), so that no chunk
// extends it (an extending direct write is synchronous on ext4: one chunk in flight per object).
// The header is padded to 4 KiB, chunk offsets are 4 KiB multiples, the final partial chunk is
// written padded to 4 KiB and the file is then truncated to header + payload bytes.
#include <fcntl.h>
#include <liburing.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "core/clock.hpp"
#include "core/log.hpp"
#include "engine/io/backend_common.hpp"
#include "engine/io/buffer_pool.hpp"
#include "engine/io/npy.hpp"

namespace kv::io::detail {
namespace {

constexpr unsigned kMaxDepth = 4096;
constexpr std::size_t kMaxRings = 64;
constexpr std::int64_t kStopPollNs = 50'000'000;  // how often a waiting op looks at the deadline
constexpr const char* kStopped = "stopped at the drain deadline (in-flight requests cancelled)";

struct Slot {
  int buf = -1;             // pool buffer index, -1 = none held
  std::uint64_t off = 0;    // file offset of the chunk
  std::uint32_t len = 0;    // bytes of the I/O (padded for O_DIRECT)
  std::uint32_t done = 0;   // bytes completed so far
  std::uint32_t valid = 0;  // bytes of file data in the chunk (reads: up to EOF)
  std::int64_t submit_ns = 0;
  enum State : std::uint8_t { kIdle, kInFlight, kReady, kRetry } state = kIdle;
};

struct Ring {
  io_uring ring{};
  bool fixed = false;
  // Per-op scratch, sized io_depth once: a ring serves one op at a time, so ops reuse these
  // without allocating (and an op nested inside a sink would take another ring).
  std::vector<Slot> slots;
  std::vector<Slot*> batch;
  ~Ring() { io_uring_queue_exit(&ring); }
};

// Creates a ring; registers `iov` as fixed buffers when `want_fixed`. Returns -errno on failure.
// A ring serves one op at a time, so at most `depth` requests are in flight on it.
int setup_ring(Ring& r, unsigned depth, const std::vector<iovec>& iov, bool want_fixed,
               int* reg_err) {
  unsigned entries = 1;
  while (entries < depth) entries <<= 1;
  io_uring_params p{};
  p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SUBMIT_ALL;
  p.cq_entries = 2 * entries;
  int rc = io_uring_queue_init_params(entries, &r.ring, &p);
  if (rc == -EINVAL) {  // older kernel (< 5.19): no COOP_TASKRUN / SUBMIT_ALL
    p = io_uring_params{};
    p.flags = IORING_SETUP_CQSIZE;
    p.cq_entries = 2 * entries;
    rc = io_uring_queue_init_params(entries, &r.ring, &p);
  }
  if (rc < 0) return rc;
  r.slots.resize(depth);
  r.batch.resize(depth);
  *reg_err = 0;
  if (want_fixed) {
    const int reg =
        io_uring_register_buffers(&r.ring, iov.data(), static_cast<unsigned>(iov.size()));
    r.fixed = reg == 0;
    if (reg < 0) *reg_err = -reg;
  }
  return 0;
}

class UringBackend final : public StorageBackend {
 public:
  UringBackend(const BackendOptions& o, std::vector<std::string>* notes)
      : opts_(normalized(o)), pool_(opts_.chunk_bytes, opts_.max_inflight_bytes) {
    opts_.io_depth = std::min(opts_.io_depth, kMaxDepth);
    max_rings_ = std::min(pool_.count(), kMaxRings);
    // Fixed-buffer table: the arena in regions of <= 1 GiB (the kernel's per-buffer limit), so a
    // large pool of small chunks still fits the 16,384-entry table.
    per_region_ = static_cast<int>(std::max<std::uint64_t>(1, (1ULL << 30) / pool_.buffer_bytes()));
    for (std::size_t i = 0; i < pool_.count(); i += static_cast<std::size_t>(per_region_)) {
      const std::size_t n = std::min(pool_.count() - i, static_cast<std::size_t>(per_region_));
      iov_.push_back(iovec{pool_.data(static_cast<int>(i)), n * pool_.buffer_bytes()});
    }
    auto first = std::make_unique<Ring>();
    int reg_err = 0;
    const int rc = setup_ring(*first, opts_.io_depth, iov_, true, &reg_err);
    if (rc < 0) {
      init_error_ = -rc;
      return;
    }
    fixed_ = first->fixed;
    if (!fixed_ && notes) {
      notes->push_back(std::string("io_uring fixed buffers refused (") + std::strerror(reg_err) +
                       (reg_err == ENOMEM ? "; raise RLIMIT_MEMLOCK (ulimit -l)" : "") +
                       "): unregistered buffers");
    }
    free_.push_back(first.get());
    rings_.push_back(std::move(first));
  }

  int init_error() const { return init_error_; }

  const char* name() const override { return opts_.direct_io ? "io_uring+direct" : "io_uring"; }
  std::filesystem::path path_for(const std::string& key) const override {
    return object_path(opts_.dir, key);
  }
  bool remove(const std::string& key) override { return remove_object(dir_, key) == 0; }
  std::uint64_t peak_inflight_bytes() const override {
    return pool_.max_outstanding() * pool_.buffer_bytes();
  }

  IoResult write(const ObjectSpec& spec, const PayloadSource& src) override {
    IoResult r;
    const auto path = path_for(spec.key);
    std::int64_t t0 = mono_ns();
    const int fd = create_object(dir_, spec.key, opts_.direct_io);
    std::int64_t host_ns = mono_ns() - t0;
    if (fd < 0) {
      set_failure(r, errno, "open for write", path);
      return r;
    }
    const std::uint64_t hdr = npy_header_size(spec.shape, opts_.direct_io ? kDirectAlign : 64);
    const std::uint64_t file_bytes = hdr + spec.payload_bytes;
    t0 = mono_ns();
    // O_DIRECT: the file gets its (padded) size first. Every chunk then writes inside the file:
    // ext4 performs a direct write that extends the file synchronously, under the inode lock, so
    // without this one object had one chunk in flight at a time (docs/performance.md).
    const int pre = opts_.direct_io ? preallocate(fd, round_up(file_bytes, kDirectAlign)) : 0;
    host_ns += mono_ns() - t0;
    if (pre != 0) {
      ::close(fd);
      remove_object(dir_, spec.key);
      set_failure(r, pre, "preallocate", path);
      return r;
    }
    Op op(*this, fd, /*write=*/true, file_bytes);
    op.spec = &spec;
    op.src = &src;
    op.hdr = hdr;
    int err = op.run();
    std::int64_t device_ns = op.busy_ns;

    t0 = mono_ns();
    if (err == 0 && stopped()) {  // no sync after the deadline: it could outlast the drain
      err = ECANCELED;
      op.why = kStopped;
    }
    if (err == 0 && op.padded && ::ftruncate(fd, static_cast<off_t>(op.file_bytes)) != 0)
      err = errno;
    if (err == 0) err = sync_fd(fd, opts_.sync);
    device_ns += mono_ns() - t0;
    t0 = mono_ns();
    if (::close(fd) != 0 && err == 0) err = errno;
    host_ns += mono_ns() - t0;
    r.timing.host_s = static_cast<double>(host_ns) * 1e-9;
    r.timing.device_s = static_cast<double>(device_ns) * 1e-9;
    r.timing.total_s = r.timing.host_s + r.timing.device_s;
    if (err != 0) {
      remove_object(dir_, spec.key);
      set_failure(r, err, op.why.empty() ? "write" : op.why, path);
      return r;
    }
    r.ok = true;
    r.bytes = spec.payload_bytes;
    return r;
  }

  IoResult read(const ObjectSpec& spec, PayloadSink* sink) override {
    IoResult r;
    const auto path = path_for(spec.key);
    std::int64_t t0 = mono_ns();
    const int fd = open_object(dir_, spec.key, opts_.direct_io);
    int err = fd < 0 ? errno : 0;
    struct stat st {};
    if (err == 0 && !opts_.direct_io) {
      ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
      // Several chunks of the file are read at once: without this hint the kernel's readahead
      // sees scattered offsets (measured: 0.65 -> 1.7 GiB/s, half the CPU per GiB).
      ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    }
    if (err == 0 && ::fstat(fd, &st) != 0) err = errno;
    std::int64_t host_ns = mono_ns() - t0;
    if (err != 0) {
      if (fd >= 0) ::close(fd);
      set_failure(r, err, "open for read", path);
      return r;
    }
    Op op(*this, fd, /*write=*/false, static_cast<std::uint64_t>(st.st_size));
    op.spec = &spec;
    op.sink = sink;
    if (op.file_bytes < spec.payload_bytes + 10) {
      err = EIO;
      op.why = "read (file shorter than its payload: truncated?)";
    } else {
      err = op.run();
    }
    t0 = mono_ns();
    ::close(fd);
    host_ns += mono_ns() - t0;
    r.timing.host_s = static_cast<double>(host_ns) * 1e-9;
    r.timing.device_s = static_cast<double>(op.busy_ns) * 1e-9;
    r.timing.total_s = r.timing.host_s + r.timing.device_s;
    if (err != 0) {
      set_failure(r, err, op.why.empty() ? "read" : op.why, path);
      return r;
    }
    r.ok = true;
    r.bytes = spec.payload_bytes;
    return r;
  }

 private:
  // One object transfer: keeps up to io_depth chunks in flight on a checked-out ring.
  struct Op {
    Op(UringBackend& b, int f, bool w, std::uint64_t size)
        : be(b), fd(f), is_write(w), file_bytes(size) {}
    UringBackend& be;
    int fd;
    bool is_write;
    std::uint64_t file_bytes;
    const ObjectSpec* spec = nullptr;
    const PayloadSource* src = nullptr;  // write
    PayloadSink* sink = nullptr;         // read
    std::uint64_t hdr = 0;               // write: known; read: learned from chunk 0
    bool padded = false;
    std::string why;
    std::int64_t busy_ns = 0;

    std::span<Slot> slots;  // the checked-out ring's scratch
    unsigned inflight = 0;
    unsigned held = 0;              // buffers held
    std::uint64_t next_off = 0;     // next chunk to submit
    std::uint64_t deliver_off = 0;  // reads: next chunk to hand to the sink
    std::int64_t busy_since = 0;
    int err = 0;
    bool stopping = false;  // the stop deadline passed: no new chunks, cancel the in-flight ones
    bool cancel_sent = false;

    int run() {
      Ring* ring = be.acquire_ring();
      const unsigned depth = be.opts_.io_depth;
      slots = ring->slots;
      for (auto& sl : slots) sl = Slot{};
      Slot** batch = ring->batch.data();
      bool broken = false;
      while (true) {
        if (!stopping && be.stopped()) {
          stopping = true;
          if (err == 0) {
            err = ECANCELED;
            why = kStopped;
          }
        }
        if (stopping && !cancel_sent && inflight > io_uring_sq_ready(&ring->ring)) {
          // One request cancels every request of this file on the ring; its own completion
          // carries no slot (user data null) and is skipped when reaped.
          if (io_uring_sqe* sqe = io_uring_get_sqe(&ring->ring)) {
            io_uring_prep_cancel_fd(sqe, fd, IORING_ASYNC_CANCEL_ALL);
            io_uring_sqe_set_data(sqe, nullptr);
            cancel_sent = true;
          }
        }
        // Queue as many chunks as depth and buffers allow: short transfers to finish first.
        unsigned queued = 0;
        for (unsigned i = 0; i < depth && err == 0; ++i) {
          if (slots[i].state == Slot::kRetry && enqueue(*ring, slots[i])) ++inflight;
        }
        while (err == 0 && next_off < file_bytes && inflight < depth) {
          if (be.opts_.stop != nullptr && be.stopped()) break;  // handled at the next round's top
          Slot* s = idle_slot(depth);
          if (!s) break;
          if (s->buf < 0) {
            const auto use = is_write ? BufferPool::Use::kWrite : BufferPool::Use::kRead;
            s->buf = held == 0 ? be.pool_.acquire(use) : be.pool_.try_acquire(use);
            if (s->buf < 0) break;
            ++held;
          }
          prepare(*s);
          if (!enqueue(*ring, *s)) {  // SQ full (cannot happen: SQ >= depth); retry next round
            next_off = s->off;
            break;
          }
          ++inflight;
          batch[queued++] = s;
          if (is_write) {
            // Writes: submit each chunk as soon as it is generated, so the device works on it
            // while the next one is generated (a batch would keep the device idle until the
            // whole batch was generated: depth x chunk bytes at the start of every object).
            stamp(batch, queued);
            queued = 0;
            if (!broken) io_uring_submit(&ring->ring);  // errors: seen by flush() below
          }
        }
        stamp(batch, queued);
        if (const int fatal = broken ? 0 : flush(*ring); fatal != 0) {
          // The kernel refused the ring itself: what it never took will not complete; drain the
          // rest, then drop this ring.
          if (err == 0) err = fatal;
          // (min: the SQ may also hold the stop's cancel request, which is not counted in flight)
          inflight -= std::min(inflight, io_uring_sq_ready(&ring->ring));
          broken = true;
        }
        if (inflight == 0) break;
        if (broken || inflight > io_uring_sq_ready(&ring->ring)) {
          reap(*ring);
        } else {
          ::usleep(100);  // EAGAIN with nothing in the kernel: let it breathe, then resubmit
        }
        if (!is_write) deliver();
        release_spare();
      }
      for (auto& sl : slots) {  // idle buffers and chunks never delivered (after an error)
        if (sl.buf >= 0) be.pool_.release(sl.buf);
        sl.buf = -1;
      }
      if (broken) {
        be.discard_ring(ring);
      } else {
        be.release_ring(ring);
      }
      if (err == 0 && !is_write && deliver_off < file_bytes) {
        err = EIO;
        why = "read (short read)";
      }
      return err;
    }

    // Once no chunk is left to queue (the object's tail, an error or the stop), idle buffers go
    // back to the pool at once, for other operations to use while this one waits for its last
    // chunks (and, for a write, its sync).
    void release_spare() {
      if (next_off < file_bytes && err == 0 && !stopping) return;
      for (auto& sl : slots) {
        if (sl.state != Slot::kIdle || sl.buf < 0) continue;
        be.pool_.release(sl.buf);
        sl.buf = -1;
        --held;
      }
    }

    // The submit time of the `n` chunks just queued (and the start of a busy span).
    void stamp(Slot** batch, unsigned n) {
      if (n == 0) return;
      const std::int64_t now = mono_ns();
      if (inflight == n) busy_since = now;
      for (unsigned i = 0; i < n; ++i) batch[i]->submit_ns = now;
    }

    // Submits everything queued in the SQ. 0, or the errno of a fatal io_uring_enter failure.
    static int flush(Ring& r) {
      while (io_uring_sq_ready(&r.ring) > 0) {
        const int rc = io_uring_submit(&r.ring);
        if (rc == -EINTR) continue;
        if (rc == -EAGAIN || rc == -EBUSY || rc == 0) return 0;  // retry after reaping
        if (rc < 0) return -rc;
      }
      return 0;
    }

    Slot* idle_slot(unsigned depth) {
      Slot* any = nullptr;
      for (unsigned i = 0; i < depth; ++i) {
        Slot& s = slots[i];
        if (s.state != Slot::kIdle) continue;
        if (s.buf >= 0) return &s;
        if (!any) any = &s;
      }
      return any;
    }

    void prepare(Slot& s) {
      const std::uint64_t chunk = be.pool_.buffer_bytes();
      s.off = next_off;
      s.valid = static_cast<std::uint32_t>(std::min(chunk, file_bytes - next_off));
      s.len = s.valid;
      s.done = 0;
      s.submit_ns = 0;
      if (be.opts_.direct_io && s.len % kDirectAlign != 0) {
        s.len = static_cast<std::uint32_t>(round_up(s.len, kDirectAlign));
        padded = is_write;
      }
      next_off += s.valid;
      FillMemo& memo = be.pool_.memo(s.buf);
      if (!is_write) {
        memo.reset();  // the read overwrites the buffer
        return;
      }
      std::byte* p = be.pool_.data(s.buf);
      std::uint64_t skip = 0;
      if (s.off == 0) {
        skip = write_npy_header({p, chunk}, spec->shape, be.opts_.direct_io ? kDirectAlign : 64,
                                spec->dtype);
        memo.overwritten(p, skip);
      }
      const std::uint64_t payload_off = s.off == 0 ? 0 : s.off - hdr;
      src->fill_reusing(payload_off, {p + skip, s.valid - skip}, memo);
    }

    bool enqueue(Ring& ring, Slot& s) {
      io_uring_sqe* sqe = io_uring_get_sqe(&ring.ring);
      if (!sqe) return false;
      std::byte* p = be.pool_.data(s.buf) + s.done;
      const unsigned n = s.len - s.done;
      const auto off = static_cast<__u64>(s.off + s.done);
      if (is_write) {
        if (ring.fixed)
          io_uring_prep_write_fixed(sqe, fd, p, n, off, s.buf / be.per_region_);
        else
          io_uring_prep_write(sqe, fd, p, n, off);
      } else {
        if (ring.fixed)
          io_uring_prep_read_fixed(sqe, fd, p, n, off, s.buf / be.per_region_);
        else
          io_uring_prep_read(sqe, fd, p, n, off);
      }
      io_uring_sqe_set_data(sqe, &s);
      s.state = Slot::kInFlight;
      return true;
    }

    void reap(Ring& ring) {
      io_uring_cqe* cqe = nullptr;
      int rc;
      do {
        if (be.opts_.stop == nullptr || stopping) {
          rc = io_uring_wait_cqe(&ring.ring, &cqe);
        } else {  // wake up at the stop deadline (at the latest every kStopPollNs) to cancel
          const std::int64_t left = be.opts_.stop->deadline() - mono_ns();
          const std::int64_t wait = std::clamp<std::int64_t>(left, 0, kStopPollNs);
          __kernel_timespec ts{wait / 1'000'000'000, wait % 1'000'000'000};
          rc = io_uring_wait_cqe_timeout(&ring.ring, &cqe, &ts);
          if (rc == -ETIME) return;  // nothing completed: the caller re-checks the deadline
        }
      } while (rc == -EINTR);
      if (rc < 0) {  // cannot happen with a healthy ring; fail the op rather than spin
        if (err == 0) err = -rc;
        return;
      }
      unsigned head;
      unsigned seen = 0;
      io_uring_for_each_cqe(&ring.ring, head, cqe) {
        ++seen;
        if (io_uring_cqe_get_data(cqe) == nullptr) continue;  // the stop's cancel request
        Slot& s = *static_cast<Slot*>(io_uring_cqe_get_data(cqe));
        const int res = cqe->res;
        --inflight;
        if (res < 0) {
          if (err == 0) err = -res;
          s.state = Slot::kIdle;
        } else if (res == 0) {
          if (err == 0) {
            err = EIO;
            why = is_write ? "write (no progress)" : "read (unexpected end of file)";
          }
          s.state = Slot::kIdle;
        } else {
          s.done += static_cast<std::uint32_t>(res);
          if (s.done >= s.len || (!is_write && s.done >= s.valid)) {
            if (be.opts_.chunk_observer) {
              be.opts_.chunk_observer->on_chunk(
                  is_write, static_cast<double>(mono_ns() - s.submit_ns) * 1e-9, s.done);
            }
            s.state = is_write ? Slot::kIdle : Slot::kReady;
          } else {
            s.state = Slot::kRetry;  // short transfer: the rest is queued again
          }
        }
      }
      io_uring_cq_advance(&ring.ring, seen);
      if (inflight == 0) busy_ns += mono_ns() - busy_since;
    }

    // Reads: hand completed chunks to the sink in file order; validate the header on chunk 0.
    void deliver() {
      bool progress = true;
      while (progress) {
        progress = false;
        for (auto& s : slots) {
          if (s.state != Slot::kReady || s.off != deliver_off) continue;
          progress = true;
          s.state = Slot::kIdle;
          deliver_off += s.valid;
          if (err != 0) continue;
          const std::byte* p = be.pool_.data(s.buf);
          std::uint64_t skip = 0;
          if (s.off == 0) {
            std::string w;
            hdr = check_header({reinterpret_cast<const char*>(p), s.valid}, *spec, &w);
            if (hdr == 0 || file_bytes != hdr + spec->payload_bytes) {
              err = EIO;
              why = "read (" +
                    (hdr == 0 ? w : "file size does not match header + payload: truncated?") + ")";
              continue;
            }
            skip = hdr;
          }
          if (sink && s.valid > skip) sink->consume(s.off + skip - hdr, {p + skip, s.valid - skip});
        }
      }
    }
  };

  Ring* acquire_ring() {
    std::unique_lock lk(rings_mu_);
    for (;;) {
      if (!free_.empty()) {
        Ring* r = free_.back();
        free_.pop_back();
        return r;
      }
      if (rings_.size() + creating_ < max_rings_) {
        ++creating_;
        lk.unlock();
        auto r = std::make_unique<Ring>();
        int reg_err = 0;
        const int rc = setup_ring(*r, opts_.io_depth, iov_, fixed_, &reg_err);
        const bool usable = rc == 0 && r->fixed == fixed_;
        lk.lock();
        --creating_;
        if (usable) {
          rings_.push_back(std::move(r));
          return rings_.back().get();
        }
        max_rings_ = rings_.size();  // cannot grow further: share the rings we have
        log::debug("io_uring: ring {} not created ({}); using {}", rings_.size() + 1,
                   std::strerror(rc < 0 ? -rc : reg_err), rings_.size());
        continue;
      }
      rings_cv_.wait(lk);
    }
  }

  // A ring whose io_uring_enter failed fatally: never reused (a new one is created on demand).
  void discard_ring(Ring* r) {
    {
      std::lock_guard lk(rings_mu_);
      std::erase_if(rings_, [&](const std::unique_ptr<Ring>& p) { return p.get() == r; });
    }
    rings_cv_.notify_one();
  }

  void release_ring(Ring* r) {
    {
      std::lock_guard lk(rings_mu_);
      free_.push_back(r);
    }
    rings_cv_.notify_one();
  }

  bool stopped() const { return opts_.stop != nullptr && opts_.stop->due(mono_ns()); }

  BackendOptions opts_;
  ObjectDir dir_{opts_.dir};
  BufferPool pool_;
  std::vector<iovec> iov_;
  int per_region_ = 1;  // pool buffers per registered region
  bool fixed_ = false;
  int init_error_ = 0;
  std::mutex rings_mu_;
  std::condition_variable rings_cv_;
  std::vector<std::unique_ptr<Ring>> rings_;
  std::vector<Ring*> free_;
  std::size_t creating_ = 0;
  std::size_t max_rings_ = 1;
};

}  // namespace

std::unique_ptr<StorageBackend> make_uring_backend(const BackendOptions& opts, std::string* why,
                                                   std::vector<std::string>* notes) {
  auto b = std::make_unique<UringBackend>(opts, notes);
  if (b->init_error() != 0) {
    *why = std::string("io_uring_queue_init: ") + std::strerror(b->init_error());
    return nullptr;
  }
  return b;
}

}  // namespace kv::io::detail
