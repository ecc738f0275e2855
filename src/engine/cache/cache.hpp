// The multi-tier KV cache (contract; owned by the tier/cache work). Faithful to the
// reference's cache with its leaks fixed (docs/cache.md):
//   * tier order GPU → CPU → storage (absent tiers skipped); reservations under a lock;
//   * _ensure_space rules: 0.8 target (terminal tier 1.0), 0.95 large-entry skip, 5 % near-empty,
//     20 % / 50 % bail-out, LRU by (last_access, access_count) on a logical clock (a per-tier
//     ordered index, O(log n): the victims of the reference's snapshot, in its order), drift
//     recount, budget min(5000, max(1000, n + 100)), recursion limit 10; recursive demotion;
//     terminal deletion (unlink); forced storage admission; no promotion on hit;
//   * fixed: reservations of skipped/failed demotions are released; a 0-capacity tier admits
//     nothing (not even zero-byte entries); writes, reads, demotions and hits are counted after
//     they succeed; failures are counted apart (failed_*) and an entry whose read failed is
//     dropped; usage = Σ entry sizes + in-flight reservations, always.
// Thread-safe: many workers call allocate()/access() concurrently. The metadata lock is never held
// across tier I/O; only the entry's own lock is (concurrent readers of one key serialise, as in the
// reference; two allocations of one key serialise, the second one returns existed).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/io/payload.hpp"
#include "engine/metrics/latency.hpp"
#include "engine/metrics/timeseries.hpp"
#include "engine/tier/tier.hpp"
#include "model/model.hpp"

namespace kv::cache {

enum class Phase { kPrefill, kDecode, kPrefillDecode };
enum class CacheType { kUser, kSystem, kCommonPhrase, kMultiTurn };

inline constexpr std::uint64_t kUnlimited = std::numeric_limits<std::uint64_t>::max();

struct CacheConfig {
  std::uint64_t gpu_limit = 0;  // bytes (gpu_mem_gb × num_gpus), ignored if no GPU tier
  std::uint64_t cpu_limit = 0;  // bytes
  std::uint64_t storage_limit = kUnlimited;
  double target_usage_ratio = 0.8;
  double large_entry_limit_ratio = 0.95;
  int max_recursion_depth = 10;
  int max_evictions_hard_cap = 5000;
  int max_evictions_min = 1000;
  int max_concurrent_allocs = 0;  // 0 = unlimited; semaphore around allocate() only
  int tensor_parallel = 1;
  model::ModelConfig model;  // object size and .npy shape come from here
};

struct AllocResult {
  bool ok = false;
  bool existed = false;  // key already cached: no I/O, latency 0
  tier::TierId tier = tier::TierId::kStorage;
  io::IoTiming timing;  // of this write only (eviction work excluded, as in the reference)
  int error = 0;
};

struct AccessResult {
  bool hit = false;
  bool ok = false;  // hit and the read succeeded
  tier::TierId tier = tier::TierId::kStorage;
  io::IoTiming timing;
  std::uint64_t bytes = 0;
  int error = 0;
};

struct TierCounters {
  std::uint64_t bytes_read = 0, bytes_written = 0;
  std::uint64_t entries = 0, usage_bytes = 0;
  std::uint64_t offloads = 0;  // entries admitted or demoted into this tier
  std::uint64_t demotions_out = 0, demoted_bytes_out = 0;
  std::uint64_t evictions = 0, evicted_bytes = 0;  // terminal deletions (storage)
  std::uint64_t failed_read_bytes = 0;  // entry bytes of reads that failed (or were cancelled)
  std::uint64_t limit_bytes = 0;        // configured capacity (kUnlimited = no limit)
  bool present = false;                 // tier exists in this cache
};

struct CacheStats {
  std::uint64_t cache_hits = 0, cache_misses = 0;
  std::uint64_t system_prompt_hits = 0, common_phrase_hits = 0, user_cache_hits = 0,
                multi_turn_hits = 0;
  std::uint64_t prefill_writes = 0, decode_reads = 0;
  std::uint64_t read_operations = 0, write_operations = 0;  // successful ones
  std::uint64_t total_read_bytes = 0, total_write_bytes = 0;
  std::uint64_t failed_reads = 0, failed_writes = 0, failed_demotions = 0;
  std::uint64_t failed_write_bytes =
      0;  // object bytes of admissions that failed (or were cancelled)
  std::uint64_t forced_storage_admissions =
      0;                                      // storage admitted over its limit (nothing to evict)
  std::uint64_t storage_admission_waits = 0;  // storage full of in-flight writes: waited for one
  std::uint64_t skipped_demotions = 0;        // victim vanished/moved: reservation released
  std::uint64_t storage_tokens_processed = 0;
  std::uint64_t evictions = 0;  // all evictions (demotions + terminal deletions), as the reference
  std::uint64_t demotions = 0, demoted_bytes = 0;
  std::array<TierCounters, 3> tiers{};  // indexed by TierId
  bool has_gpu = false;
};

// Latency recorders the cache fills (seconds). Reads/admissions only, as the reference; demotions
// go to `demotion` (ours).
struct CacheLatencies {
  std::array<metrics::LatencyRecorder, 3> read, write;  // per TierId, total latency
  metrics::LatencyRecorder storage_read_device, storage_read_host;
  metrics::LatencyRecorder storage_write_device, storage_write_host;
  metrics::LatencyRecorder demotion;  // one per demotion (source read + destination write)
  void clear();
};

class MultiTierCache {
 public:
  // `tiers` in order (GPU optional, CPU optional if limit 0 it may still be passed; storage last
  // and required; kv::Error kConfigurationError otherwise). Limits come from cfg by tier id. `gen`
  // must outlive the cache. `series` may be null (else every tier read/write is added, demotions
  // too).
  MultiTierCache(CacheConfig cfg, std::vector<std::unique_ptr<tier::Tier>> tiers,
                 const io::PayloadGenerator& gen, metrics::TimeSeries* series);
  ~MultiTierCache();

