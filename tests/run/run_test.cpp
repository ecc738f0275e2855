// The run's phases and observers (engine/run/run.hpp, observer.hpp), run in-process on a temp
// cache directory with a tiny model; and the run loop on a ManualClock (no sleeping).
#include "engine/run/run.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/manual_clock.hpp"
#include "engine/config/flags.hpp"
#include "engine/run/observer.hpp"
#include "engine/run/state.hpp"
#include "support/temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
using kv::engine::StopReason;
using kv::engine::run::RunObserver;
using kv::engine::run::RunPlan;
using kv::engine::run::RunState;
using kv::testsupport::TempDir;

RunPlan plan_for(const TempDir& dir, std::vector<std::string> extra) {
  std::vector<std::string> args = {"kv-cache",    "--model",
                                   "tiny-1b",     "--num-users",
                                   "2",           "--gpu-mem-gb",
                                   "0",           "--cpu-mem-gb",
                                   "0",           "--generation-mode",
                                   "none",        "--seed",
                                   "7",           "--quiet",
                                   "--cache-dir", (dir.path / "cache").string(),
                                   "--output",    (dir.path / "out.json").string()};
  args.insert(args.end(), extra.begin(), extra.end());
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  RunPlan plan;
  plan.config = kv::engine::parse_flags(static_cast<int>(argv.size()), argv.data()).config;
  plan.model = kv::model::ModelTable::builtin().get("tiny-1b", "--model");
  return plan;
}

// The exit code of an uninterrupted run with no failed request: 0, or 6 when it completed no
// request (the nothing-measured rule, docs/safety.md).
int expected_exit(const nlohmann::ordered_json& results) {
  return results.value("requests_completed", std::uint64_t{0}) > 0 ? 0 : 6;
}

// Records every event it sees, in order (the per-request event only counted).
class EventLog final : public RunObserver {
 public:
  void on_prepare(RunState&) override { add("prepare"); }
  void before_window(RunState&) override { add("before_window"); }
  void on_window_start(RunState& s) override {
    add("window_start");
    t0 = s.t0_ns;
  }
  void on_request_done(const kv::workload::Request&, bool) override { ++requests_done; }
  std::optional<StopReason> stop_reason(const RunState&) const override {
    if (stop_after_ticks > 0 && ticks.size() >= stop_after_ticks)
      return StopReason::kReplayComplete;
    return std::nullopt;
  }
  void on_tick(const RunState&, std::int64_t now_ns) override {
    if (ticks.empty()) add("tick");
    ticks.push_back(now_ns);
  }
  void on_stop(const RunState&) override { add("stop"); }
  void on_finish(RunState&) override { add("finish"); }
  bool owns_output() const override { return own_output; }
  void after_output(const nlohmann::ordered_json&, const kv::engine::RunData&,
                    bool wrote) override {
    add(wrote ? "after_output(summary)" : "after_output");
  }
  int on_results(const nlohmann::ordered_json& results, const kv::engine::RunData&,
                 int code) override {
    add("results");
    seen_results = results;
    return code + code_offset;
  }

  std::vector<std::string> events;
  std::vector<std::int64_t> ticks;
  std::int64_t t0 = 0;
  std::atomic<std::uint64_t> requests_done{0};
  std::size_t stop_after_ticks = 0;
  bool own_output = false;
  int code_offset = 0;
  nlohmann::ordered_json seen_results;

 private:
  void add(const std::string& e) {
    std::lock_guard lk(mu_);
    events.push_back(e);
  }
  std::mutex mu_;
};

TEST(Run, ObserverSeesThePhasesInOrderAndItsStopReasonEndsTheWindow) {
  TempDir dir;
  EventLog log;
  log.stop_after_ticks = 3;
  RunPlan plan = plan_for(dir, {"--duration", "600"});
  plan.observers.push_back(&log);
  const int code = kv::engine::run::run_benchmark(plan);
  const std::vector<std::string> expected = {
      "prepare", "before_window", "window_start",          "tick",
      "stop",    "finish",        "after_output(summary)", "results"};
  EXPECT_EQ(log.events, expected);
  EXPECT_EQ(log.ticks.size(), 3u);
  EXPECT_EQ(log.seen_results.value("stop_reason", std::string()), "replay_complete")
      << log.seen_results["summary"].dump();
  EXPECT_GE(log.requests_done.load(),
            log.seen_results.value("requests_completed", std::uint64_t{0}));
  EXPECT_TRUE(fs::exists(dir.path / "out.json"));
  // 3 ticks may end before a request completes: such a run measured nothing and fails.
  EXPECT_EQ(code, expected_exit(log.seen_results));
}

TEST(Run, AnObserverThatOwnsTheOutputReplacesTheFileAndMayChangeTheExitCode) {
  TempDir dir;
  EventLog log;
  log.stop_after_ticks = 1;
  log.own_output = true;
  log.code_offset = 5;
  RunPlan plan = plan_for(dir, {"--duration", "600"});
  plan.observers.push_back(&log);
  EXPECT_EQ(kv::engine::run::run_benchmark(plan), 5);
  EXPECT_FALSE(fs::exists(dir.path / "out.json"));
  EXPECT_EQ(log.events.back(), "results");
  EXPECT_NE(std::find(log.events.begin(), log.events.end(), "after_output"), log.events.end());
}

class Canceller final : public RunObserver {
 public:
  void before_window(RunState&) override {
    throw kv::Error(kv::ExitCode::kFailure, "run cancelled: test");
  }
  void on_window_start(RunState&) override { started = true; }
  bool started = false;
};

TEST(Run, BeforeWindowMayCancelTheRunBeforeAnythingIsMeasured) {
  TempDir dir;
  Canceller c;
  RunPlan plan = plan_for(dir, {"--duration", "600"});
  plan.observers.push_back(&c);
  EXPECT_THROW(kv::engine::run::run_benchmark(plan), kv::Error);
  EXPECT_FALSE(c.started);
  EXPECT_FALSE(fs::exists(dir.path / "out.json"));
}

// The clock seam: an hour-long window on a ManualClock runs without sleeping; the run loop ticks
// every 50 ms of clock time and stops exactly at --duration.
TEST(Run, WindowOnAManualClockEndsExactlyAtTheDuration) {
  TempDir dir;
  EventLog log;
  const kv::ManualClock clock(kv::mono_ns());
  RunPlan plan = plan_for(dir, {"--duration", "3600"});
  plan.clock = &clock;
  plan.observers.push_back(&log);
  const int code = kv::engine::run::run_benchmark(plan);
  EXPECT_EQ(code, expected_exit(log.seen_results));
  EXPECT_EQ(log.seen_results.value("stop_reason", std::string()), "duration");
  EXPECT_DOUBLE_EQ(log.seen_results["summary"].value("elapsed_time", 0.0), 3600.0)
      << log.seen_results["summary"].dump();
  ASSERT_EQ(log.ticks.size(), 3600u * 20u);
  for (std::size_t k = 0; k < log.ticks.size(); ++k)
    ASSERT_EQ(log.ticks[k] - log.t0, static_cast<std::int64_t>(k) * 50'000'000) << k;
}

}  // namespace
