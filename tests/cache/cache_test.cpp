// MultiTierCache rules (docs/cache.md) on fake storage: cascade with
// byte conservation, storage-only eviction, capacity limits, fixed leaks, failures, access rules,
// TP invariance, reset/clear.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "cache_fixture.hpp"
#include "core/error.hpp"
#include "engine/io/fault_backend.hpp"
#include "support/temp_dir.hpp"

namespace {

using kv::cache::CacheType;
using kv::cache::Phase;
using kv::tier::TierId;
using kvtest::CacheRig;
using kvtest::KiB;
using kvtest::tier_of;

std::string key(int i) {
  return "e" + std::to_string(i);
}

std::uint64_t series_sum(const kv::metrics::TimeSeries& s, const std::string& field) {
  std::uint64_t sum = 0;
  for (const auto& row : s.to_json(60)) {
    if (row.contains(field)) sum += row.at(field).get<std::uint64_t>();
  }
  return sum;
}

// The reference's "3-tier cascade" test: GPU→CPU→storage→deleted with byte conservation between
// tiers.
TEST(Cache, ThreeTierCascadeConservesBytes) {
  CacheRig c(100 * KiB, 100 * KiB, 200 * KiB, {}, true, /*series=*/true);
  for (int i = 0; i < 30; ++i) {
    auto r = c->allocate(key(i), 20);
    ASSERT_TRUE(r.ok) << i;
    EXPECT_EQ(r.tier, TierId::kGpu) << i;  // new entries always land on the GPU (LRU demoted)
  }
  const auto s = c->stats();
  const auto& g = tier_of(s, TierId::kGpu);
  const auto& p = tier_of(s, TierId::kCpu);
  const auto& d = tier_of(s, TierId::kStorage);
  const std::uint64_t E = 20 * KiB;
  // Placement: GPU and CPU hold 4 each (80 % target), storage 10 (100 %), 12 deleted.
  EXPECT_EQ(g.entries, 4u);
  EXPECT_EQ(p.entries, 4u);
  EXPECT_EQ(d.entries, 10u);
  for (int i = 0; i < 12; ++i) EXPECT_FALSE(c->contains(key(i))) << i;
  for (int i = 12; i < 22; ++i) EXPECT_EQ(c->location(key(i)), TierId::kStorage) << i;
  for (int i = 22; i < 26; ++i) EXPECT_EQ(c->location(key(i)), TierId::kCpu) << i;
  for (int i = 26; i < 30; ++i) EXPECT_EQ(c->location(key(i)), TierId::kGpu) << i;
  EXPECT_EQ(c.fake->count(), 10u);
  // Byte conservation between tiers.
  EXPECT_EQ(g.bytes_written, 30 * E);
  EXPECT_EQ(g.bytes_read, 26 * E);
  EXPECT_EQ(p.bytes_written, g.bytes_read);
  EXPECT_EQ(p.bytes_read, 22 * E);
  EXPECT_EQ(d.bytes_written, p.bytes_read);
  EXPECT_EQ(g.demoted_bytes_out, g.bytes_read);
  EXPECT_EQ(p.demoted_bytes_out, p.bytes_read);
  EXPECT_EQ(d.evicted_bytes, 12 * E);
  EXPECT_EQ(s.total_write_bytes, g.usage_bytes + p.usage_bytes + d.usage_bytes + d.evicted_bytes);
  // Counts.
  EXPECT_EQ(g.demotions_out, 26u);
  EXPECT_EQ(p.demotions_out, 22u);
  EXPECT_EQ(d.evictions, 12u);
  EXPECT_EQ(s.demotions, 48u);
  EXPECT_EQ(s.evictions, 60u);
  EXPECT_EQ(g.offloads, 30u);
  EXPECT_EQ(p.offloads, 26u);
  EXPECT_EQ(d.offloads, 22u);
  EXPECT_EQ(s.write_operations, 30u);
  EXPECT_EQ(s.storage_tokens_processed, 22u * 20);  // size // (bpt // TP) per demotion
  EXPECT_EQ(g.usage_bytes, 4 * E);
  EXPECT_EQ(p.usage_bytes, 4 * E);
  EXPECT_EQ(d.usage_bytes, 10 * E);
  EXPECT_EQ(d.usage_bytes, c.fake->total_bytes());
  // Latencies: admissions only in the per-tier lists, demotions apart.
  const auto& lat = c->latencies();
  EXPECT_EQ(lat.write[0].count(), 30u);
  EXPECT_EQ(lat.write[1].count(), 0u);
  EXPECT_EQ(lat.write[2].count(), 0u);
  EXPECT_EQ(lat.demotion.count(), 48u);
  // Time series records demotion I/O on both sides.
  EXPECT_EQ(series_sum(*c.series, "gpu_write_bytes"), g.bytes_written);
  EXPECT_EQ(series_sum(*c.series, "gpu_read_bytes"), g.bytes_read);
  EXPECT_EQ(series_sum(*c.series, "cpu_write_bytes"), p.bytes_written);
  EXPECT_EQ(series_sum(*c.series, "storage_write_bytes"), d.bytes_written);
  EXPECT_EQ(series_sum(*c.series, "storage_write_ops"), 22u);
  // The bytes that went GPU (regenerated) → CPU (copied) → storage are the entry's bytes.
  for (const int i : {12, 21, 22, 29}) {
    kvtest::VectorSink sink;
    auto a = c->access(key(i), Phase::kDecode, CacheType::kUser, &sink);
    ASSERT_TRUE(a.ok) << i;
    EXPECT_EQ(sink.data, kvtest::generated(c.gen, key(i), E)) << i;
  }
  EXPECT_EQ(c.fake->bytes_of(key(12)), kvtest::generated(c.gen, key(12), E));
  EXPECT_EQ(c->location(key(12)), TierId::kStorage);  // no promotion on hit
}

TEST(Cache, StorageOnlyEvictionWhenFull) {
  CacheRig c(std::nullopt, std::nullopt, 100 * KiB);
  for (int i = 0; i < 50; ++i) {
    auto r = c->allocate(key(i), 10);
    ASSERT_TRUE(r.ok) << i;  // allocation still succeeds when full
    EXPECT_EQ(r.tier, TierId::kStorage);
    const auto s = c->stats();
    EXPECT_LE(tier_of(s, TierId::kStorage).usage_bytes, 100 * KiB);
    EXPECT_EQ(tier_of(s, TierId::kStorage).usage_bytes, c.fake->total_bytes());
  }
  const auto s = c->stats();
  EXPECT_EQ(tier_of(s, TierId::kStorage).entries, 10u);
  EXPECT_EQ(c.fake->count(), 10u);  // files of evicted entries are removed
  EXPECT_EQ(s.evictions, 40u);
  EXPECT_EQ(tier_of(s, TierId::kStorage).evictions, 40u);
  EXPECT_EQ(tier_of(s, TierId::kStorage).usage_bytes, 100 * KiB);
  EXPECT_FALSE(s.has_gpu);
  EXPECT_FALSE(tier_of(s, TierId::kGpu).present);
  EXPECT_FALSE(tier_of(s, TierId::kCpu).present);
  for (int i = 0; i < 40; ++i) EXPECT_FALSE(c->contains(key(i)));
  for (int i = 40; i < 50; ++i) EXPECT_TRUE(c->contains(key(i)));
  auto miss = c->access(key(0));  // an evicted key is a miss
  EXPECT_FALSE(miss.hit);
  EXPECT_EQ(c->stats().cache_misses, 1u);
}

TEST(Cache, UnlimitedStorageNeverEvicts) {
  CacheRig c(std::nullopt, std::nullopt, kv::cache::kUnlimited, {}, false);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(c->allocate(key(i), 50).ok);
  const auto s = c->stats();
  EXPECT_EQ(s.evictions, 0u);
  EXPECT_EQ(tier_of(s, TierId::kStorage).usage_bytes, 100 * 50 * KiB);
}

TEST(Cache, LargeEntrySkipsNonTerminalTier) {
  CacheRig c(std::nullopt, 100 * KiB, kv::cache::kUnlimited);
  // 95 KiB == 0.95 × limit: admitted (near-empty tier); 96 KiB > 0.95 × limit: skips the CPU.
  EXPECT_EQ(c->allocate("fits", 95).tier, TierId::kCpu);
  EXPECT_EQ(c->allocate("big", 96).tier, TierId::kStorage);
  EXPECT_EQ(c->stats().demotions, 0u);
}

TEST(Cache, ZeroCapacityTiersAdmitNothing) {
  CacheRig c(0, 0, kv::cache::kUnlimited);
  EXPECT_EQ(c->allocate("zero", 0).tier, TierId::kStorage);  // fixed: not even zero-byte entries
  EXPECT_EQ(c->allocate("ten", 10).tier, TierId::kStorage);
  const auto s = c->stats();
  EXPECT_EQ(tier_of(s, TierId::kGpu).entries, 0u);
  EXPECT_EQ(tier_of(s, TierId::kCpu).entries, 0u);
  EXPECT_EQ(tier_of(s, TierId::kStorage).entries, 2u);
  EXPECT_TRUE(s.has_gpu);
}

TEST(Cache, BailOutSendsLargeEntryToNextTier) {
  CacheRig c(std::nullopt, 100 * KiB, kv::cache::kUnlimited);
  ASSERT_EQ(c->allocate("small", 10).tier, TierId::kCpu);
  // 10 + 75 > 80 target, usage 10 >= 5 % of limit, snapshot 10 < 20 % of limit, 75 > 50 % of
  // target.
  EXPECT_EQ(c->allocate("big", 75).tier, TierId::kStorage);
  EXPECT_EQ(c->location("small"), TierId::kCpu);  // not demoted
  EXPECT_EQ(c->stats().demotions, 0u);
}

TEST(Cache, NoBailOutWhenTierHoldsEnoughToEvict) {
  CacheRig c(std::nullopt, 100 * KiB, kv::cache::kUnlimited);
  for (int i = 0; i < 3; ++i) ASSERT_EQ(c->allocate(key(i), 20).tier, TierId::kCpu);
  EXPECT_EQ(c->allocate("new", 30).tier, TierId::kCpu);  // 60 + 30 > 80: demote the LRU entry
  EXPECT_EQ(c->location(key(0)), TierId::kStorage);
  EXPECT_EQ(c->location(key(1)), TierId::kCpu);
  const auto s = c->stats();
  EXPECT_EQ(s.demotions, 1u);
  EXPECT_EQ(tier_of(s, TierId::kCpu).usage_bytes, 70 * KiB);
  EXPECT_EQ(tier_of(s, TierId::kStorage).usage_bytes, 20 * KiB);
}

// Storage over its limit, and what fills it is a write still in flight (no entry to evict): the
// next admission waits for that write and then evicts it, instead of reserving over the limit (the
// reference forces it in, and when the limit is the device's real space that ends in ENOSPC).
TEST(Cache, FullStorageWaitsForItsOwnInFlightWriteInsteadOfGoingOverItsLimit) {
  CacheRig c(std::nullopt, std::nullopt, 10 * KiB);
  c.fake->gate_key("k1");
  std::thread a([&] { EXPECT_TRUE(c->allocate("k1", 20).ok); });  // near-empty: reserved, blocked
  c.fake->wait_blocked(1);
  std::thread b([&] {
    const auto r = c->allocate("k2", 20);
    EXPECT_TRUE(r.ok);
    EXPECT_EQ(r.tier, TierId::kStorage);
  });
  while (c->stats().storage_admission_waits == 0) std::this_thread::yield();  // b is waiting
  EXPECT_EQ(tier_of(c->stats(), TierId::kStorage).usage_bytes, 20 * KiB);     // k1's alone
  EXPECT_EQ(c.fake->count(), 0u);
  c.fake->open_gate();
  a.join();
  b.join();
  const auto s = c->stats();
  EXPECT_EQ(s.forced_storage_admissions, 0u);
  EXPECT_EQ(s.storage_admission_waits, 1u);
  EXPECT_EQ(tier_of(s, TierId::kStorage).entries, 1u);  // k2; k1 evicted once written
  EXPECT_EQ(tier_of(s, TierId::kStorage).usage_bytes, 20 * KiB);
  EXPECT_EQ(tier_of(s, TierId::kStorage).usage_bytes, c.fake->total_bytes());
  EXPECT_FALSE(c->location("k1").has_value());
  EXPECT_EQ(c->location("k2"), TierId::kStorage);
}

// A victim being demoted is claimed: a second allocation does not pick it again (the snapshot
// implementation did, and reserved its size in the next tier a second time); it waits for the
// demotion to settle and then fits.
TEST(Cache, ClaimedVictimIsNotPickedTwice) {
  CacheRig c(std::nullopt, 100 * KiB, kv::cache::kUnlimited);
  ASSERT_EQ(c->allocate("V", 60).tier, TierId::kCpu);
  c.fake->gate_key("V");  // A's demotion of V into storage blocks here, holding V's entry lock
  std::thread a([&] { EXPECT_EQ(c->allocate("KA", 40).tier, TierId::kCpu); });
  c.fake->wait_blocked(1);
  std::thread b([&] { EXPECT_EQ(c->allocate("KB", 40).tier, TierId::kCpu); });
  // B finds no unclaimed victim in the CPU tier and waits for V's demotion to settle: nothing of
  // B's is reserved in storage meanwhile. (The pause only gives B time to get there; if B comes
  // later it takes the uncontended path and the assertions below hold as well.)
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(tier_of(c->stats(), TierId::kStorage).usage_bytes, 60 * KiB);
  c.fake->open_gate();
  a.join();
  b.join();
  const auto s = c->stats();
  EXPECT_EQ(s.skipped_demotions, 0u);
  EXPECT_EQ(s.demotions, 1u);
  EXPECT_EQ(tier_of(s, TierId::kStorage).usage_bytes, 60 * KiB);
  EXPECT_EQ(tier_of(s, TierId::kStorage).usage_bytes, c.fake->total_bytes());
  EXPECT_EQ(tier_of(s, TierId::kCpu).usage_bytes, 80 * KiB);
  EXPECT_EQ(c->location("V"), TierId::kStorage);
}

// The reference's leak, fixed: the next tier's reservation for a demotion whose victim vanished is
// released. A claims GPU victim X; making room for it in the CPU tier demotes Y into storage (gated
// there); X is removed meanwhile, so X's demotion is skipped and its CPU reservation given back.
TEST(Cache, SkippedDemotionReleasesReservation) {
  CacheRig c(100 * KiB, 100 * KiB, kv::cache::kUnlimited);
  ASSERT_EQ(c->allocate("Y", 50).tier, TierId::kGpu);
  ASSERT_EQ(c->allocate("X", 50).tier, TierId::kGpu);  // demotes Y into the CPU tier
  ASSERT_EQ(c->location("Y"), TierId::kCpu);
  c.fake->gate_key("Y");
  std::thread a([&] { EXPECT_EQ(c->allocate("K", 50).tier, TierId::kGpu); });
  c.fake->wait_blocked(1);
  EXPECT_TRUE(c->remove("X"));  // A holds only a claim on X, not its entry lock yet
  c.fake->open_gate();
  a.join();
  const auto s = c->stats();
  EXPECT_EQ(s.skipped_demotions, 1u);
  EXPECT_EQ(s.demotions, 2u);                           // Y: GPU → CPU → storage
  EXPECT_EQ(tier_of(s, TierId::kCpu).usage_bytes, 0u);  // the reference leaks X's 50 KiB here
  EXPECT_EQ(tier_of(s, TierId::kCpu).entries, 0u);
  EXPECT_EQ(tier_of(s, TierId::kGpu).usage_bytes, 50 * KiB);
  EXPECT_EQ(c->location("Y"), TierId::kStorage);
  EXPECT_EQ(c->location("K"), TierId::kGpu);
}

TEST(Cache, WriteFailureIsNotCountedAndRollsBack) {
  CacheRig c(std::nullopt, std::nullopt, 1000 * KiB);
  c.fake->fail_writes(ENOSPC);
  auto r = c->allocate("f", 10);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, ENOSPC);
  EXPECT_FALSE(c->contains("f"));
  auto s = c->stats();
  EXPECT_EQ(s.failed_writes, 1u);
  EXPECT_EQ(s.failed_write_bytes, 10 * KiB);  // the reference would have counted them at start
  EXPECT_EQ(s.write_operations, 0u);
  EXPECT_EQ(s.total_write_bytes, 0u);
  EXPECT_EQ(s.prefill_writes, 0u);
  EXPECT_EQ(s.storage_tokens_processed, 0u);
  EXPECT_EQ(tier_of(s, TierId::kStorage).bytes_written, 0u);
  EXPECT_EQ(tier_of(s, TierId::kStorage).offloads, 0u);
  EXPECT_EQ(tier_of(s, TierId::kStorage).usage_bytes, 0u);
  EXPECT_EQ(c->latencies().write[2].count(), 0u);
  c.fake->fail_writes(0);
  auto ok = c->allocate("f", 10);  // the same key can be allocated again
  EXPECT_TRUE(ok.ok);
  EXPECT_FALSE(ok.existed);
  s = c->stats();
  EXPECT_EQ(s.write_operations, 1u);
  EXPECT_EQ(tier_of(s, TierId::kStorage).usage_bytes, 10 * KiB);
}

