// Producers of the workload modes, driven by a fake worker (pop, "process", report done):
//   * ShareGPT: every turn exactly once per pass, turn n only after turn n-1 finished, one session
//     per conversation at a time, keys <conv>_turn_<n>, multi-turn on/off, replay cycles, sessions
//     started/stopped by set_active_users, request-rate pacing;
//   * BurstGPT / Mooncake: the trace's rows become requests (bad lines skipped and counted),
//   pacing;
//   * the synthetic scheduler: only active users produce; added users start producing.
#include "engine/modes/producers.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <set>

#include "core/clock.hpp"
#include "engine/workload/request_factory.hpp"

using namespace kv;
using namespace kv::engine::modes;
using namespace std::chrono_literals;

namespace {

replay::ShareGptDataset dataset(const std::vector<std::pair<std::string, int>>& convs) {
  replay::ShareGptDataset ds;
  for (const auto& [id, turns] : convs) {
    replay::ShareGptConversation c;
    c.id = id;
    for (int t = 0; t < turns; ++t)
      c.turns.push_back({static_cast<std::uint32_t>(t + 1), static_cast<std::uint32_t>(10 + t), 5});
    ds.conversations.push_back(c);
  }
  return ds;
}

struct Popped {
  workload::Request req;
  std::int64_t at_ns;
};

// Pops until the producer is exhausted and the queue is empty (or `limit` requests), reporting each
// request done right away. Checks that no conversation has two requests in flight.
std::vector<Popped> drain(Producer& p, workload::RequestQueue& q, std::size_t limit = 100000) {
  std::vector<Popped> out;
  const auto deadline = kv::mono_ns() + 10'000'000'000LL;
  while (out.size() < limit && kv::mono_ns() < deadline) {
    auto r = q.pop(20ms);
    if (!r) {
      if (p.exhausted() && q.size() == 0) break;
      continue;
    }
    out.push_back({*r, kv::mono_ns()});
    p.request_done(*r);
  }
  return out;
}

ShareGptSettings sg_settings(std::uint32_t sessions, std::uint32_t cycles, bool multi_turn = true) {
  ShareGptSettings s;
  s.sessions = sessions;
  s.initial_sessions = sessions;
  s.replay_cycles = cycles;
  s.multi_turn = multi_turn;
  s.draws.prefix_caching = false;
  s.draws.seed = 42;
  return s;
}

}  // namespace

TEST(ShareGptProducer, EveryTurnOncePerPassInOrderWithHistory) {
  const auto ds = dataset({{"a", 3}, {"b", 2}, {"c", 1}});
  workload::RequestQueue q;
  workload::StopFlag stop;
  workload::ConversationManager conv;
  ShareGptProducer p(ds, sg_settings(2, 2), q, stop, conv, nullptr);
  p.start(kv::mono_ns());
  const auto got = drain(p, q);
  p.join();
  ASSERT_EQ(got.size(), 12u);  // 6 turns × 2 passes
  EXPECT_TRUE(p.exhausted());
  EXPECT_EQ(p.enqueued(), 12u);
  std::map<std::string, std::uint32_t> last_turn;
  std::map<std::string, int> keys;
  for (const auto& g : got) {
    const auto& r = g.req;
    ASSERT_FALSE(r.conversation_id.empty());
    EXPECT_EQ(r.cache_key, r.conversation_id + "_turn_" + std::to_string(r.turn));
    EXPECT_LT(r.user_index, 2u);
    // turns of a conversation come in order, restarting at 1 in the next pass
    const auto prev = last_turn[r.conversation_id];
    EXPECT_TRUE(r.turn == prev + 1 || (r.turn == 1 && prev > 0))
        << r.cache_key << " after turn " << prev;
    last_turn[r.conversation_id] = r.turn;
    EXPECT_EQ(r.context_tokens, 10u + r.turn - 1);
    EXPECT_EQ(r.phase, workload::RequestPhase::kPrefillDecode);
    ++keys[r.cache_key];
  }
  EXPECT_EQ(keys.size(), 6u);
  for (const auto& [k, n] : keys) EXPECT_EQ(n, 2) << k;
  const auto s = p.stats();
  EXPECT_EQ(s["passes_started"], 2);
  EXPECT_EQ(s["conversations_completed"], 6);
  EXPECT_EQ(s["turns_issued"], 12);
  EXPECT_EQ(s["replay_complete"], true);
}

TEST(ShareGptProducer, ATurnWaitsForThePreviousTurnOfItsConversation) {
  const auto ds = dataset({{"a", 4}});
  workload::RequestQueue q;
  workload::StopFlag stop;
  workload::ConversationManager conv;
  ShareGptProducer p(ds, sg_settings(3, 1), q, stop, conv, nullptr);
  p.start(kv::mono_ns());
  // Without request_done only turn 1 is issued: the other sessions have no free conversation.
  std::this_thread::sleep_for(150ms);
  EXPECT_EQ(q.size(), 1u);
  const auto got = drain(p, q);
  p.join();
  ASSERT_EQ(got.size(), 4u);
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].req.turn, i + 1);
}

