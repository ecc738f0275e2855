// The replay producers on a ManualClock (core/manual_clock.hpp): their schedules are checked in
// clock time, exactly, without sleeping — a replay paced over minutes finishes at once.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <vector>

#include "core/manual_clock.hpp"
#include "engine/modes/producers.hpp"

using namespace kv;
using namespace kv::engine::modes;
using namespace std::chrono_literals;

namespace {

constexpr std::int64_t kSecond = 1'000'000'000LL;

// Pops every request until the producer is exhausted and its queue is empty; returns them in
// submit order (the queue pops by priority).
std::vector<workload::Request> drain(Producer& p, workload::RequestQueue& q) {
  std::vector<workload::Request> out;
  while (true) {
    auto r = q.pop(20ms);
    if (!r) {
      if (p.exhausted() && q.size() == 0) break;
      continue;
    }
    p.request_done(*r);
    out.push_back(std::move(*r));
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.submit_ns < b.submit_ns; });
  return out;
}

// A queue, a stop flag and a manual clock; run() starts a producer at t0 and drains it.
struct OnManualClock {
  workload::RequestQueue q;
  workload::StopFlag stop;
  const ManualClock clock;
  const std::int64_t t0 = clock.now_ns();
  std::vector<workload::Request> run(Producer& p) {
    p.start(t0);
    auto got = drain(p, q);
    p.join();
    return got;
  }
};

TEST(ProducersOnAManualClock, MooncakeRecordsAreSubmittedAtTheirScaledTimestamps) {
  replay::MooncakeTraceOptions o;
  o.speedup = 0.0001;  // the trace's 0, 10, 20, 30 ms become 0, 100, 200, 300 s
  o.replay_cycles = 1;
  auto reader = std::make_unique<replay::MooncakeTraceReader>(
      std::string(KV_TEST_DATA_DIR) + "/modes_mooncake_shared.jsonl", o);
  OnManualClock h;
  MooncakeProducer p(std::move(reader), TraceSettings{}, h.q, h.stop, h.clock);
  const auto got = h.run(p);
  const std::int64_t t0 = h.t0;
  ASSERT_EQ(got.size(), 4u);
  for (std::size_t k = 0; k < got.size(); ++k)
    EXPECT_NEAR(static_cast<double>(got[k].submit_ns - t0), static_cast<double>(k) * 100 * kSecond,
                1e3)
        << k;
  EXPECT_GE(h.clock.now_ns() - t0, 300 * kSecond);
}

TEST(ProducersOnAManualClock, ShareGptRequestRateSpacesEnqueuesExactly) {
  replay::ShareGptDataset ds;
  for (const char* id : {"a", "b", "c", "d"}) {
    replay::ShareGptConversation c;
    c.id = id;
    c.turns.push_back({1, 10, 5});
    ds.conversations.push_back(c);
  }
  ShareGptSettings s;
  s.sessions = 1;
  s.initial_sessions = 1;
  s.replay_cycles = 1;
  s.request_rate = 0.02;  // one request every 50 s
  s.draws.prefix_caching = false;
  OnManualClock h;
  workload::ConversationManager conv;
  ShareGptProducer p(ds, s, h.q, h.stop, conv, nullptr, h.clock);
  const auto got = h.run(p);
  const std::int64_t t0 = h.t0;
  ASSERT_EQ(got.size(), 4u);
  for (std::size_t k = 0; k < got.size(); ++k)
    EXPECT_EQ(got[k].submit_ns - t0, static_cast<std::int64_t>(k) * 50 * kSecond) << k;
}

}  // namespace
