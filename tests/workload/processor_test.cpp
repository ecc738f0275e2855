// The per-request I/O sequence (docs/reference-behaviour.md#per-request-io) against a recording
// fake store: decode = 1 + ceil(G/32) full reads on a hit, a write on a miss; multi-turn history
// reads every earlier turn (triangular); the system-prompt prefix is written once and then read
// (hit); prefill-only / decode-only; failures end the request as failed, a stop as interrupted.
#include "engine/workload/processor.hpp"

#include <gtest/gtest.h>

#include <mutex>
#include <set>

#include "engine/workload/conversation.hpp"

using namespace kv;
using namespace kv::workload;

namespace {

struct Op {
  char kind;  // 'W' or 'R'
  std::string key;
  std::uint64_t tokens;
  cache::CacheType type;
  bool hit;
  cache::Phase phase;
};

class FakeStore : public KvStore {
 public:
  std::vector<Op> ops;
  std::set<std::string> stored, fail_writes, fail_reads;
  StopFlag* stop_on_first_read = nullptr;

  cache::AllocResult allocate(const std::string& key, std::uint64_t tokens,
                              cache::Phase phase) override {
    std::lock_guard lk(mu);
    cache::AllocResult r;
    if (stored.count(key)) {
      r.ok = true;
      r.existed = true;
      return r;
    }
    ops.push_back({'W', key, tokens, cache::CacheType::kUser, false, phase});
    if (fail_writes.count(key)) {
      r.error = 28;  // ENOSPC
      return r;
    }
    stored.insert(key);
    r.ok = true;
    r.timing.total_s = 0.010;
    return r;
  }
  cache::AccessResult access(const std::string& key, cache::Phase phase,
                             cache::CacheType type) override {
    std::lock_guard lk(mu);
    cache::AccessResult a;
    a.hit = stored.count(key) != 0;
    ops.push_back({'R', key, 0, type, a.hit, phase});
    if (stop_on_first_read) stop_on_first_read->request_stop();
    if (a.hit) {
      a.ok = !fail_reads.count(key);
      a.error = a.ok ? 0 : 5;
      a.timing.total_s = 0.001;
    }
    return a;
  }
  bool contains(const std::string& key) const override {
    std::lock_guard lk(mu);
    return stored.count(key) != 0;
  }
  int count(char kind, const std::string& key) const {
    int n = 0;
    for (const auto& o : ops) n += o.kind == kind && o.key == key;
    return n;
  }
  mutable std::mutex mu;
};

Request make(const std::string& key, std::uint32_t ctx, std::uint32_t gen) {
  Request r;
  r.cache_key = key;
  r.context_tokens = ctx;
  r.generate_tokens = gen;
  r.phase = ctx >= 10000 ? RequestPhase::kPrefill : RequestPhase::kPrefillDecode;
  return r;
}

struct Fixture {
  FakeStore store;
  PrefixCache prefix;
  StopFlag stop;
  ProcessSettings s;
  std::string scratch;
  RequestOutcome run(const Request& r) {
    RequestProcessor p(store, prefix, s, stop);
    return p.process(r, scratch);
  }
};

}  // namespace

TEST(Processor, DecodeIsOnePlusCeilGOver32FullReads) {
  for (std::uint32_t g : {1u, 31u, 32u, 33u, 64u, 200u}) {
    Fixture f;
    auto o = f.run(make("k", 1000, g));
    ASSERT_EQ(o.status, OutcomeStatus::kCompleted);
    EXPECT_EQ(f.store.count('W', "k"), 1) << g;
    EXPECT_EQ(f.store.count('R', "k"), static_cast<int>(1 + (g + 31) / 32)) << g;
    EXPECT_TRUE(o.wrote_prefill);
    EXPECT_TRUE(o.decoded);
    EXPECT_GT(o.first_token_ns, 0);
    EXPECT_DOUBLE_EQ(o.prefill_s, 0.010);
    EXPECT_NEAR(o.decode_s, 0.001 * (1 + (g + 31) / 32), 1e-12);
    EXPECT_NEAR(o.storage_s, o.prefill_s + o.decode_s, 1e-12);
  }
}

TEST(Processor, DecodeBatchFromConfig) {
  Fixture f;
  f.s.decode_batch = 10;
  f.run(make("k", 1000, 25));
  EXPECT_EQ(f.store.count('R', "k"), 1 + 3);
}

TEST(Processor, WriteOnlyRequestsDoNoDecode) {
  Fixture f;
  auto o = f.run(make("big", 10000, 100));
  EXPECT_EQ(f.store.count('W', "big"), 1);
  EXPECT_EQ(f.store.count('R', "big"), 0);
  EXPECT_FALSE(o.decoded);
  EXPECT_EQ(o.first_token_ns, 0);
}

