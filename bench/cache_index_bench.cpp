// Micro-benchmark of the cache index (docs/performance.md, "Cache index"): lookups, terminal
// evictions and demotions per second with 10³…10⁶ entries in the cache. The tiers keep sizes only
// (no bytes, no timing), so what is measured is the cache's own bookkeeping: the key lookup, the
// LRU touch, the choice of a victim and the metadata move.
//   BM_Lookup/N     access() of a random cached key (a hit: entry lock, LRU touch, tier read)
//   BM_Evict/N      allocate() of a new key into a full storage-only cache: one LRU deletion each
//   BM_Demote/N     allocate() into a full CPU tier over a full storage tier: one CPU → storage
//                   demotion and one storage deletion each
// Run: build/bin/bench_cache_index [--benchmark_filter=...] (target bench_cache_index).
#include <benchmark/benchmark.h>

#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "engine/cache/cache.hpp"

namespace {

constexpr std::uint64_t kTokens = 16;  // 384 KiB entries of tiny-1b (sizes only, nothing stored)

class ZeroSource final : public kv::io::PayloadSource {
 public:
  void fill(std::uint64_t, std::span<std::byte>) const override {}
};

// Sizes-only tier: every operation succeeds at once.
class NullTier final : public kv::tier::Tier {
 public:
  explicit NullTier(kv::tier::TierId id) : id_(id) {}
  kv::tier::TierId id() const override { return id_; }
  kv::io::IoResult write(const kv::io::ObjectSpec& spec, const kv::io::PayloadSource&) override {
    return ok(spec);
  }
  kv::io::IoResult read(const kv::io::ObjectSpec& spec, kv::io::PayloadSink*) override {
    return ok(spec);
  }
  bool remove(const std::string&) override { return true; }
  std::unique_ptr<kv::io::PayloadSource> source_for(const kv::io::ObjectSpec&) override {
    if (id_ == kv::tier::TierId::kStorage) return nullptr;
    return std::make_unique<ZeroSource>();
  }

 private:
  static kv::io::IoResult ok(const kv::io::ObjectSpec& spec) {
    kv::io::IoResult r;
    r.ok = true;
    r.bytes = spec.payload_bytes;
    return r;
  }
  kv::tier::TierId id_;
};

struct Rig {
  kv::io::PayloadGenerator gen{1};
  std::unique_ptr<kv::cache::MultiTierCache> cache;
  std::vector<std::string> keys;  // the keys filled in
  std::uint64_t next = 0;         // counter for new keys
};

// A cache holding n entries that is full: the next admission has to evict (and, with a CPU tier,
// demote) exactly one entry per tier. Built once per (kind, n) and reused across repetitions.
Rig& rig(int kind, std::int64_t n) {  // kind 0: storage only, 1: CPU + storage
  static std::map<std::pair<int, std::int64_t>, std::unique_ptr<Rig>> rigs;
  auto& slot = rigs[{kind, n}];
  if (slot) return *slot;
  slot = std::make_unique<Rig>();
  kv::cache::CacheConfig cfg;
  cfg.model = kv::model::ModelTable::builtin().get("tiny-1b");
  const std::uint64_t entry = cfg.model.object_bytes(kTokens, 1),
                      un = static_cast<std::uint64_t>(n);
  cfg.storage_limit = un * entry;
  std::vector<std::unique_ptr<kv::tier::Tier>> tiers;
  if (kind == 1) {
    cfg.cpu_limit = (un * entry * 5 + 3) / 4;  // its 0.8 target holds n entries
    tiers.push_back(std::make_unique<NullTier>(kv::tier::TierId::kCpu));
  }
  tiers.push_back(std::make_unique<NullTier>(kv::tier::TierId::kStorage));
  slot->cache =
      std::make_unique<kv::cache::MultiTierCache>(cfg, std::move(tiers), slot->gen, nullptr);
  const std::uint64_t fill = kind == 1 ? 2 * un : un;
  for (std::uint64_t i = 0; i < fill; ++i) {
    slot->keys.push_back("k" + std::to_string(i));
    slot->cache->allocate(slot->keys.back(), kTokens);
  }
  return *slot;
}

void BM_Lookup(benchmark::State& state) {
  Rig& r = rig(0, state.range(0));
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<std::size_t> pick(0, r.keys.size() - 1);
  for (auto _ : state) {
    auto a = r.cache->access(r.keys[pick(rng)]);
    benchmark::DoNotOptimize(a);
  }
  state.SetItemsProcessed(state.iterations());
}

void admit_new(benchmark::State& state, int kind) {
  Rig& r = rig(kind, state.range(0));
  for (auto _ : state) {
    auto a = r.cache->allocate("n" + std::to_string(r.next++), kTokens);
    benchmark::DoNotOptimize(a);
  }
  state.SetItemsProcessed(state.iterations());
}
void BM_Evict(benchmark::State& state) {
  admit_new(state, 0);
}
void BM_Demote(benchmark::State& state) {
  admit_new(state, 1);
}

BENCHMARK(BM_Lookup)->RangeMultiplier(10)->Range(1000, 1000000);
BENCHMARK(BM_Evict)->RangeMultiplier(10)->Range(1000, 1000000);
BENCHMARK(BM_Demote)->RangeMultiplier(10)->Range(1000, 1000000);

}  // namespace

BENCHMARK_MAIN();