// A storage-only cache over real files in a temporary directory, through a FaultBackend.
struct RealFilesCache {
  kv::testsupport::TempDir tmp{"kvcache"};
  std::filesystem::path dir = tmp.path;
  kv::io::PayloadGenerator gen{1};
  kv::io::FaultBackend* fb = nullptr;
  std::unique_ptr<kv::cache::MultiTierCache> cache;
  RealFilesCache() {
    kv::io::BackendOptions opts;
    opts.dir = dir;
    opts.engine = kv::io::Engine::kPosix;
    auto fault = std::make_unique<kv::io::FaultBackend>(kv::io::make_backend(opts).backend);
    fb = fault.get();
    std::vector<std::unique_ptr<kv::tier::Tier>> tiers;
    tiers.push_back(kv::tier::make_storage_tier(std::move(fault)));
    kv::cache::CacheConfig cfg;
    cfg.model = kvtest::kib_model();
    cfg.storage_limit = 10 * 1024 * KiB;
    cache = std::make_unique<kv::cache::MultiTierCache>(cfg, std::move(tiers), gen, nullptr);
  }
};

TEST(Cache, FaultBackendEnospcOnRealFiles) {
  RealFilesCache rf;
  const auto& dir = rf.dir;
  auto& cache = *rf.cache;
  auto* fb = rf.fb;
  fb->fail_writes(ENOSPC, /*after_n=*/1, /*count=*/1);
  {
    EXPECT_TRUE(cache.allocate("a", 8).ok);
    auto r = cache.allocate("b", 8);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.error, ENOSPC);
    EXPECT_TRUE(cache.allocate("c", 8).ok);
    EXPECT_TRUE(std::filesystem::exists(dir / "a.npy"));
    EXPECT_FALSE(std::filesystem::exists(dir / "b.npy"));
    const auto s = cache.stats();
    EXPECT_EQ(s.failed_writes, 1u);
    EXPECT_EQ(s.write_operations, 2u);
    EXPECT_EQ(s.total_write_bytes, 16 * KiB);
    EXPECT_EQ(tier_of(s, TierId::kStorage).usage_bytes, 16 * KiB);
    EXPECT_EQ(fb->injected(), 1);
    // Reads of real files carry the device/host split; clear() removes our files only.
    std::ofstream(dir / "not_ours.npy") << "x";
    ASSERT_TRUE(cache.access("a").ok);
    EXPECT_EQ(cache.latencies().storage_read_device.count(), 1u);
    EXPECT_EQ(cache.clear(), 2u);
    EXPECT_FALSE(std::filesystem::exists(dir / "a.npy"));
    EXPECT_FALSE(std::filesystem::exists(dir / "c.npy"));
    EXPECT_TRUE(std::filesystem::exists(dir / "not_ours.npy"));
  }
}