TEST(Processor, DecodeMissFallsBackToAWrite) {
  Fixture f;
  f.s.decode_only = false;
  Request r = make("k", 1000, 10);
  r.phase = RequestPhase::kDecode;  // no prefill write: the decode read misses
  auto o = f.run(r);
  EXPECT_EQ(o.status, OutcomeStatus::kCompleted);
  ASSERT_EQ(f.store.ops.size(), 2u);
  EXPECT_EQ(f.store.ops[0].kind, 'R');
  EXPECT_FALSE(f.store.ops[0].hit);
  EXPECT_EQ(f.store.ops[1].kind, 'W');
  // The fallback write is storage time of the request but not a decode latency (reference).
  EXPECT_EQ(o.decode_s, 0.0);
  EXPECT_NEAR(o.storage_s, 0.010, 1e-12);
}

TEST(Processor, MultiTurnReadsEveryEarlierTurnTriangular) {
  Fixture f;
  RequestProcessor p(f.store, f.prefix, f.s, f.stop);
  const std::string conv = "conv_user_0000_0";
  for (std::uint32_t t = 1; t <= 4; ++t) {
    Request r = make(ConversationManager::turn_key(conv, t), 500, 5);
    r.conversation_id = conv;
    r.turn = t;
    ASSERT_EQ(p.process(r, f.scratch).status, OutcomeStatus::kCompleted);
  }
  int history = 0;
  for (const auto& o : f.store.ops) history += o.type == cache::CacheType::kMultiTurn;
  EXPECT_EQ(history, 0 + 1 + 2 + 3);  // n(n−1)/2 for n = 4
  EXPECT_EQ(p.multi_turn_hits(), 6u);
  EXPECT_EQ(p.multi_turn_misses(), 0u);
  // Turn 4 read turns 1..3, never itself or a later turn.
  // History reads are decode-phase reads (decode_reads, the I/O trace's phase), as the reference's.
  for (const auto& o : f.store.ops)
    if (o.type == cache::CacheType::kMultiTurn) {
      EXPECT_NE(o.key, ConversationManager::turn_key(conv, 4));
      EXPECT_EQ(o.phase, cache::Phase::kDecode);
    }
  // A missing earlier turn counts as a multi-turn miss.
  Request r = make(ConversationManager::turn_key("conv_x_0", 3), 500, 5);
  r.conversation_id = "conv_x_0";
  r.turn = 3;
  p.process(r, f.scratch);
  EXPECT_EQ(p.multi_turn_misses(), 2u);
}

TEST(Processor, SystemPromptIsStoredOnceThenHit) {
  Fixture f;
  f.s.bytes_per_token = 100;
  RequestProcessor p(f.store, f.prefix, f.s, f.stop);
  const SystemPrompt& sp = f.prefix.prompt(1);
  EXPECT_EQ(sp.tokens, 9u);
  EXPECT_EQ(sp.key.rfind("kv_system_", 0), 0u);
  EXPECT_EQ(sp.key.size(), std::string("kv_system_").size() + 16);
  for (int i = 0; i < 3; ++i) {
    Request r = make("req" + std::to_string(i), 1000, 10);
    r.prefix_prompt = 1;
    ASSERT_EQ(p.process(r, f.scratch).status, OutcomeStatus::kCompleted);
  }
  p.process(make("plain", 1000, 10), f.scratch);
  EXPECT_EQ(f.store.count('W', sp.key), 1);
  EXPECT_EQ(f.store.count('R', sp.key), 3);
  for (const auto& o : f.store.ops)
    if (o.key == sp.key && o.kind == 'R') {
      EXPECT_TRUE(o.hit);
      EXPECT_EQ(o.type, cache::CacheType::kSystem);
    }
  // The request's own decode reads stay "user" reads (the reference mislabelled them).
  for (const auto& o : f.store.ops)
    if (o.key == "req0" && o.kind == 'R') {
      EXPECT_EQ(o.type, cache::CacheType::kUser);
    }
  // Context is reduced by the prompt tokens.
  for (const auto& o : f.store.ops)
    if (o.key == "req0" && o.kind == 'W') {
      EXPECT_EQ(o.tokens, 1000u - 9u);
    }
  auto st = f.prefix.stats();
  EXPECT_EQ(st.prefix_hits, 3u);
  EXPECT_EQ(st.prefix_misses, 1u);
  EXPECT_EQ(st.stores, 1u);
  EXPECT_EQ(st.reads, 3u);
  EXPECT_EQ(st.read_misses, 0u);
  EXPECT_EQ(st.bytes_saved, 3u * 9u * 100u);
}

