// Test helpers for the workload modes: a real MultiTierCache over null tiers (sizes only, no I/O),
// a micro model (256 bytes per token), and a KvStore over the cache.
#pragma once

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "engine/cache/cache.hpp"
#include "engine/io/payload.hpp"
#include "engine/modes/trace_tiers.hpp"
#include "engine/workload/processor.hpp"
#include "model/model.hpp"
#include "support/files.hpp"

namespace modestest {

inline kv::model::ModelConfig micro_model() {
  kv::model::ModelConfig m;
  m.key = "micro";
  m.name = "Micro";
  m.num_layers = 1;
  m.hidden_dim = 64;
  m.num_heads = 1;
  m.kv_heads = 1;
  return m;  // 1 × 1 × 64 × 2 × 2 = 256 bytes per token
}

struct NullCache {
  kv::io::PayloadGenerator gen{1};
  std::unique_ptr<kv::cache::MultiTierCache> cache;
  // Tiers: GPU if gpu_limit > 0, CPU if cpu_limit > 0, storage. `wrap` wraps each (tracing).
  explicit NullCache(std::uint64_t gpu_limit = 0, std::uint64_t cpu_limit = 0,
                     std::uint64_t storage_limit = kv::cache::kUnlimited,
                     kv::exporter::IoTraceWriter* trace = nullptr) {
    std::vector<std::unique_ptr<kv::tier::Tier>> tiers;
    if (gpu_limit > 0) tiers.push_back(kv::engine::modes::make_null_tier(kv::tier::TierId::kGpu));
    if (cpu_limit > 0) tiers.push_back(kv::engine::modes::make_null_tier(kv::tier::TierId::kCpu));
    tiers.push_back(kv::engine::modes::make_null_tier(kv::tier::TierId::kStorage));
    if (trace != nullptr)
      for (auto& t : tiers) t = kv::engine::modes::make_tracing_tier(std::move(t), *trace);
    kv::cache::CacheConfig cc;
    cc.gpu_limit = gpu_limit;
    cc.cpu_limit = cpu_limit;
    cc.storage_limit = storage_limit;
    cc.model = micro_model();
    cache = std::make_unique<kv::cache::MultiTierCache>(cc, std::move(tiers), gen, nullptr);
  }
};

class CacheStore final : public kv::workload::KvStore {
 public:
  explicit CacheStore(kv::cache::MultiTierCache& c) : c_(c) {}
  kv::cache::AllocResult allocate(const std::string& key, std::uint64_t tokens,
                                  kv::cache::Phase phase) override {
    return c_.allocate(key, tokens, phase);
  }
  kv::cache::AccessResult access(const std::string& key, kv::cache::Phase phase,
                                 kv::cache::CacheType type) override {
    return c_.access(key, phase, type);
  }
  bool contains(const std::string& key) const override { return c_.contains(key); }

 private:
  kv::cache::MultiTierCache& c_;
};

using kv::testsupport::read_lines;
using kv::testsupport::split;

}  // namespace modestest
