// Per-second time series of bytes and ops per tier and direction (contract; owned by the metrics
// work). Lock-free adds (atomics into fixed per-second slots, grown in blocks); start() fixes t0.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <vector>

namespace kv::metrics {

enum class SeriesTier : int { kGpu = 0, kCpu = 1, kStorage = 2 };
enum class SeriesDir : int { kRead = 0, kWrite = 1 };

class TimeSeries {
 public:
  explicit TimeSeries(std::uint32_t max_seconds = 7 * 24 * 3600);
  void start(std::int64_t t0_mono_ns);
  // Records `bytes` (one op) at monotonic time `t_mono_ns`. Ignored before start().
  void add(SeriesTier tier, SeriesDir dir, std::uint64_t bytes, std::int64_t t_mono_ns);
  // [{ "t": second_index, "gpu_read_bytes":..., "gpu_read_ops":..., ... "storage_write_ops":... }]
  nlohmann::json to_json(std::uint32_t seconds) const;
  // Sums another series (same second indexing, i.e. aligned windows) into this one.
  void merge_json(const nlohmann::json& other);
  // Highest second index touched by add()/merge_json() plus one (0 when nothing was recorded).
  std::uint32_t seconds_used() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace kv::metrics