// Issue 15 item 6: a read that fails (injected EIO) is not a hit, is counted in failed_reads only,
// and its entry leaves the cache (file removed, usage given back): the next lookup is a miss.
TEST(Cache, FaultBackendEioReadIsNotAHitAndDropsTheEntry) {
  RealFilesCache rf;
  auto& cache = *rf.cache;
  ASSERT_TRUE(cache.allocate("a", 8).ok);
  ASSERT_TRUE(cache.allocate("b", 8).ok);
  rf.fb->fail_reads(EIO, /*after_n=*/1, /*count=*/1);
  ASSERT_TRUE(cache.access("b", Phase::kDecode, CacheType::kMultiTurn).ok);
  const auto a = cache.access("a", Phase::kDecode, CacheType::kMultiTurn);
  EXPECT_TRUE(a.hit);  // found in the metadata: the caller fails the request
  EXPECT_FALSE(a.ok);
  EXPECT_EQ(a.error, EIO);
  auto s = cache.stats();
  EXPECT_EQ(s.cache_hits, 1u);
  EXPECT_EQ(s.multi_turn_hits, 1u);
  EXPECT_EQ(s.cache_misses, 0u);
  EXPECT_FALSE(cache.contains("a"));
  EXPECT_EQ(s.failed_reads, 1u);
  EXPECT_EQ(tier_of(s, TierId::kStorage).failed_read_bytes, 8 * KiB);
  EXPECT_EQ(s.read_operations, 1u);
  EXPECT_EQ(s.total_read_bytes, 8 * KiB);
  EXPECT_EQ(rf.fb->injected(), 1);
  EXPECT_FALSE(std::filesystem::exists(rf.dir / "a.npy"));
  EXPECT_EQ(tier_of(s, TierId::kStorage).entries, 1u);
  EXPECT_EQ(tier_of(s, TierId::kStorage).usage_bytes, 8 * KiB);
  const auto again = cache.access("a");
  EXPECT_FALSE(again.hit);
  s = cache.stats();
  EXPECT_EQ(s.cache_misses, 1u);
  EXPECT_EQ(s.cache_hits, 1u);
  EXPECT_TRUE(cache.allocate("a", 8).ok);  // admitted again, as a new entry
  EXPECT_TRUE(cache.access("a").ok);
}

