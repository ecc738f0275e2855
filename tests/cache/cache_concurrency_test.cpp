// Concurrency: many threads allocate and read; afterwards usage equals Σ entry sizes per tier
// (no drift, never negative), bytes are conserved and the fake storage holds exactly our entries.
#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "cache_fixture.hpp"

namespace {

using kv::tier::TierId;
using kvtest::CacheRig;
using kvtest::KiB;
using kvtest::tier_of;

struct SizeBook {
  std::mutex mu;
  std::map<std::string, std::uint64_t> size;
  void put(const std::string& k, std::uint64_t s) {
    std::lock_guard lk(mu);
    size[k] = s;
  }
};

// remove_every > 0: every remove_every-th step also removes one of the thread's earlier keys.
void hammer(CacheRig& c, SizeBook& book, int threads, int per_thread, int max_tokens,
            int remove_every = 0) {
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      std::mt19937 rng(static_cast<unsigned>(t) * 7919u + 1u);
      std::uniform_int_distribution<int> tok(1, max_tokens);
      std::vector<std::string> mine;
      for (int i = 0; i < per_thread; ++i) {
        const std::string k = "t" + std::to_string(t) + "_" + std::to_string(i);
        const int n = tok(rng);
        auto r = c->allocate(k, static_cast<std::uint64_t>(n));
        EXPECT_TRUE(r.ok) << k;
        book.put(k, static_cast<std::uint64_t>(n) * KiB);
        mine.push_back(k);
        // Read a few of our earlier keys (some may have been evicted: misses are fine).
        std::uniform_int_distribution<std::size_t> pick(0, mine.size() - 1);
        for (int j = 0; j < 2; ++j) c->access(mine[pick(rng)]);
        if (remove_every > 0 && i % remove_every == 0) c->remove(mine[pick(rng)]);
      }
    });
  }
  for (auto& th : ts) th.join();
}

// Per tier: usage == Σ sizes of the entries there, entries == their number; storage holds exactly
// the storage entries. Returns the per-tier byte sums.
std::array<std::uint64_t, 3> expect_usage_is_entry_bytes(CacheRig& c, const SizeBook& book,
                                                         const kv::cache::CacheStats& s) {
  std::array<std::uint64_t, 3> sum{}, n{};
  for (const auto& k : c->keys()) {
    const auto t = static_cast<std::size_t>(*c->location(k));
    sum[t] += book.size.at(k);
    ++n[t];
  }
  for (std::size_t t = 0; t < 3; ++t) {
    EXPECT_EQ(s.tiers[t].usage_bytes, sum[t]) << kv::tier::tier_name(static_cast<TierId>(t));
    EXPECT_EQ(s.tiers[t].entries, n[t]);
  }
  EXPECT_EQ(sum[2], c.fake->total_bytes());
  EXPECT_EQ(n[2], c.fake->count());
  return sum;
}

TEST(CacheConcurrency, StorageOnlyEvictionHasNoUsageDrift) {
  CacheRig c(std::nullopt, std::nullopt, 200 * KiB, {}, /*store_bytes=*/false);
  SizeBook book;
  hammer(c, book, 8, 400, 16);
  const auto s = c->stats();
  const auto& d = tier_of(s, TierId::kStorage);
  std::uint64_t sum = 0;
  for (const auto& k : c->keys()) sum += book.size.at(k);
  EXPECT_EQ(d.usage_bytes, sum);
  EXPECT_EQ(d.usage_bytes, c.fake->total_bytes());
  EXPECT_EQ(d.entries, c.fake->count());
  EXPECT_EQ(c->keys().size(), c.fake->count());
  EXPECT_EQ(s.write_operations, 3200u);
  EXPECT_EQ(s.failed_writes, 0u);
  EXPECT_EQ(s.failed_reads, 0u);
  EXPECT_EQ(s.evictions, 3200u - d.entries);
  EXPECT_EQ(s.total_write_bytes, d.usage_bytes + d.evicted_bytes);
  EXPECT_EQ(s.cache_hits + s.cache_misses, 6400u);
  EXPECT_LE(d.usage_bytes, 200 * KiB + 16 * KiB * 8);  // over-commit bounded by in-flight writes
}

