// Model-based test of the LRU index: random operation sequences (allocations, lookups, removals,
// injected write failures) on random tier configurations go through the cache and through the
// previous snapshot-sort algorithm (legacy_lru_oracle.hpp). Both must perform the same tier
// operations in the same order (same victims, same demotions, same failures) and end with the same
// usage, entries and counters; usage must equal the bytes the tiers hold (byte conservation).
#include <gtest/gtest.h>

#include <cerrno>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "cache_fixture.hpp"
#include "legacy_lru_oracle.hpp"

namespace {

using kv::tier::TierId;
using kvtest::KiB;

struct Recorder {
  std::vector<std::string> events;
  std::set<std::uint64_t> failing;  // indexes of tier writes that fail
  std::uint64_t writes = 0;
};

// An in-memory tier that records every operation (sizes only).
class RecordingTier final : public kv::tier::Tier {
 public:
  RecordingTier(TierId id, Recorder& rec) : id_(id), rec_(rec) {}
  TierId id() const override { return id_; }
  kv::io::IoResult write(const kv::io::ObjectSpec& spec, const kv::io::PayloadSource&) override {
    kv::io::IoResult r;
    const bool fail = rec_.failing.contains(rec_.writes++);
    rec_.events.push_back((fail ? "X" : "W") + tag() + spec.key);
    if (fail) {
      r.error = EIO;
      return r;
    }
    held_[spec.key] = spec.payload_bytes;
    r.ok = true;
    r.bytes = spec.payload_bytes;
    return r;
  }
  kv::io::IoResult read(const kv::io::ObjectSpec& spec, kv::io::PayloadSink*) override {
    rec_.events.push_back("G" + tag() + spec.key);
    kv::io::IoResult r;
    r.ok = held_.contains(spec.key);
    r.error = r.ok ? 0 : ENOENT;
    return r;
  }
  bool remove(const std::string& key) override {
    rec_.events.push_back("R" + tag() + key);
    return held_.erase(key) > 0;
  }
  std::unique_ptr<kv::io::PayloadSource> source_for(const kv::io::ObjectSpec& spec) override {
    if (id_ == TierId::kStorage || !held_.contains(spec.key)) return nullptr;
    return std::make_unique<kv::io::GeneratedPayload>(gen_, spec.key);
  }
  std::uint64_t held_bytes() const {
    std::uint64_t s = 0;
    for (const auto& [k, b] : held_) s += b;
    return s;
  }
  std::size_t held_count() const { return held_.size(); }

