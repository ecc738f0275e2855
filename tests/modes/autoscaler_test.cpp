// Autoscaling (docs/workload-modes.md): the saturation detector and level, the QoS rules
// (consecutive samples, cooldown, factors, at least one user per step, clamps) and the capacity
// rules (steps, peak, stop after 2 non-improvements); the Autoscaler applies each decision to the
// producers and exports the log, the throughput timeline and the summary.
#include "engine/modes/autoscaler.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "core/clock.hpp"

using namespace kv::engine::modes;

namespace {

AutoscaleSample sample(double read_p95, double tp = 100, double write_p95 = 0, double queue = 0) {
  AutoscaleSample s;
  s.read_p95_ms = read_p95;
  s.write_p95_ms = write_p95;
  s.queue_depth = queue;
  s.throughput = tp;
  s.interval_throughput = tp;
  return s;
}

}  // namespace

TEST(AutoscalePolicy, SaturationLevelNeedsAFullWindow) {
  AutoscalerSettings s;
  AutoscalePolicy p(s, 10);
  for (int i = 0; i < 9; ++i) EXPECT_EQ(p.step(sample(50 + i)).saturation_level, 0.0) << i;
  // 10th sample: max read P95 59 of 100 → 0.59; constant throughput (CV 0) and rising latency →
  // × 1.0.
  EXPECT_NEAR(p.step(sample(59)).saturation_level, 0.59, 1e-9);
}

TEST(AutoscalePolicy, SaturationLevelHalvedWithoutARisingTrend) {
  AutoscalerSettings s;
  AutoscalePolicy p(s, 10);
  AutoscaleDecision d;
  for (int i = 0; i < 10; ++i) d = p.step(sample(150 - i));  // falling latency, capped ratio 1
  EXPECT_NEAR(d.saturation_level, 0.5, 1e-9);
  AutoscalePolicy q(s, 10);
  for (int i = 0; i < 10; ++i)
    d = q.step(sample(40 + i, i % 2 ? 100 : 140));  // rising, but CV >= 0.1
  EXPECT_NEAR(d.saturation_level, 0.49 * 0.5, 1e-9);
}

TEST(AutoscalePolicy, SaturatedByRiseFromBelowOrAboveThresholds) {
  AutoscalerSettings s;
  AutoscalePolicy p(s, 10);
  p.step(sample(10));
  p.step(sample(10));
  EXPECT_TRUE(p.saturated(sample(31)));  // +21 ms since the sample two back
  EXPECT_FALSE(p.saturated(sample(29)));
  EXPECT_TRUE(p.saturated(sample(10, 100, 21)));     // write +11 ms
  EXPECT_TRUE(p.saturated(sample(10, 100, 0, 11)));  // queue +11
  EXPECT_TRUE(p.saturated(sample(121)));             // above 1.2 × 100 ms
  AutoscalePolicy fresh(s, 10);
  EXPECT_FALSE(fresh.saturated(sample(99)));
  EXPECT_TRUE(fresh.saturated(sample(10, 100, 0, 121)));
}

TEST(AutoscalePolicy, QosModeScalesUpBelowTargetEvenFromOneUser) {
  AutoscalerSettings s;
  s.max_users = 8;
  AutoscalePolicy p(s, 1);
  std::vector<std::uint32_t> users;
  for (int i = 0; i < 9; ++i) {
    const auto d = p.step(sample(1));  // level 0 < 0.9 × 0.8
    users.push_back(d.users);
  }
  // +1 while 1.2 × users truncates to users (the reference could not leave 1..4), then ×1.2, capped
  // at 8.
  EXPECT_EQ(users, (std::vector<std::uint32_t>{2, 3, 4, 5, 6, 7, 8, 8, 8}));
}

