// I/O trace log (`--io-trace-log PATH[.zst]`, docs/workload-modes.md).
//   Header: Timestamp,Operation,Object_Size_Bytes,Tier,Key,Phase[,Latency_ms]
//   * Timestamp: Unix epoch seconds with 6 decimals; Operation: Read | Write; Object_Size_Bytes:
//     bytes as stored (the caller applies TP); Tier: Tier-0 (GPU) | Tier-1 (CPU) | Tier-2 (NVMe);
//     Key: the cache key (quoted only if it holds ',' '"' or a newline); Phase: Prefill | Decode |
//     Evict | Both. Demotions are logged by the caller as a Read+Evict row on the source tier and a
//     Write+Evict row on the destination tier.
//   * Latency_ms (only when options.latency_column, i.e. real-I/O mode): 6 decimals; empty when the
//     row has no measured latency (latency_ms < 0).
//   * A path ending in ".zst" is written as one zstd stream (level 3 by default).
//   Threading: record() may be called from any thread. Rows are formatted outside any lock,
//   appended to a large buffer under a short mutex, and full buffers are written by one background
//   thread, so callers never do file I/O (they only wait if max_pending_buffers are queued).
//   flush() makes every row recorded so far reach the file (a complete zstd block); close() also
//   ends the zstd frame and closes the file; the destructor closes too (errors are then only
//   logged). Errors: open failure -> kv::Error (kFileNotFound / kPermissionDenied / kFailure)
//   naming the flag and path; a write error is reported by the next flush()/close() as
//   kv::Error(kFailure).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

namespace kv::exporter {

enum class IoOp : std::uint8_t { kRead, kWrite };
enum class IoPhase : std::uint8_t { kPrefill, kDecode, kEvict, kBoth };
const char* io_op_name(IoOp op);           // "Read" / "Write"
const char* io_phase_name(IoPhase phase);  // "Prefill" / "Decode" / "Evict" / "Both"

struct IoTraceOptions {
  bool latency_column = false;          // real mode: extra Latency_ms column
  std::size_t buffer_bytes = 1 << 20;   // rows are handed to the writer thread in blocks this big
  std::size_t max_pending_buffers = 8;  // back-pressure: record() waits beyond this
  int zstd_level = 3;
  std::string flag = "--io-trace-log";
};

struct IoTraceRow {
  double timestamp = 0;  // Unix seconds; <= 0 means "now" (wall clock)
  IoOp op = IoOp::kRead;
  std::uint64_t bytes = 0;
  int tier = 0;  // 0 GPU, 1 CPU, 2 NVMe/storage -> "Tier-<n>"
  std::string_view key;
  IoPhase phase = IoPhase::kPrefill;
  double latency_ms = -1;  // < 0: no latency (empty cell)
};

class IoTraceWriter {
 public:
  explicit IoTraceWriter(const std::filesystem::path& path, IoTraceOptions opts = {});
  ~IoTraceWriter();
  IoTraceWriter(const IoTraceWriter&) = delete;
  IoTraceWriter& operator=(const IoTraceWriter&) = delete;

  void record(const IoTraceRow& row);  // ignored after close()
  void flush();
  void close();  // idempotent

  std::uint64_t rows() const;  // rows recorded (header excluded)
  const std::filesystem::path& path() const;
  bool compressed() const;
  bool latency_column() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// True when the name ends in ".zst".
bool is_zstd_path(const std::filesystem::path& path);

}  // namespace kv::exporter