TEST(Cache, DemotionFailureKeepsVictimAndCounts) {
  CacheRig c(std::nullopt, 100 * KiB, kv::cache::kUnlimited);
  ASSERT_EQ(c->allocate("A", 60).tier, TierId::kCpu);
  c.fake->fail_writes(ENOSPC);
  auto r = c->allocate("B", 40);  // CPU needs a demotion (fails), then storage write fails
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, ENOSPC);
  const auto s = c->stats();
  EXPECT_EQ(s.failed_demotions, 1u);
  EXPECT_EQ(s.failed_writes, 1u);
  EXPECT_EQ(s.demotions, 0u);
  EXPECT_EQ(s.evictions, 0u);
  EXPECT_EQ(c->location("A"), TierId::kCpu);
  EXPECT_EQ(tier_of(s, TierId::kCpu).usage_bytes, 60 * KiB);
  EXPECT_EQ(tier_of(s, TierId::kStorage).usage_bytes, 0u);
  EXPECT_TRUE(c->access("A").ok);
}

TEST(Cache, ReadFailureIsNotAHitNorARead) {
  CacheRig c(std::nullopt, std::nullopt, kv::cache::kUnlimited);
  ASSERT_TRUE(c->allocate("k", 4).ok);
  c.fake->erase_behind("k");
  auto a = c->access("k");
  EXPECT_TRUE(a.hit);
  EXPECT_FALSE(a.ok);
  EXPECT_EQ(a.error, ENOENT);
  const auto s = c->stats();
  EXPECT_EQ(s.cache_hits, 0u);
  EXPECT_EQ(s.user_cache_hits, 0u);
  EXPECT_EQ(s.failed_reads, 1u);
  EXPECT_EQ(s.read_operations, 0u);
  EXPECT_EQ(s.total_read_bytes, 0u);
  EXPECT_EQ(s.decode_reads, 0u);
  EXPECT_EQ(tier_of(s, TierId::kStorage).bytes_read, 0u);
  EXPECT_EQ(tier_of(s, TierId::kStorage).entries, 0u);
  EXPECT_EQ(tier_of(s, TierId::kStorage).usage_bytes, 0u);
  EXPECT_FALSE(c->contains("k"));
}