 private:
  std::string tag() const { return std::to_string(static_cast<int>(id_)) + " "; }
  TierId id_;
  Recorder& rec_;
  kv::io::PayloadGenerator gen_{1};
  std::map<std::string, std::uint64_t> held_;
};

// One random scenario: which tiers exist, their limits, the budget and depth limits.
struct Scenario {
  kvtest::LegacyLruOracle::Config oc;
  kv::cache::CacheConfig cc;
};

Scenario random_scenario(std::mt19937_64& rng) {
  Scenario s;
  auto pick = [&](std::uint64_t lo, std::uint64_t hi) {
    return std::uniform_int_distribution<std::uint64_t>(lo, hi)(rng);
  };
  const bool gpu = pick(0, 2) != 0, cpu = pick(0, 3) != 0;
  const std::uint64_t gpu_lim = pick(0, 6) == 0 ? 0 : pick(20, 200) * KiB;
  const std::uint64_t cpu_lim = pick(0, 6) == 0 ? 0 : pick(40, 400) * KiB;
  const std::uint64_t sto_lim = pick(0, 4) == 0 ? kv::cache::kUnlimited : pick(60, 800) * KiB;
  if (gpu) {
    s.oc.tier_ids.push_back(0);
    s.oc.limits.push_back(gpu_lim);
  }
  if (cpu) {
    s.oc.tier_ids.push_back(1);
    s.oc.limits.push_back(cpu_lim);
  }
  s.oc.tier_ids.push_back(2);
  s.oc.limits.push_back(sto_lim);
  s.oc.max_depth = static_cast<int>(pick(0, 3));
  s.oc.min_budget = static_cast<int>(pick(1, 12));
  s.oc.hard_cap = static_cast<int>(pick(static_cast<std::uint64_t>(s.oc.min_budget), 20));
  s.cc.model = kvtest::kib_model();
  s.cc.gpu_limit = gpu_lim;
  s.cc.cpu_limit = cpu_lim;
  s.cc.storage_limit = sto_lim;
  s.cc.max_recursion_depth = s.oc.max_depth;
  s.cc.max_evictions_min = s.oc.min_budget;
  s.cc.max_evictions_hard_cap = s.oc.hard_cap;
  return s;
}

TEST(CacheModel, EvictionOrderMatchesSnapshotAlgorithm) {
  constexpr int kScenarios = 150, kOps = 300;
  for (int seed = 1; seed <= kScenarios; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937_64 rng(static_cast<std::uint64_t>(seed));
    const Scenario sc = random_scenario(rng);
    Recorder rec;
    for (int k = 0; k < kOps; ++k) {
      if (rng() % 20 == 0)
        rec.failing.insert(static_cast<std::uint64_t>(k));  // ~5 % of writes fail
    }
    kvtest::LegacyLruOracle oracle(sc.oc, [&](std::uint64_t n) { return rec.failing.contains(n); });

    kv::io::PayloadGenerator gen(42);
    std::vector<std::unique_ptr<kv::tier::Tier>> tiers;
    std::vector<RecordingTier*> rt;
    for (int id : sc.oc.tier_ids) {
      auto t = std::make_unique<RecordingTier>(static_cast<TierId>(id), rec);
      rt.push_back(t.get());
      tiers.push_back(std::move(t));
    }
    kv::cache::MultiTierCache cache(sc.cc, std::move(tiers), gen, nullptr);

    const std::uint64_t max_tokens = std::uniform_int_distribution<std::uint64_t>(8, 120)(rng);
    for (int op = 0; op < kOps; ++op) {
      const std::string key = "k" + std::to_string(rng() % 60);
      const auto r = rng() % 10;
      if (r < 6) {
        const std::uint64_t tokens = 1 + rng() % max_tokens;
        cache.allocate(key, tokens);
        oracle.allocate(key, tokens * KiB);
      } else if (r < 9) {
        cache.access(key);
        oracle.access(key);
      } else {
        cache.remove(key);
        oracle.remove(key);
      }
    }
    ASSERT_EQ(rec.events, oracle.events);
    const auto st = cache.stats();
    for (std::size_t i = 0; i < rt.size(); ++i) {
      const auto& t = st.tiers[static_cast<std::size_t>(sc.oc.tier_ids[i])];
      EXPECT_EQ(t.usage_bytes, oracle.usage(i)) << "tier " << sc.oc.tier_ids[i];
      EXPECT_EQ(t.entries, oracle.entries(i));
      EXPECT_EQ(t.usage_bytes, rt[i]->held_bytes());  // nothing in flight: usage = bytes held
      EXPECT_EQ(t.entries, rt[i]->held_count());
    }
    EXPECT_EQ(st.forced_storage_admissions, oracle.forced);
    EXPECT_EQ(st.evictions, oracle.evictions);
    EXPECT_EQ(st.demotions, oracle.demotions);
    EXPECT_EQ(st.failed_writes, oracle.failed_writes);
    EXPECT_EQ(st.failed_demotions, oracle.failed_demotions);
    EXPECT_EQ(st.skipped_demotions, 0u);  // single-threaded: a claimed victim never vanishes
    for (int k = 0; k < 60; ++k) {
      const std::string key = "k" + std::to_string(k);
      const int w = oracle.where(key);
      const auto loc = cache.location(key);
      ASSERT_EQ(loc.has_value(), w >= 0) << key;
      if (loc) {
        EXPECT_EQ(static_cast<int>(*loc), sc.oc.tier_ids[static_cast<std::size_t>(w)]) << key;
      }
    }
  }
}

}  // namespace
