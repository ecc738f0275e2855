// --io-trace-log support (docs/workload-modes.md):
//   * TracingTier wraps any tier and logs one row per successful operation to an IoTraceWriter:
//     reads and admissions with the phase of the cache call that caused them (set per thread by
//     TracingStore: Prefill / Decode, Both for a system-prompt prefix read), and a demotion as a
//     Read+Evict row on the source tier followed by a Write+Evict row on the destination tier
//     (detected because the destination write receives the source tier's traced source). Terminal
//     deletions are not logged, as the reference. The Latency_ms cell is the op's measured total
//     latency (the writer prints it only with latency_column, i.e. --io-trace-real).
//   * NullTier is the reference's trace-only backend: it keeps key -> size only, every op succeeds
//     in zero time, reads yield zeros. Used for every tier with --io-trace-log unless
//     --io-trace-real.
// Thread-safe like the tiers they stand for.
#pragma once

#include <memory>

#include "engine/export/io_trace.hpp"
#include "engine/tier/tier.hpp"
#include "engine/workload/processor.hpp"

namespace kv::engine::modes {

std::unique_ptr<tier::Tier> make_null_tier(tier::TierId id);
std::unique_ptr<tier::Tier> make_tracing_tier(std::unique_ptr<tier::Tier> inner,
                                              exporter::IoTraceWriter& log);

// A KvStore that tags the calling thread with the operation's trace phase for the duration of each
// call (what TracingTier logs), then forwards to `inner`.
class TracingStore final : public workload::KvStore {
 public:
  explicit TracingStore(workload::KvStore& inner) : inner_(inner) {}
  cache::AllocResult allocate(const std::string& key, std::uint64_t tokens,
                              cache::Phase phase) override;
  cache::AccessResult access(const std::string& key, cache::Phase phase,
                             cache::CacheType type) override;
  bool contains(const std::string& key) const override { return inner_.contains(key); }

 private:
  workload::KvStore& inner_;
};

}  // namespace kv::engine::modes
