// Autoscaling (docs/workload-modes.md, `--enable-autoscaling`, `--autoscaler-mode`,
// `--target-saturation`, config autoscaler.* and saturation_detection.*). Unlike the reference
// (whose autoscaler only reports), a decision REALLY changes the offered load: the runner applies
// the new user count to the producer, which starts or stops user producers.
//   Sampling (every autoscaler.sample_interval_s, reference 10 s): cumulative throughput = tokens /
//   elapsed (throughput_timeline); storage read/write GiB/s and pseudo-IOPS (bytes / 4 KiB, bytes /
//   16 KiB per second) from the change in the cache's storage-tier byte counters; storage
//   read/write P95 over the cache's cumulative latencies; queue depth. Saturated: the sample two
//   back was under every threshold (read 100 ms, write 50 ms, queue 100) and read P95 rose > 20 ms,
//   write P95 > 10 ms or the queue > 10 since; or any metric is above 1.2 x its threshold.
//   Saturation level (0 until history_window_size samples): over the last window, min(max read P95
//   / read threshold, 1) x (1.0 if throughput CV < 0.1 and the read-P95 slope > 0, else 0.5). QoS
//   mode: 3-sample cooldown after a scale-down (no decision meanwhile); level > 1.1 x target for
//   consecutive_samples_required (2) samples → users × scale_down_factor (0.8); level < 0.9 x
//   target → users × scale_up_factor (1.2); each step changes users by at least 1 (fixed: the
//   reference's integer truncation could not scale up below 5 users); clamped to [min_users,
//   max_users]. Capacity mode: first sample → peak, + clamp(max(int(0.4 users), 5), ≤ 100) users;
//   later a throughput > 1.01 x peak → new peak (peak users = the users that produced it), +
//   clamp(max(int(0.2 users), 5), ≤ 100); otherwise a non-improvement, and after 2 of them "stop":
//   the run ends. Capacity decisions use the throughput of the last interval (ours; the reference's
//   cumulative average lags a load that really changes).
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "engine/run_status.hpp"
#include "engine/workload/stop.hpp"

namespace kv::engine::modes {

struct AutoscalerSettings {
  bool capacity_mode = false;
  double target_saturation = 0.8;
  std::uint32_t min_users = 1, max_users = 10000;
  double scale_up_factor = 1.2, scale_down_factor = 0.8;
  std::uint32_t consecutive_samples = 2;
  std::uint32_t cooldown_samples = 3;
  double read_p95_threshold_ms = 100, write_p95_threshold_ms = 50;
  double queue_depth_threshold = 100;
  std::uint32_t window = 10;  // saturation_detection.history_window_size
  double sample_interval_s = 10;
};

struct AutoscaleSample {
  double elapsed_s = 0;
  double throughput = 0;           // cumulative tokens / elapsed
  double interval_throughput = 0;  // tokens in the last interval / its length
  double read_gibps = 0, write_gibps = 0, read_iops = 0, write_iops = 0;
  double read_p95_ms = 0, write_p95_ms = 0;
  double queue_depth = 0;
};

struct AutoscaleDecision {
  std::string action;  // scale_up, scale_down, hold, cooldown, stop
  std::uint32_t users = 0;
  bool saturated = false;
  double saturation_level = 0;
};

// The decision rules, pure (no clock, no threads): feed samples in order.
class AutoscalePolicy {
 public:
  AutoscalePolicy(AutoscalerSettings s, std::uint32_t initial_users);
  AutoscaleDecision step(const AutoscaleSample& sample);
  std::uint32_t users() const { return users_; }
  double peak_throughput() const { return peak_; }
  std::uint32_t peak_users() const { return peak_users_; }
  bool saturated(const AutoscaleSample& s) const;  // against the history before s
  double saturation_level() const;                 // over the history (including the last sample)

 private:
  AutoscalerSettings s_;
  std::uint32_t users_;
  std::deque<AutoscaleSample> history_;
  std::uint32_t cooldown_ = 0, over_ = 0, non_improvements_ = 0;
  bool first_ = true;
  double peak_ = 0;
  std::uint32_t peak_users_ = 0;
};

// What the monitor reads each sample.
struct MonitorProbe {
  std::function<std::uint64_t()> tokens;  // tokens of completed requests so far
  std::function<std::pair<std::uint64_t, std::uint64_t>()>
      storage_bytes;                                          // storage tier read, written
  std::function<std::pair<double, double>()> storage_p95_ms;  // read, write (cumulative)
  std::function<std::size_t()> queue_depth;
};

class Autoscaler {
 public:
  // `apply` starts/stops producers to reach a user count and returns the active count after it.
  Autoscaler(AutoscalerSettings s, std::uint32_t initial_users, MonitorProbe probe,
             std::function<std::uint32_t(std::uint32_t)> apply, workload::StopFlag& stop);
  ~Autoscaler();
  // Sets the start instant (t0) without a thread (tests drive sample_now themselves).
  void begin(std::int64_t t0_ns);
  // begin(t0_ns) and the sampling thread.
  void start(std::int64_t t0_ns);
  void join();
  // Takes one sample now (the thread calls it every interval; tests call it directly).
  AutoscaleDecision sample_now(std::int64_t now_ns);
  // "autoscaler_capacity" once capacity mode decided to stop.
  std::optional<StopReason> stop_reason() const;

  nlohmann::ordered_json log() const;       // summary.autoscaling_stats
  nlohmann::ordered_json timeline() const;  // throughput_timeline
  // summary.autoscaling_summary; `users_started` = producers that ever ran.
  nlohmann::ordered_json summary(std::uint32_t users_started) const;

 private:
  void loop();
  AutoscalerSettings s_;
  std::uint32_t initial_users_;
  MonitorProbe probe_;
  std::function<std::uint32_t(std::uint32_t)> apply_;
  workload::StopFlag& stop_;
  std::thread thread_;
  std::int64_t t0_ns_ = 0;

  mutable std::mutex mu_;
  AutoscalePolicy policy_;
  std::int64_t last_ns_ = 0;
  std::uint64_t last_tokens_ = 0, last_read_ = 0, last_written_ = 0;
  nlohmann::ordered_json log_ = nlohmann::ordered_json::array();
  nlohmann::ordered_json timeline_ = nlohmann::ordered_json::array();
  std::uint32_t scale_ups_ = 0, scale_downs_ = 0, active_ = 0, max_active_ = 0;
  std::atomic<bool> stop_requested_{false};
};

}  // namespace kv::engine::modes