TEST(AutoscalePolicy, QosModeScalesDownAfterConsecutiveSamplesThenCoolsDown) {
  AutoscalerSettings s;
  s.target_saturation = 0.5;
  AutoscalePolicy p(s, 20);
  for (int i = 0; i < 9; ++i) p.step(sample(200 + i));  // level 0 → scale up meanwhile
  const std::uint32_t before = p.users();
  auto d = p.step(sample(220));  // level 1.0 > 1.1 × 0.5: first over-target sample
  EXPECT_EQ(d.action, "hold");
  EXPECT_EQ(d.users, before);
  d = p.step(sample(230));  // second consecutive: scale down × 0.8
  EXPECT_EQ(d.action, "scale_down");
  EXPECT_EQ(d.users, static_cast<std::uint32_t>(before * 0.8));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(p.step(sample(240 + i)).action, "cooldown");
  EXPECT_EQ(p.step(sample(250)).action, "hold");
  EXPECT_EQ(p.step(sample(260)).action, "scale_down");
}

TEST(AutoscalePolicy, QosModeRespectsMinUsersAndConfiguredFactors) {
  AutoscalerSettings s;
  s.target_saturation = 0.1;
  s.min_users = 2;
  s.scale_down_factor = 0.5;
  s.consecutive_samples = 1;
  s.window = 2;
  AutoscalePolicy p(s, 3);
  p.step(sample(500));  // 1 sample: level 0 → scale up to 4
  EXPECT_EQ(p.users(), 4u);
  EXPECT_EQ(p.step(sample(600)).users, 2u);  // level 1: 4 × 0.5
  for (int i = 0; i < 3; ++i) p.step(sample(700));
  EXPECT_EQ(p.step(sample(800)).users, 2u);  // never below min_users
}

TEST(AutoscalePolicy, CapacityModeStepsPeakAndStop) {
  AutoscalerSettings s;
  s.capacity_mode = true;
  s.max_users = 1000;
  AutoscalePolicy p(s, 10);
  auto d = p.step(sample(1, 100));
  EXPECT_EQ(d.action, "scale_up");
  EXPECT_EQ(d.users, 15u);  // + max(int(0.4 × 10), 5)
  d = p.step(sample(1, 200));
  EXPECT_EQ(d.users, 20u);  // + max(int(0.2 × 15), 5)
  EXPECT_EQ(p.peak_users(), 15u);
  d = p.step(sample(1, 201));  // not > 1.01 × 200
  EXPECT_EQ(d.action, "hold");
  d = p.step(sample(1, 500));
  EXPECT_EQ(d.action, "scale_up");
  EXPECT_EQ(p.peak_users(), 20u);
  EXPECT_EQ(p.peak_throughput(), 500);
  EXPECT_EQ(p.step(sample(1, 400)).action, "hold");
  EXPECT_EQ(p.step(sample(1, 400)).action, "stop");

  AutoscalePolicy big(s, 600);
  EXPECT_EQ(big.step(sample(1, 1)).users, 700u);  // step capped at 100
}

