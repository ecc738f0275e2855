// The per-second gauges of the results' `timeseries` rows (docs/metrics.md, "timeseries"): queue
// depth, requests in service, storage operations in flight and the bytes each tier holds, read by
// the run loop (on_tick, about every 50 ms) once per second of the window and once more at the
// stop instant for the last, partial second (metrics::GaugeSampler). Reading them takes the
// request queue's lock and the cache's usage lock once per second, nothing on the workers' path
// but two relaxed atomic adds per request and per storage operation.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>

#include "engine/io/backend.hpp"
#include "engine/metrics/timeseries.hpp"
#include "engine/run/observer.hpp"

namespace kv::engine::run {

class Gauges final : public RunObserver {
 public:
  void on_window_start(RunState& s) override;
  void on_tick(const RunState& s, std::int64_t now_ns) override;
  void on_stop(const RunState& s) override;  // before the queue is closed: its depth at the stop

 private:
  std::optional<metrics::GaugeSampler> sampler_;
};

// The gauges of a run now (null for what the run does not have: a GPU tier, real storage I/O).
metrics::GaugeValues read_gauges(const RunState& s);

// A backend decorator counting the object reads and writes inside `inner` in `in_flight`, which
// must outlive it.
std::unique_ptr<io::StorageBackend> count_in_flight(std::unique_ptr<io::StorageBackend> inner,
                                                    std::atomic<std::uint32_t>& in_flight);

}  // namespace kv::engine::run
