// Per-chunk device latency (issue #6 item 2): the storage backend reports every chunk I/O (one
// syscall or SQE) here; we keep one mergeable histogram per direction (no per-sample storage: a
// long run has hundreds of thousands of chunks). Exported as `io.chunk_latency_ms.{read,write}` and
// `latency_histograms.storage_{read,write}_chunk`. It also counts the chunk bytes completed between
// the window's start and its stop instant (`io.window_chunk_bytes`): the I/O path's own bandwidth
// at chunk granularity, as fio counts it, where the run's bandwidths count whole objects
// (docs/performance.md, "Comparing with fio").
#pragma once

#include <algorithm>
#include <cstdint>
#include <mutex>

#include "engine/io/backend.hpp"
#include "engine/metrics/latency.hpp"

namespace kv::engine {

class ChunkLatency final : public io::ChunkObserver {
 public:
  void on_chunk(bool is_write, double seconds, std::uint64_t bytes) override {
    std::lock_guard lk(mu_);
    (is_write ? write_ : read_).add(seconds);
    bytes_[is_write ? 1 : 0] += bytes;
  }
  // The window's bounds (start, then the stop instant): chunk bytes completed in between.
  void mark_window_start() {
    std::lock_guard lk(mu_);
    start_[0] = bytes_[0];
    start_[1] = bytes_[1];
  }
  void mark_window_stop() {
    std::lock_guard lk(mu_);
    stop_[0] = bytes_[0];
    stop_[1] = bytes_[1];
  }
  std::uint64_t window_bytes(bool is_write) const {
    std::lock_guard lk(mu_);
    const int i = is_write ? 1 : 0;
    return stop_[i] - std::min(start_[i], stop_[i]);
  }
  metrics::Histogram read() const {
    std::lock_guard lk(mu_);
    return read_;
  }
  metrics::Histogram write() const {
    std::lock_guard lk(mu_);
    return write_;
  }

 private:
  mutable std::mutex mu_;
  metrics::Histogram read_, write_;
  std::uint64_t bytes_[2] = {0, 0}, start_[2] = {0, 0}, stop_[2] = {0, 0};  // [read, write]
};

}  // namespace kv::engine