TEST(Autoscaler, AppliesDecisionsToProducersAndExports) {
  AutoscalerSettings s;
  s.max_users = 6;
  std::uint64_t tokens = 0;
  std::vector<std::uint32_t> applied;
  MonitorProbe probe;
  probe.tokens = [&] { return tokens; };
  probe.storage_bytes = [&] {
    return std::pair<std::uint64_t, std::uint64_t>(tokens * 4096, tokens * 16384);
  };
  probe.storage_p95_ms = [] { return std::pair<double, double>(5.0, 7.0); };
  probe.queue_depth = [] { return std::size_t{3}; };
  kv::workload::StopFlag stop;
  Autoscaler a(
      s, 2, probe,
      [&](std::uint32_t n) {
        applied.push_back(n);
        return n;
      },
      stop);
  a.begin(0);
  for (int i = 1; i <= 6; ++i) {
    tokens += 1000;
    a.sample_now(static_cast<std::int64_t>(i) * 1'000'000'000);
  }
  EXPECT_EQ(applied, (std::vector<std::uint32_t>{3, 4, 5, 6}));
  const auto log = a.log();
  ASSERT_EQ(log.size(), 6u);
  EXPECT_EQ(log[0]["action"], "scale_up");
  EXPECT_EQ(log[0]["users"], 3);
  EXPECT_EQ(log[0]["previous_users"], 2);
  EXPECT_EQ(log[0]["active_producers"], 3);
  EXPECT_EQ(log[0]["mode"], "qos");
  EXPECT_EQ(log[0]["read_latency_p95_ms"], 5.0);
  EXPECT_EQ(log[0]["write_latency_p95_ms"], 7.0);
  EXPECT_DOUBLE_EQ(log[0]["throughput_tokens_per_sec"].get<double>(), 1000.0);
  EXPECT_DOUBLE_EQ(log[1]["interval_throughput"].get<double>(), 1000.0);
  EXPECT_DOUBLE_EQ(log[1]["read_iops"].get<double>(), 1000.0);  // 1000 × 4 KiB per second / 4 KiB
  EXPECT_DOUBLE_EQ(log[1]["write_iops"].get<double>(),
                   1000.0);  // 1000 × 16 KiB per second / 16 KiB
  EXPECT_EQ(log[5]["action"], "hold");
  EXPECT_EQ(log[0]["timestamp"].get<std::string>().size(), 19u);  // ISO yyyy-mm-ddThh:mm:ss
  const auto tl = a.timeline();
  ASSERT_EQ(tl.size(), 6u);
  EXPECT_DOUBLE_EQ(tl[2]["timestamp"].get<double>(), 3.0);
  EXPECT_DOUBLE_EQ(tl[2]["throughput_tokens_per_sec"].get<double>(), 1000.0);
  const auto sum = a.summary(5);
  EXPECT_EQ(sum["initial_users"], 2);
  EXPECT_EQ(sum["final_users"], 6);
  EXPECT_EQ(sum["total_scale_events"], 4);
  EXPECT_EQ(sum["offered_load_scaled"], true);
  EXPECT_EQ(sum["max_active_producers"], 6);
  EXPECT_EQ(sum["producers_started"], 5);
  EXPECT_FALSE(sum.contains("peak_user_count"));
  EXPECT_FALSE(a.stop_reason().has_value());
}

TEST(Autoscaler, CapacityStopEndsTheRunAndReportsThePeak) {
  AutoscalerSettings s;
  s.capacity_mode = true;
  s.max_users = 100;
  std::uint64_t tokens = 0;
  MonitorProbe probe;
  probe.tokens = [&] { return tokens; };
  kv::workload::StopFlag stop;
  Autoscaler a(
      s, 5, probe, [](std::uint32_t n) { return n; }, stop);
  a.begin(0);
  const std::uint64_t per_interval[] = {100, 300, 200, 200};
  for (int i = 0; i < 4; ++i) {
    tokens += per_interval[i];
    a.sample_now(static_cast<std::int64_t>(i + 1) * 1'000'000'000);
  }
  EXPECT_EQ(a.stop_reason(), kv::engine::StopReason::kAutoscalerCapacity);
  const auto sum = a.summary(0);
  EXPECT_EQ(sum["peak_user_count"], 10);  // 5 → 10 at the first sample; 300 tok/s measured with 10
  EXPECT_DOUBLE_EQ(sum["peak_throughput_tokens_per_sec"].get<double>(), 300.0);
  EXPECT_EQ(sum["stopped_at_capacity"], true);
  EXPECT_EQ(a.log().back()["action"], "stop");
  EXPECT_DOUBLE_EQ(a.log().back()["peak_throughput_tokens_per_sec"].get<double>(), 300.0);
  // Reference count: the two scale-ups (first and second sample) and the stop.
  EXPECT_EQ(sum["total_scale_events"], 3);
}

TEST(Autoscaler, ThreadSamplesEveryIntervalUntilStop) {
  AutoscalerSettings s;
  s.sample_interval_s = 0.05;
  s.max_users = 3;
  kv::workload::StopFlag stop;
  std::atomic<std::uint32_t> last{0};
  Autoscaler a(
      s, 1, MonitorProbe{},
      [&](std::uint32_t n) {
        last = n;
        return n;
      },
      stop);
  a.start(kv::mono_ns());
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  stop.request_stop();
  a.join();
  EXPECT_GE(a.log().size(), 4u);
  EXPECT_LE(a.log().size(), 9u);
  EXPECT_EQ(last.load(), 3u);
}