// A read cancelled at the end of the drain (ECANCELED from the backend's stop) is not a hit, but
// the entry stays: the cancellation says nothing about the object.
TEST(Cache, CancelledReadKeepsTheEntry) {
  CacheRig c(std::nullopt, std::nullopt, kv::cache::kUnlimited);
  ASSERT_TRUE(c->allocate("k", 4).ok);
  c.fake->fail_reads(ECANCELED);
  const auto a = c->access("k");
  EXPECT_FALSE(a.ok);
  EXPECT_EQ(a.error, ECANCELED);
  auto s = c->stats();
  EXPECT_EQ(s.cache_hits, 0u);
  EXPECT_EQ(s.failed_reads, 1u);
  EXPECT_TRUE(c->contains("k"));
  EXPECT_EQ(tier_of(s, TierId::kStorage).usage_bytes, 4 * KiB);
  c.fake->fail_reads(0);
  EXPECT_TRUE(c->access("k").ok);
}

TEST(Cache, AccessCountsHitsMissesAndTypes) {
  CacheRig c(std::nullopt, std::nullopt, kv::cache::kUnlimited, {}, true, true);
  auto miss = c->access("nope");
  EXPECT_FALSE(miss.hit);
  EXPECT_FALSE(miss.ok);
  ASSERT_TRUE(c->allocate("k", 8, Phase::kPrefill).ok);
  ASSERT_TRUE(c->allocate("k2", 8, Phase::kDecode).ok);
  EXPECT_TRUE(c->access("k", Phase::kDecode, CacheType::kUser).ok);
  EXPECT_TRUE(c->access("k", Phase::kDecode, CacheType::kSystem).ok);
  EXPECT_TRUE(c->access("k", Phase::kPrefill, CacheType::kCommonPhrase).ok);
  auto last = c->access("k", Phase::kPrefill, CacheType::kMultiTurn);
  EXPECT_TRUE(last.ok);
  EXPECT_EQ(last.bytes, 8 * KiB);
  EXPECT_EQ(last.tier, TierId::kStorage);
  EXPECT_DOUBLE_EQ(last.timing.device_s, 4e-6);
  const auto s = c->stats();
  EXPECT_EQ(s.cache_misses, 1u);
  EXPECT_EQ(s.cache_hits, 4u);
  EXPECT_EQ(s.user_cache_hits, 1u);
  EXPECT_EQ(s.system_prompt_hits, 1u);
  EXPECT_EQ(s.common_phrase_hits, 1u);
  EXPECT_EQ(s.multi_turn_hits, 1u);
  EXPECT_EQ(s.decode_reads, 2u);
  EXPECT_EQ(s.prefill_writes, 1u);
  EXPECT_EQ(s.read_operations, 4u);
  EXPECT_EQ(s.total_read_bytes, 32 * KiB);
  EXPECT_EQ(tier_of(s, TierId::kStorage).bytes_read, 32 * KiB);
  EXPECT_EQ(s.storage_tokens_processed, 2u * 8 + 4u * 8);
  EXPECT_EQ(c->latencies().read[2].count(), 4u);
  EXPECT_EQ(c->latencies().storage_read_device.count(), 4u);
  EXPECT_EQ(c->latencies().storage_read_host.count(), 4u);
  EXPECT_EQ(c->latencies().storage_write_device.count(), 2u);
  EXPECT_EQ(series_sum(*c.series, "storage_read_ops"), 4u);
  EXPECT_EQ(series_sum(*c.series, "storage_read_bytes"), 32 * KiB);
}