TEST(Processor, PrefillOnlyAndDecodeOnly) {
  {
    Fixture f;
    f.s.prefill_only = true;
    f.run(make("k", 1000, 100));
    EXPECT_EQ(f.store.count('W', "k"), 1);
    EXPECT_EQ(f.store.count('R', "k"), 0);
    // --prefill-only keeps the multi-turn history reads (decode phase), as the reference.
    f.store.stored.insert("c_turn_1");
    Request r = make("c_turn_2", 1000, 100);
    r.conversation_id = "c";
    r.turn = 2;
    f.run(r);
    EXPECT_EQ(f.store.count('R', "c_turn_1"), 1);
    EXPECT_EQ(f.store.ops.back().kind, 'W');
  }
  {
    Fixture f;
    f.s.decode_only = true;
    f.store.stored.insert("prepop_4");
    Request r = make("k", 1000, 64);
    r.decode_key_index = 4;
    r.conversation_id = "c";
    r.turn = 3;  // history reads are skipped in decode-only mode
    auto o = f.run(r);
    EXPECT_EQ(o.status, OutcomeStatus::kCompleted);
    EXPECT_EQ(f.store.count('R', "prepop_4"), 3);
    for (const auto& op : f.store.ops) EXPECT_NE(op.kind, 'W');
    // A miss in decode-only mode writes nothing.
    Request m = make("k", 1000, 64);
    m.decode_key_index = 9;
    f.run(m);
    for (const auto& op : f.store.ops) EXPECT_NE(op.kind, 'W');
  }
}

TEST(Processor, FailuresEndTheRequestAsFailed) {
  Fixture f;
  f.store.fail_writes.insert("k");
  auto o = f.run(make("k", 1000, 10));
  EXPECT_EQ(o.status, OutcomeStatus::kFailed);
  EXPECT_NE(o.failure.find("k"), std::string::npos);
  EXPECT_EQ(f.store.count('R', "k"), 0);  // nothing after the failed op

  Fixture g;
  g.store.stored.insert("r");
  g.store.fail_reads.insert("r");
  Request r = make("r", 1000, 10);
  r.phase = RequestPhase::kDecode;
  EXPECT_EQ(g.run(r).status, OutcomeStatus::kFailed);
}

TEST(Processor, StopInterruptsProcessingAndGenerationSleep) {
  Fixture f;
  f.store.stop_on_first_read = &f.stop;
  auto o = f.run(make("k", 1000, 200));
  EXPECT_EQ(o.status, OutcomeStatus::kInterrupted);
  EXPECT_EQ(f.store.count('R', "k"), 1);  // no more reads after the stop

  Fixture g;
  g.s.generation_s_per_token = 10.0;  // 10 s per token: must be cut short by the stop
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    g.stop.request_stop();
  });
  const auto t0 = std::chrono::steady_clock::now();
  auto o2 = g.run(make("k", 100, 3));
  stopper.join();
  EXPECT_EQ(o2.status, OutcomeStatus::kInterrupted);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));

  Fixture h;
  h.s.generation_s_per_token = 0.002;
  auto o3 = h.run(make("k", 100, 10));
  EXPECT_EQ(o3.status, OutcomeStatus::kCompleted);
  EXPECT_DOUBLE_EQ(o3.generation_s, 0.02);
}

// With a drain: a request in flight at the window's stop issues all its operations (as the
// reference's do); raising drain_end ends it at the next operation boundary instead.
TEST(Processor, InFlightRequestsFinishDuringTheDrainUntilItsEnd) {
  Fixture f;
  StopFlag drain_end;
  f.s.drain_end = &drain_end;
  f.store.stop_on_first_read = &f.stop;  // the window stops during the first decode read
  auto o = f.run(make("k", 1000, 64));
  EXPECT_EQ(o.status, OutcomeStatus::kCompleted);
  EXPECT_TRUE(f.stop.stopped());
  EXPECT_EQ(f.store.count('R', "k"), 3);  // 1 + ceil(64 / 32): every read issued

  Fixture g;
  StopFlag drain_end2;
  g.s.drain_end = &drain_end2;
  g.store.stop_on_first_read = &drain_end2;  // the drain deadline passes during the first read
  auto o2 = g.run(make("k", 1000, 64));
  EXPECT_EQ(o2.status, OutcomeStatus::kInterrupted);
  EXPECT_EQ(g.store.count('R', "k"), 1);
}