TEST(ShareGptProducer, DisableMultiTurnGivesIndependentRequests) {
  const auto ds = dataset({{"a", 3}, {"b", 2}});
  workload::RequestQueue q;
  workload::StopFlag stop;
  workload::ConversationManager conv;
  ShareGptProducer p(ds, sg_settings(2, 1, /*multi_turn=*/false), q, stop, conv, nullptr);
  p.start(kv::mono_ns());
  const auto got = drain(p, q);
  p.join();
  ASSERT_EQ(got.size(), 5u);
  std::set<std::string> keys;
  for (const auto& g : got) {
    EXPECT_TRUE(g.req.conversation_id.empty());
    EXPECT_EQ(g.req.turn, 1u);
    keys.insert(g.req.cache_key);
  }
  EXPECT_EQ(keys,
            (std::set<std::string>{"a_turn_1", "a_turn_2", "a_turn_3", "b_turn_1", "b_turn_2"}));
  EXPECT_EQ(conv.started(), 0u);
}

TEST(ShareGptProducer, NeverTwoSessionsOnOneConversationAndScalingStartsSessions) {
  const auto ds = dataset({{"a", 2}, {"b", 2}, {"c", 2}, {"d", 2}});
  workload::RequestQueue q;
  workload::StopFlag stop;
  workload::ConversationManager conv;
  auto s = sg_settings(4, 0);  // replay forever
  s.initial_sessions = 1;
  ShareGptProducer p(ds, s, q, stop, conv, nullptr);
  p.start(kv::mono_ns());
  auto first = drain(p, q, 20);
  for (const auto& g : first) EXPECT_EQ(g.req.user_index, 0u);
  EXPECT_EQ(p.active_users(), 1u);
  p.set_active_users(4);
  EXPECT_EQ(p.active_users(), 4u);
  // Hold requests in flight: with 4 conversations and 4 sessions, each session holds one.
  std::map<std::string, int> in_flight;
  std::set<std::uint32_t> sessions;
  std::vector<workload::Request> held;
  const auto deadline = kv::mono_ns() + 5'000'000'000LL;
  while (sessions.size() < 4 && kv::mono_ns() < deadline) {
    auto r = q.pop(20ms);
    if (!r) continue;
    EXPECT_EQ(++in_flight[r->conversation_id], 1) << r->cache_key;
    sessions.insert(r->user_index);
    held.push_back(*r);
  }
  EXPECT_EQ(sessions.size(), 4u);
  EXPECT_EQ(p.users_started(), 4u);
  stop.request_stop();
  q.close();
  p.join();
  EXPECT_FALSE(p.exhausted());
}

TEST(ShareGptProducer, RequestRatePacesEnqueues) {
  const auto ds = dataset({{"a", 1}, {"b", 1}, {"c", 1}, {"d", 1}, {"e", 1}, {"f", 1}});
  workload::RequestQueue q;
  workload::StopFlag stop;
  workload::ConversationManager conv;
  auto s = sg_settings(6, 1);
  s.request_rate = 50;  // 20 ms apart
  ShareGptProducer p(ds, s, q, stop, conv, nullptr);
  const auto t0 = kv::mono_ns();
  p.start(t0);
  const auto got = drain(p, q);
  p.join();
  ASSERT_EQ(got.size(), 6u);
  // Enqueues follow an absolute schedule from the start: request k at t0 + k / rate.
  EXPECT_GE(got.back().req.submit_ns - t0, 5 * 20'000'000LL);
  EXPECT_LT(got.back().req.submit_ns - t0, 5 * 20'000'000LL + 50'000'000LL);
}

TEST(ShareGptProducer, FollowUpsAreEnqueuedAndDoNotDriveSessions) {
  const auto ds = dataset({{"a", 2}});
  workload::RequestQueue q;
  workload::StopFlag stop;
  workload::ConversationManager conv;
  FollowUp follow = [](const workload::Request& r) -> std::optional<workload::Request> {
    workload::Request f = r;
    f.rag_doc = 0;
    f.cache_key = "rag_doc_0000";
    f.conversation_id.clear();
    return f;
  };
  ShareGptProducer p(ds, sg_settings(1, 1), q, stop, conv, follow);
  p.start(kv::mono_ns());
  const auto got = drain(p, q);
  p.join();
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(p.enqueued(), 4u);
  int rag = 0;
  for (const auto& g : got) rag += g.req.rag_doc >= 0;
  EXPECT_EQ(rag, 2);
}

