// Per-second time series of bytes and ops per tier and direction (contract; owned by the metrics
// work). Lock-free adds (atomics into fixed per-second slots, grown in blocks); start() fixes t0.
// Each row may also carry gauges (queue depth, tier occupancy): values sampled once per second, not
// sums (docs/metrics.md, "timeseries"). GaugeSampler decides which row a sample belongs to.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

namespace kv::metrics {

enum class SeriesTier : int { kGpu = 0, kCpu = 1, kStorage = 2 };
enum class SeriesDir : int { kRead = 0, kWrite = 1 };

// The gauges of a row, in column order; gauge_key() is the row's key.
enum class Gauge : int {
  kQueueDepth = 0,          // queue_depth: requests waiting in the request queue
  kRequestsInService = 1,   // requests_in_service: requests a worker holds (dequeued, not done)
  kStorageOpsInFlight = 2,  // storage_ops_in_flight: object reads + writes inside the backend
  kGpuUsedBytes = 3,        // gpu_used_bytes: bytes the cache accounts to the tier
  kCpuUsedBytes = 4,        // cpu_used_bytes
  kStorageUsedBytes = 5,    // storage_used_bytes
};
inline constexpr int kGaugeCount = 6;
const char* gauge_key(Gauge g);
// One sample of every gauge; nullopt = the run has no such thing (e.g. no GPU tier): no column.
using GaugeValues = std::array<std::optional<std::uint64_t>, kGaugeCount>;

// Number of per-second rows of a window that lasted `elapsed_ns`: ceil(elapsed / 1 s).
std::uint32_t rows_for(std::int64_t elapsed_ns);

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
  // Highest second index touched by add()/set_gauge()/merge_json() plus one (0 when nothing was
  // recorded).
  std::uint32_t seconds_used() const;
  // Stores the gauges' values of row `second` (present values only; seconds past max_seconds are
  // dropped). Once a gauge was set, to_json() writes its column in every row: the value, or null
  // for a row that never got a sample. merge_json() adds a rank's gauge values to this row's (the
  // cluster's total); a null or absent value adds nothing.
  void set_gauges(std::uint32_t second, const GaugeValues& values);

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// Samples the gauges once per second of the window into a TimeSeries: row t gets the values at the
// end of its second (the first tick at or after t0 + (t + 1) s), the last, partial row the values
// at the stop instant (which also count for the whole second that ended just before it, when no
// tick sampled that one). A tick that comes more than a second late samples only the latest second
// that ended; the seconds it skipped stay null (never a copy of a value that was not read then).
// Not thread-safe: one thread (the run loop) calls start, tick and stop.
class GaugeSampler {
 public:
  using Reader = std::function<GaugeValues()>;
  GaugeSampler(TimeSeries& series, Reader read) : series_(series), read_(std::move(read)) {}
  void start(std::int64_t t0_ns);
  // Samples (calls the reader once) when a second of the window ended since the last sample.
  // Returns the row sampled, if any.
  std::optional<std::uint32_t> tick(std::int64_t now_ns);
  // At the stop instant: samples the last row (rows_for(stop - t0) - 1) unless it has a sample,
  // and the last whole second if it ended unsampled. Returns the last row, if sampled.
  std::optional<std::uint32_t> stop(std::int64_t stop_ns);

 private:
  TimeSeries& series_;
  Reader read_;
  std::int64_t t0_ = 0;
  bool started_ = false;
  std::uint32_t next_ = 0;  // rows below next_ are sampled or skipped
};

}  // namespace kv::metrics