TEST(Cache, ExistingKeyIsNotRewritten) {
  CacheRig c(std::nullopt, std::nullopt, kv::cache::kUnlimited);
  auto first = c->allocate("k", 8);
  ASSERT_TRUE(first.ok);
  EXPECT_FALSE(first.existed);
  auto again = c->allocate("k", 8);
  EXPECT_TRUE(again.ok);
  EXPECT_TRUE(again.existed);
  EXPECT_EQ(again.timing.total_s, 0.0);
  EXPECT_EQ(c.fake->writes(), 1);
  EXPECT_EQ(c->stats().write_operations, 1u);
}

TEST(Cache, LruTouchChangesEvictionOrder) {
  {
    CacheRig c(std::nullopt, std::nullopt, 30 * KiB);
    for (const char* k : {"a", "b", "c"}) ASSERT_TRUE(c->allocate(k, 10).ok);
    ASSERT_TRUE(c->allocate("d", 10).ok);
    EXPECT_FALSE(c->contains("a"));  // untouched: oldest goes first
    EXPECT_TRUE(c->contains("b"));
  }
  {
    CacheRig c(std::nullopt, std::nullopt, 30 * KiB);
    for (const char* k : {"a", "b", "c"}) ASSERT_TRUE(c->allocate(k, 10).ok);
    ASSERT_TRUE(c->access("a").ok);
    ASSERT_TRUE(c->allocate("d", 10).ok);
    EXPECT_TRUE(c->contains("a"));   // touched: survives
    EXPECT_FALSE(c->contains("b"));  // now the LRU
    EXPECT_TRUE(c->contains("c"));
  }
}