TEST(BurstTraceProducer, RowsBecomeRequestsAndBadLinesAreCounted) {
  replay::BurstTraceOptions o;
  o.speedup = 0;
  o.replay_cycles = 1;
  auto reader = std::make_unique<replay::BurstTraceReader>(
      std::string(KV_TEST_DATA_DIR) + "/burstgpt_small*.csv", o);
  workload::RequestQueue q;
  workload::StopFlag stop;
  TraceSettings ts;
  ts.draws.seed = 1;
  BurstTraceProducer p(std::move(reader), ts, q, stop, nullptr);
  p.start(kv::mono_ns());
  const auto got = drain(p, q);
  p.join();
  ASSERT_EQ(got.size(), 10u);  // 8 + 2 valid rows
  std::set<std::string> keys;
  std::map<std::uint64_t, std::uint32_t> ctx;
  for (const auto& g : got) {
    keys.insert(g.req.cache_key);
    ctx[g.req.request_index] = g.req.context_tokens;
    EXPECT_GE(g.req.generate_tokens, 1u);  // a 0-token response is clamped to 1
    EXPECT_TRUE(g.req.conversation_id.empty());
  }
  EXPECT_EQ(keys.size(), 10u);
  EXPECT_TRUE(keys.count("trace_user_0_req_0000"));
  EXPECT_TRUE(keys.count("trace_user_9_req_0009"));
  EXPECT_EQ(ctx[0], 472u);
  EXPECT_EQ(ctx[9], 640u);
  const auto s = p.stats();
  EXPECT_EQ(s["bad_lines_skipped"], 3);
  EXPECT_EQ(s["records"], 10);
  EXPECT_EQ(s["replay_complete"], true);
}

TEST(MooncakeProducer, RecordsCarryTheirBlocksAndArePaced) {
  replay::MooncakeTraceOptions o;
  o.speedup = 1;
  o.replay_cycles = 1;
  auto reader = std::make_unique<replay::MooncakeTraceReader>(
      std::string(KV_TEST_DATA_DIR) + "/modes_mooncake_shared.jsonl", o);
  workload::RequestQueue q;
  workload::StopFlag stop;
  MooncakeProducer p(std::move(reader), TraceSettings{}, q, stop);
  const auto t0 = kv::mono_ns();
  p.start(t0);
  const auto got = drain(p, q);
  p.join();
  ASSERT_EQ(got.size(), 4u);
  EXPECT_GE(got.back().at_ns - t0, 30'000'000LL);  // timestamps 0 .. 30 ms
  const std::vector<std::size_t> blocks = {2, 3, 2, 1};
  for (std::size_t i = 0; i < got.size(); ++i) {
    ASSERT_TRUE(got[i].req.mode_data);
    const auto& rec = *std::static_pointer_cast<const replay::MooncakeRecord>(got[i].req.mode_data);
    EXPECT_EQ(rec.hash_ids.size(), blocks[i]);
    EXPECT_EQ(got[i].req.context_tokens, rec.input_length);
    EXPECT_EQ(got[i].req.prefix_prompt, -1);
  }
  EXPECT_EQ(p.stats()["bad_lines_skipped"], 1);
}

TEST(ArrivalScheduler, OnlyActiveUsersProduceAndAddedUsersStart) {
  std::vector<workload::UserProfile> users(4);
  for (std::uint32_t u = 0; u < 4; ++u) {
    users[u].index = u;
    users[u].id = workload::user_id(u);
    users[u].context_length = 100;
    users[u].generation_length = 10;
    users[u].think_time_s = 0.005;
  }
  workload::ConversationManager conv;
  workload::FactorySettings fs;
  workload::RequestFactory factory(users, 1, fs, conv);
  workload::RequestQueue q;
  workload::StopFlag stop;
  SyntheticProducer p(factory, q, stop, 2, nullptr);
  EXPECT_EQ(p.active_users(), 2u);
  p.start(kv::mono_ns());
  std::set<std::uint32_t> seen;
  for (int i = 0; i < 40; ++i) {
    auto r = q.pop(500ms);
    ASSERT_TRUE(r);
    seen.insert(r->user_index);
  }
  EXPECT_EQ(seen, (std::set<std::uint32_t>{0, 1}));
  EXPECT_EQ(p.users_started(), 2u);
  p.set_active_users(4);
  std::set<std::uint32_t> later;
  const auto deadline = kv::mono_ns() + 3'000'000'000LL;
  while (later.size() < 4 && kv::mono_ns() < deadline) {
    auto r = q.pop(100ms);
    if (r) later.insert(r->user_index);
  }
  EXPECT_EQ(later.size(), 4u);
  EXPECT_EQ(p.users_started(), 4u);
  p.set_active_users(1);
  std::this_thread::sleep_for(100ms);  // requests of stopped users already queued drain first
  while (q.pop(1ms)) {
  }
  std::set<std::uint32_t> after;
  for (int i = 0; i < 20; ++i) {
    auto r = q.pop(500ms);
    ASSERT_TRUE(r);
    after.insert(r->user_index);
  }
  EXPECT_EQ(after, (std::set<std::uint32_t>{0}));
  stop.request_stop();
  p.join();
}