  // docs/cache.md, "Allocation". Object = model.object_bytes(num_tokens, TP), shape
  // model.npy_shape(num_tokens, TP).
  AllocResult allocate(const std::string& key, std::uint64_t num_tokens,
                       Phase phase = Phase::kPrefill);
  // docs/cache.md, "Lookup". Reads the whole object from its tier; updates LRU; no promotion.
  // `sink` (optional) receives the bytes read (verification); a miss or failed read gives none.
  AccessResult access(const std::string& key, Phase phase = Phase::kDecode,
                      CacheType type = CacheType::kUser, io::PayloadSink* sink = nullptr);
  bool contains(const std::string& key) const;
  // Where the key lives now (nullopt if not cached).
  std::optional<tier::TierId> location(const std::string& key) const;
  std::vector<std::string> keys() const;

  CacheStats stats() const;
  // Bytes each tier holds now (indexed by TierId; nullopt for an absent tier), the same figure as
  // stats().tiers[t].usage_bytes (entries + in-flight reservations), read under the usage lock
  // alone: cheap enough for the once-a-second occupancy gauge.
  std::array<std::optional<std::uint64_t>, 3> usage_now() const;
  const CacheLatencies& latencies() const;
  // Zeroes counters and latencies; keeps entries and usage (as the reference's reset_stats()).
  void reset_stats();
  // Deletes every entry from every tier (files removed). Returns the number of entries removed.
  std::size_t clear();
  // Deletes one entry from its tier (file removed), waiting for its in-flight I/O; false if the key
  // is not cached. Not counted as an eviction (RAG document eviction, workload modes).
  bool remove(const std::string& key);
  // Turns the --max-concurrent-allocs semaphore off/on (decode-only pre-population runs without it,
  // as the reference). Only between runs of allocations, not while allocations are in flight.
  void set_alloc_limit_enabled(bool enabled);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kv::cache