TEST(Cache, NoPromotionOnHit) {
  CacheRig c(std::nullopt, 100 * KiB, kv::cache::kUnlimited);
  ASSERT_EQ(c->allocate("a", 60).tier, TierId::kCpu);
  ASSERT_EQ(c->allocate("b", 40).tier, TierId::kCpu);  // demotes a
  ASSERT_EQ(c->location("a"), TierId::kStorage);
  for (int i = 0; i < 5; ++i) {
    auto r = c->access("a");
    EXPECT_TRUE(r.ok);
    EXPECT_EQ(r.tier, TierId::kStorage);
  }
  EXPECT_EQ(c->location("a"), TierId::kStorage);
  EXPECT_EQ(tier_of(c->stats(), TierId::kCpu).entries, 1u);
}

// As the reference's tests: storage_tokens_processed is invariant under TP 1/2/4 (writes, reads and
// demotions).
TEST(Cache, StorageTokensProcessedInvariantUnderTp) {
  const auto tiny = kv::model::ModelTable::builtin().get("tiny-1b");
  std::vector<std::uint64_t> got, bytes;
  for (int tp : {1, 2, 4}) {
    kv::cache::CacheConfig cfg;
    cfg.model = tiny;
    cfg.tensor_parallel = tp;
    const std::uint64_t obj = tiny.object_bytes(8, tp);
    CacheRig c(std::nullopt, 4 * obj, kv::cache::kUnlimited, cfg, false);
    for (int i = 0; i < 6; ++i) ASSERT_TRUE(c->allocate(key(i), 8).ok);  // CPU holds 3, 3 demoted
    for (int i = 0; i < 3; ++i) {
      ASSERT_EQ(c->location(key(i)), TierId::kStorage);
      ASSERT_TRUE(c->access(key(i)).ok);
      ASSERT_TRUE(c->access(key(i)).ok);
    }
    CacheRig s(std::nullopt, std::nullopt, kv::cache::kUnlimited, cfg, false);
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(s->allocate(key(i), 8).ok);
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(s->access(key(i)).ok);
    got.push_back(c->stats().storage_tokens_processed + s->stats().storage_tokens_processed);
    bytes.push_back(c->stats().tiers[2].bytes_written);
  }
  EXPECT_EQ(got[0], 3u * 8 + 6u * 8 + 5u * 8 + 5u * 8);
  EXPECT_EQ(got[1], got[0]);
  EXPECT_EQ(got[2], got[0]);
  EXPECT_EQ(bytes[1] * 2, bytes[0]);  // the bytes do shard
  EXPECT_EQ(bytes[2] * 4, bytes[0]);
}

