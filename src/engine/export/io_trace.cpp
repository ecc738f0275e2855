#include "engine/export/io_trace.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>
#include <zstd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/log.hpp"

namespace kv::exporter {

const char* io_op_name(IoOp op) {
  return op == IoOp::kRead ? "Read" : "Write";
}

const char* io_phase_name(IoPhase phase) {
  switch (phase) {
    case IoPhase::kPrefill: return "Prefill";
    case IoPhase::kDecode: return "Decode";
    case IoPhase::kEvict: return "Evict";
    case IoPhase::kBoth: return "Both";
  }
  return "Both";
}

bool is_zstd_path(const std::filesystem::path& path) {
  return path.string().ends_with(".zst");
}

namespace {
ExitCode code_for_errno(int e) {
  if (e == ENOENT || e == ENOTDIR) return ExitCode::kFileNotFound;
  if (e == EACCES || e == EPERM || e == EROFS) return ExitCode::kPermissionDenied;
  return ExitCode::kFailure;
}

bool needs_quotes(std::string_view s) {
  return s.find_first_of(",\"\r\n") != std::string_view::npos;
}
}  // namespace

struct IoTraceWriter::Impl {
  std::filesystem::path path;
  IoTraceOptions opts;
  bool zstd = false;
  int fd = -1;
  ZSTD_CCtx* cctx = nullptr;
  std::vector<char> zout;  // compressed output staging (writer thread only)

  std::mutex mu;
  std::condition_variable cv_work;   // writer waits for buffers / flush / close
  std::condition_variable cv_space;  // producers wait for a free slot; flush() waits for completion
  std::string cur;                   // rows being filled
  std::deque<std::string> pending;   // full buffers, in order
  std::vector<std::string> spare;
  bool flush_requested = false;
  std::uint64_t flush_done = 0;  // completed flush generations
  std::uint64_t flush_asked = 0;
  bool closing = false;
  bool closed = false;
  std::string error;  // first write error (guarded by mu)
  std::atomic<std::uint64_t> rows{0};
  std::thread writer;

  // ---- writer-thread side: raw output ----
  void write_all(const char* p, std::size_t n, std::string& err) {
    while (n > 0 && err.empty()) {
      const ssize_t w = ::write(fd, p, n);
      if (w < 0) {
        if (errno == EINTR) continue;
        err = opts.flag + ": cannot write " + path.string() + ": " + std::strerror(errno);
        return;
      }
      p += w;
      n -= static_cast<std::size_t>(w);
    }
  }

  void compress(const char* p, std::size_t n, ZSTD_EndDirective mode, std::string& err) {
    ZSTD_inBuffer in{p, n, 0};
    for (;;) {
      ZSTD_outBuffer out{zout.data(), zout.size(), 0};
      const std::size_t rc = ZSTD_compressStream2(cctx, &out, &in, mode);
      if (ZSTD_isError(rc)) {
        err = opts.flag + ": zstd error on " + path.string() + ": " + ZSTD_getErrorName(rc);
        return;
      }
      write_all(zout.data(), out.pos, err);
      if (!err.empty()) return;
      const bool input_done = in.pos == in.size;
      if (mode == ZSTD_e_continue ? input_done : (input_done && rc == 0)) return;
    }
  }

  void sink(const std::string& buf, std::string& err) {
    if (!err.empty() || buf.empty()) return;
    if (zstd) {
      compress(buf.data(), buf.size(), ZSTD_e_continue, err);
    } else {
      write_all(buf.data(), buf.size(), err);
    }
  }

  void run() {
    std::string err;  // writer-local copy; published under mu
    std::unique_lock lk(mu);
    for (;;) {
      cv_work.wait(lk, [&] { return !pending.empty() || flush_requested || closing; });
      if (!pending.empty()) {
        std::string buf = std::move(pending.front());
        pending.pop_front();
        lk.unlock();
        sink(buf, err);
        buf.clear();
        lk.lock();
        if (!err.empty() && error.empty()) error = err;
        spare.push_back(std::move(buf));
        cv_space.notify_all();
        continue;
      }
      if (flush_requested) {
        const std::uint64_t gen = flush_asked;
        flush_requested = false;
        lk.unlock();
        if (zstd && err.empty()) compress(nullptr, 0, ZSTD_e_flush, err);
        lk.lock();
        if (!err.empty() && error.empty()) error = err;
        flush_done = gen;
        cv_space.notify_all();
        continue;
      }
      // closing and nothing left
      lk.unlock();
      if (zstd && err.empty()) compress(nullptr, 0, ZSTD_e_end, err);
      lk.lock();
      if (!err.empty() && error.empty()) error = err;
      return;
    }
  }

