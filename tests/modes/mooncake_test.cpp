// Mooncake block requests: each hash id is one object mc_<id> of 512 tokens (the last block holds
// the rest of input_length); a block already cached is read (a hit), a new one written; decode
// reads the last block 1 + ceil(G / 32) times; --decode-only writes nothing, --prefill-only skips
// decode.
#include "engine/modes/mooncake.hpp"

#include <gtest/gtest.h>

#include "engine/replay/mooncake_trace.hpp"
#include "engine/workload/request_factory.hpp"
#include "modes_test_util.hpp"

using namespace kv;
using namespace kv::engine::modes;

namespace {

workload::Request request(std::uint64_t input, std::uint64_t output,
                          std::vector<std::uint64_t> ids) {
  auto rec = std::make_shared<replay::MooncakeRecord>();
  rec->input_length = input;
  rec->output_length = output;
  rec->hash_ids = std::move(ids);
  workload::Request q;
  q.context_tokens = static_cast<std::uint32_t>(input);
  q.generate_tokens = static_cast<std::uint32_t>(output);
  q.mode_data = rec;
  return q;
}

workload::ProcessSettings settings() {
  workload::ProcessSettings ps;
  ps.decode_batch = 32;
  return ps;
}

}  // namespace

TEST(Mooncake, SharedHashIdsAreReadNewOnesWritten) {
  modestest::NullCache nc;
  modestest::CacheStore store(*nc.cache);
  workload::StopFlag stop;
  MooncakeProcessor mp(settings(), stop);
  std::string scratch;

  workload::RequestOutcome o1;
  ASSERT_TRUE(mp.process(request(1024, 10, {1, 2}), store, o1, scratch));
  EXPECT_EQ(o1.status, workload::OutcomeStatus::kCompleted);
  EXPECT_EQ(o1.writes, 2u);
  EXPECT_EQ(o1.misses, 2u);
  EXPECT_EQ(o1.reads, 2u);  // decode: 1 + ceil(10 / 32)
  EXPECT_TRUE(o1.wrote_prefill);
  EXPECT_TRUE(o1.decoded);

  workload::RequestOutcome o2;
  ASSERT_TRUE(mp.process(request(1500, 40, {1, 2, 3}), store, o2, scratch));
  EXPECT_EQ(o2.writes, 1u);
  EXPECT_EQ(o2.misses, 1u);
  EXPECT_EQ(o2.reads, 2u + 3u);  // blocks 1, 2 + decode 1 + ceil(40 / 32)

  // Object sizes: full 512-token blocks, the last one holds the rest (1500 - 1024 = 476 tokens).
  const auto m = modestest::micro_model();
  const auto st = nc.cache->stats();
  EXPECT_EQ(st.total_write_bytes, m.object_bytes(512) * 2 + m.object_bytes(476));
  EXPECT_EQ(st.cache_hits, 2u + 5u);
  EXPECT_EQ(st.cache_misses, 3u);
  EXPECT_EQ(st.prefill_writes, 3u);
  EXPECT_TRUE(nc.cache->contains("mc_1"));
  EXPECT_TRUE(nc.cache->contains("mc_3"));

  const auto s = mp.stats();
  EXPECT_EQ(s["requests_processed"], 2);
  EXPECT_EQ(s["block_lookups"], 5);
  EXPECT_EQ(s["block_hits"], 2);
  EXPECT_EQ(s["block_misses"], 3);
  EXPECT_EQ(s["block_writes"], 3);
}

TEST(Mooncake, NotAMooncakeRequestIsLeftToTheStandardSequence) {
  modestest::NullCache nc;
  modestest::CacheStore store(*nc.cache);
  workload::StopFlag stop;
  MooncakeProcessor mp(settings(), stop);
  std::string scratch;
  workload::RequestOutcome o;
  EXPECT_FALSE(mp.process(workload::Request{}, store, o, scratch));
  EXPECT_EQ(nc.cache->stats().cache_misses, 0u);
}

TEST(Mooncake, DecodeOnlyWritesNothingPrefillOnlyDoesNotDecode) {
  modestest::NullCache nc;
  modestest::CacheStore store(*nc.cache);
  workload::StopFlag stop;
  ASSERT_TRUE(nc.cache->allocate(workload::RequestFactory::prepop_key(3), 2048).ok);
  ASSERT_TRUE(nc.cache->allocate("mc_7", 512).ok);
  nc.cache->reset_stats();

  auto ps = settings();
  ps.decode_only = true;
  MooncakeProcessor dec(ps, stop);
  std::string scratch;
  auto q = request(1024, 64, {7, 8});
  q.decode_key_index = 3;
  workload::RequestOutcome o;
  ASSERT_TRUE(dec.process(q, store, o, scratch));
  EXPECT_EQ(o.writes, 0u);
  EXPECT_EQ(o.reads, 1u + 1u + 2u);  // block 7, then prepop_3 read 1 + ceil(64 / 32)
  EXPECT_EQ(nc.cache->stats().write_operations, 0u);
  EXPECT_FALSE(nc.cache->contains("mc_8"));

  ps.decode_only = false;
  ps.prefill_only = true;
  MooncakeProcessor pre(ps, stop);
  workload::RequestOutcome o2;
  ASSERT_TRUE(pre.process(request(1024, 64, {7, 8}), store, o2, scratch));
  EXPECT_FALSE(o2.decoded);
  EXPECT_EQ(o2.reads, 1u);
  EXPECT_EQ(o2.writes, 1u);
}

TEST(Mooncake, AStopInterruptsTheRequest) {
  modestest::NullCache nc;
  modestest::CacheStore store(*nc.cache);
  workload::StopFlag stop;
  stop.request_stop();
  MooncakeProcessor mp(settings(), stop);
  std::string scratch;
  workload::RequestOutcome o;
  ASSERT_TRUE(mp.process(request(1024, 10, {1, 2}), store, o, scratch));
  EXPECT_EQ(o.status, workload::OutcomeStatus::kInterrupted);
  EXPECT_EQ(nc.cache->stats().write_operations, 0u);
}
