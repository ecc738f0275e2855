// Per-chunk device latency (issue #6 item 2): the storage backend reports every chunk I/O (one
// syscall or SQE) here; we keep one mergeable histogram per direction (no per-sample storage: a
// long run has hundreds of thousands of chunks). Exported as `io.chunk_latency_ms.{read,write}` and
// `latency_histograms.storage_{read,write}_chunk`.
#pragma once

#include <mutex>

#include "engine/io/backend.hpp"
#include "engine/metrics/latency.hpp"

namespace kv::engine {

class ChunkLatency final : public io::ChunkObserver {
 public:
  void on_chunk(bool is_write, double seconds, std::uint64_t /*bytes*/) override {
    std::lock_guard lk(mu_);
    (is_write ? write_ : read_).add(seconds);
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
};

}  // namespace kv::engine