  // ---- producer side (mu held) ----
  void hand_off_locked(std::unique_lock<std::mutex>& lk) {
    pending.push_back(std::move(cur));
    if (!spare.empty()) {
      cur = std::move(spare.back());
      spare.pop_back();
    } else {
      cur = std::string();
      cur.reserve(opts.buffer_bytes + 512);
    }
    cv_work.notify_one();
    cv_space.wait(lk, [&] { return pending.size() <= opts.max_pending_buffers; });
  }
};

IoTraceWriter::IoTraceWriter(const std::filesystem::path& path, IoTraceOptions opts)
    : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.path = path;
  m.opts = std::move(opts);
  if (m.opts.buffer_bytes < 4096) m.opts.buffer_bytes = 4096;
  if (m.opts.max_pending_buffers == 0) m.opts.max_pending_buffers = 1;
  m.zstd = is_zstd_path(path);
  m.fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (m.fd < 0) {
    const int e = errno;
    throw Error(code_for_errno(e),
                m.opts.flag + ": cannot create " + path.string() + ": " + std::strerror(e));
  }
  if (m.zstd) {
    m.cctx = ZSTD_createCCtx();
    if (m.cctx == nullptr ||
        ZSTD_isError(ZSTD_CCtx_setParameter(m.cctx, ZSTD_c_compressionLevel, m.opts.zstd_level))) {
      if (m.cctx != nullptr) ZSTD_freeCCtx(m.cctx);
      ::close(m.fd);
      throw Error(ExitCode::kFailure,
                  m.opts.flag + ": cannot set up zstd compression for " + path.string());
    }
    m.zout.resize(ZSTD_CStreamOutSize());
  }
  m.cur.reserve(m.opts.buffer_bytes + 512);
  m.cur += "Timestamp,Operation,Object_Size_Bytes,Tier,Key,Phase";
  if (m.opts.latency_column) m.cur += ",Latency_ms";
  m.cur += '\n';
  m.writer = std::thread([&m] { m.run(); });
}

IoTraceWriter::~IoTraceWriter() {
  try {
    close();
  } catch (const std::exception& e) {
    log::error("{}", e.what());
  }
}

void IoTraceWriter::record(const IoTraceRow& row) {
  Impl& m = *impl_;
  const double ts = row.timestamp > 0 ? row.timestamp : wall_s();
  fmt::memory_buffer line;  // inline storage: no heap for ordinary keys
  fmt::format_to(std::back_inserter(line), "{:.6f},{},{},Tier-{},", ts, io_op_name(row.op),
                 row.bytes, row.tier);
  if (needs_quotes(row.key)) {
    line.push_back('"');
    for (char c : row.key) {
      if (c == '"') line.push_back('"');
      line.push_back(c);
    }
    line.push_back('"');
  } else {
    line.append(row.key.data(), row.key.data() + row.key.size());
  }
  line.push_back(',');
  const char* phase = io_phase_name(row.phase);
  line.append(phase, phase + std::strlen(phase));
  if (m.opts.latency_column) {
    line.push_back(',');
    if (row.latency_ms >= 0) fmt::format_to(std::back_inserter(line), "{:.6f}", row.latency_ms);
  }
  line.push_back('\n');

  std::unique_lock lk(m.mu);
  if (m.closing || m.closed) return;
  m.cur.append(line.data(), line.size());
  m.rows.fetch_add(1, std::memory_order_relaxed);
  if (m.cur.size() >= m.opts.buffer_bytes) m.hand_off_locked(lk);
}

void IoTraceWriter::flush() {
  Impl& m = *impl_;
  std::unique_lock lk(m.mu);
  if (m.closing || m.closed) return;
  if (!m.cur.empty()) {
    m.pending.push_back(std::move(m.cur));
    m.cur = std::string();
    m.cur.reserve(m.opts.buffer_bytes + 512);
  }
  const std::uint64_t gen = ++m.flush_asked;
  m.flush_requested = true;
  m.cv_work.notify_one();
  m.cv_space.wait(lk, [&] { return m.flush_done >= gen; });
  if (!m.error.empty()) throw Error(ExitCode::kFailure, m.error);
}

void IoTraceWriter::close() {
  Impl& m = *impl_;
  {
    std::unique_lock lk(m.mu);
    if (m.closed || m.closing) return;
    if (!m.cur.empty()) m.pending.push_back(std::move(m.cur));
    m.closing = true;
    m.cv_work.notify_one();
  }
  if (m.writer.joinable()) m.writer.join();
  std::string err;
  {
    std::lock_guard lk(m.mu);
    m.closed = true;
    err = m.error;
  }
  if (m.cctx != nullptr) {
    ZSTD_freeCCtx(m.cctx);
    m.cctx = nullptr;
  }
  if (m.fd >= 0) {
    if (::close(m.fd) != 0 && err.empty()) {
      err = m.opts.flag + ": cannot close " + m.path.string() + ": " + std::strerror(errno);
    }
    m.fd = -1;
  }
  if (!err.empty()) throw Error(ExitCode::kFailure, err);
}

std::uint64_t IoTraceWriter::rows() const {
  return impl_->rows.load(std::memory_order_relaxed);
}
const std::filesystem::path& IoTraceWriter::path() const {
  return impl_->path;
}
bool IoTraceWriter::compressed() const {
  return impl_->zstd;
}
bool IoTraceWriter::latency_column() const {
  return impl_->opts.latency_column;
}

}  // namespace kv::exporter