TEST(Cache, ResetStatsKeepsEntriesAndUsage) {
  CacheRig c(std::nullopt, 100 * KiB, kv::cache::kUnlimited);
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(c->allocate(key(i), 20).ok);
  ASSERT_TRUE(c->access(key(0)).ok);
  c->access("missing");
  const auto before = c->stats();
  c->reset_stats();
  const auto s = c->stats();
  EXPECT_EQ(s.cache_hits, 0u);
  EXPECT_EQ(s.cache_misses, 0u);
  EXPECT_EQ(s.write_operations, 0u);
  EXPECT_EQ(s.evictions, 0u);
  EXPECT_EQ(s.demotions, 0u);
  EXPECT_EQ(s.storage_tokens_processed, 0u);
  for (int t = 1; t < 3; ++t) {
    EXPECT_EQ(s.tiers[t].bytes_written, 0u);
    EXPECT_EQ(s.tiers[t].entries, before.tiers[t].entries);
    EXPECT_EQ(s.tiers[t].usage_bytes, before.tiers[t].usage_bytes);
    EXPECT_TRUE(s.tiers[t].present);
    EXPECT_EQ(s.tiers[t].limit_bytes, before.tiers[t].limit_bytes);
  }
  EXPECT_EQ(c->latencies().write[1].count(), 0u);
  EXPECT_EQ(c->latencies().read[2].count(), 0u);
  EXPECT_EQ(c->latencies().demotion.count(), 0u);
  EXPECT_EQ(c->keys().size(), 6u);
  EXPECT_TRUE(c->access(key(5)).ok);
  EXPECT_EQ(c->stats().cache_hits, 1u);
}

TEST(Cache, ClearRemovesEveryEntryFromEveryTier) {
  CacheRig c(40 * KiB, 40 * KiB, 1000 * KiB);
  for (int i = 0; i < 12; ++i) ASSERT_TRUE(c->allocate(key(i), 10).ok);
  auto s = c->stats();
  ASSERT_GT(s.tiers[0].entries, 0u);
  ASSERT_GT(s.tiers[1].entries, 0u);
  ASSERT_GT(s.tiers[2].entries, 0u);
  EXPECT_EQ(c->clear(), 12u);
  s = c->stats();
  for (int t = 0; t < 3; ++t) {
    EXPECT_EQ(s.tiers[t].entries, 0u);
    EXPECT_EQ(s.tiers[t].usage_bytes, 0u);
  }
  EXPECT_EQ(c.fake->count(), 0u);
  EXPECT_TRUE(c->keys().empty());
  EXPECT_FALSE(c->access(key(11)).hit);
  EXPECT_TRUE(c->allocate(key(11), 10).ok);  // usable afterwards
}

TEST(Cache, ConstructorValidatesTiers) {
  kv::io::PayloadGenerator gen(1);
  kv::cache::CacheConfig cfg;
  cfg.model = kvtest::kib_model();
  auto build = [&](std::vector<std::unique_ptr<kv::tier::Tier>> t) {
    kv::cache::MultiTierCache c(cfg, std::move(t), gen, nullptr);
  };
  {
    std::vector<std::unique_ptr<kv::tier::Tier>> none;
    EXPECT_THROW(build(std::move(none)), kv::Error);
  }
  {
    std::vector<std::unique_ptr<kv::tier::Tier>> t;
    t.push_back(kv::tier::make_cpu_tier(gen));
    EXPECT_THROW(build(std::move(t)), kv::Error);
  }
  {
    std::vector<std::unique_ptr<kv::tier::Tier>> t;
    t.push_back(kv::tier::make_storage_tier(std::make_unique<kvtest::FakeBackend>()));
    t.push_back(kv::tier::make_cpu_tier(gen));
    EXPECT_THROW(build(std::move(t)), kv::Error);
  }
}

}  // namespace