TEST(CacheConcurrency, ThreeTierCascadeHasNoDriftAndConservesBytes) {
  CacheRig c(64 * KiB, 128 * KiB, 512 * KiB, {}, /*store_bytes=*/false);
  SizeBook book;
  hammer(c, book, 8, 300, 24);
  const auto s = c->stats();
  const auto sum = expect_usage_is_entry_bytes(c, book, s);
  EXPECT_EQ(s.write_operations, 2400u);
  EXPECT_EQ(s.failed_writes + s.failed_demotions + s.failed_reads, 0u);
  const auto& d = tier_of(s, TierId::kStorage);
  // Every admitted byte is in some tier or was deleted from storage.
  EXPECT_EQ(s.total_write_bytes, sum[0] + sum[1] + sum[2] + d.evicted_bytes);
  // Demotions appear once as a read on the source and once as a write on the destination.
  std::uint64_t written = 0, read = 0;
  for (const auto& t : s.tiers) {
    written += t.bytes_written;
    read += t.bytes_read;
  }
  EXPECT_EQ(written, s.total_write_bytes + s.demoted_bytes);
  EXPECT_EQ(read, s.total_read_bytes + s.demoted_bytes);
  EXPECT_EQ(s.evictions, s.demotions + d.evictions);
  EXPECT_EQ(c->latencies().demotion.count(), s.demotions);
  EXPECT_GT(s.tiers[0].demotions_out, 0u);
  EXPECT_GT(s.tiers[1].demotions_out, 0u);
  EXPECT_GT(d.evictions, 0u);
}

// Claimed victims removed under the evicting thread (RAG-style removals race with demotions and
// deletions): usage still equals Σ entry sizes per tier and storage holds exactly our entries.
TEST(CacheConcurrency, RemovalsRacingEvictionsLeaveNoDrift) {
  CacheRig c(32 * KiB, 64 * KiB, 256 * KiB, {}, /*store_bytes=*/false);
  SizeBook book;
  hammer(c, book, 8, 300, 12, /*remove_every=*/3);
  const auto s = c->stats();
  expect_usage_is_entry_bytes(c, book, s);
  EXPECT_EQ(s.write_operations, 2400u);
  EXPECT_EQ(s.failed_writes + s.failed_demotions, 0u);
  EXPECT_GT(s.demotions, 0u);
  EXPECT_GT(tier_of(s, TierId::kStorage).evictions, 0u);
  // Every entry is usable after the storm (no entry stranded outside the LRU index): filling the
  // cache with new keys evicts or demotes all of the old ones.
  for (int i = 0; i < 400; ++i) ASSERT_TRUE(c->allocate("fill" + std::to_string(i), 12).ok);
  for (const auto& k : c->keys()) EXPECT_EQ(k.rfind("fill", 0), 0u) << k;
}

TEST(CacheConcurrency, SameKeyIsWrittenOnce) {
  CacheRig c(std::nullopt, std::nullopt, kv::cache::kUnlimited);
  std::atomic<int> fresh{0}, existed{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < 8; ++t) {
    ts.emplace_back([&] {
      auto r = c->allocate("same", 16);
      EXPECT_TRUE(r.ok);
      (r.existed ? existed : fresh)++;
    });
  }
  for (auto& th : ts) th.join();
  EXPECT_EQ(fresh.load(), 1);
  EXPECT_EQ(existed.load(), 7);
  EXPECT_EQ(c.fake->writes(), 1);
  EXPECT_EQ(tier_of(c->stats(), TierId::kStorage).usage_bytes, 16 * KiB);
}

TEST(CacheConcurrency, MaxConcurrentAllocsBoundsWriters) {
  kv::cache::CacheConfig cfg;
  cfg.max_concurrent_allocs = 2;
  CacheRig c(std::nullopt, std::nullopt, kv::cache::kUnlimited, cfg);
  ASSERT_TRUE(c->allocate("r", 4).ok);
  c.fake->gate_all();
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t) {
    ts.emplace_back([&, t] { EXPECT_TRUE(c->allocate("k" + std::to_string(t), 4).ok); });
  }
  c.fake->wait_blocked(2);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(c.fake->blocked(), 2);  // the other two wait on the semaphore
  EXPECT_TRUE(c->access("r").ok);   // reads are not limited by the semaphore
  c.fake->open_gate();
  for (auto& th : ts) th.join();
  EXPECT_EQ(c->stats().write_operations, 5u);
}

}  // namespace
