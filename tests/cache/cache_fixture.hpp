// Shared fixture for the cache tests: a 1 KiB-per-token model (so token counts read as KiB) and
// builders for GPU / CPU / fake-storage caches.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "engine/cache/cache.hpp"
#include "model/model.hpp"
#include "support/fake_backend.hpp"

namespace kvtest {

using kv::testsupport::FakeBackend;
using kv::testsupport::generated;
using kv::testsupport::VectorSink;

constexpr std::uint64_t KiB = 1024;

// 1 layer × 2 kv heads × head_dim 128 × (K,V) × float16 = 1024 B/token.
inline kv::model::ModelConfig kib_model() {
  kv::model::ModelConfig m;
  m.key = "test-1k";
  m.name = "Test 1 KiB/token";
  m.num_layers = 1;
  m.hidden_dim = 256;
  m.num_heads = 2;
  m.kv_heads = 2;
  m.attention = kv::model::Attention::kGQA;
  return m;
}

struct CacheRig {
  kv::io::PayloadGenerator gen{42};
  FakeBackend* fake = nullptr;  // owned by the storage tier
  std::unique_ptr<kv::cache::MultiTierCache> cache;
  std::unique_ptr<kv::metrics::TimeSeries> series;

  // gpu_limit / cpu_limit: nullopt = tier absent. Limits in bytes.
  CacheRig(std::optional<std::uint64_t> gpu_limit, std::optional<std::uint64_t> cpu_limit,
           std::uint64_t storage_limit, kv::cache::CacheConfig cfg = {}, bool store_bytes = true,
           bool with_series = false) {
    if (cfg.model.num_layers == 0) cfg.model = kib_model();
    std::vector<std::unique_ptr<kv::tier::Tier>> tiers;
    if (gpu_limit) {
      cfg.gpu_limit = *gpu_limit;
      tiers.push_back(kv::tier::make_simulated_gpu_tier(gen, 1000.0));
    }
    if (cpu_limit) {
      cfg.cpu_limit = *cpu_limit;
      tiers.push_back(kv::tier::make_cpu_tier(gen));
    }
    cfg.storage_limit = storage_limit;
    auto fb = std::make_unique<FakeBackend>(store_bytes);
    fake = fb.get();
    tiers.push_back(kv::tier::make_storage_tier(std::move(fb)));
    if (with_series) {
      series = std::make_unique<kv::metrics::TimeSeries>(3600);
      series->start(kv::mono_ns());
    }
    cache = std::make_unique<kv::cache::MultiTierCache>(cfg, std::move(tiers), gen, series.get());
  }
  kv::cache::MultiTierCache& operator*() { return *cache; }
  kv::cache::MultiTierCache* operator->() { return cache.get(); }
};

inline const kv::cache::TierCounters& tier_of(const kv::cache::CacheStats& s, kv::tier::TierId t) {
  return s.tiers[static_cast<std::size_t>(t)];
}

}  // namespace kvtest
