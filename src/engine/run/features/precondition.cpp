// --precondition as a run feature (docs/workload-modes.md "Preconditioning").
#include <atomic>
#include <cstdio>
#include <thread>

#include "core/log.hpp"
#include "core/units.hpp"
#include "engine/run/features.hpp"
#include "engine/run/progress.hpp"
#include "engine/run/signals.hpp"
#include "engine/run/state.hpp"

namespace kv::engine::run::features {

namespace {

// Target bytes: --precondition-size-gb, else twice the storage capacity (none when unlimited).
std::optional<std::uint64_t> target_bytes(const EngineConfig& c, std::uint64_t storage_limit) {
  if (c.precondition_size_gb > 0) return gib_to_bytes(c.precondition_size_gb);
  if (storage_limit == cache::kUnlimited) return std::nullopt;
  return storage_limit > UINT64_MAX / 2 ? UINT64_MAX : 2 * storage_limit;
}

void print_result(const modes::PreconditionResult& r) {
  std::fprintf(stdout,
               "Preconditioning done: %.2f GiB in %llu entries, %llu failed writes, %.1f s%s\n",
               bytes_to_gib(r.written_bytes), static_cast<unsigned long long>(r.entries),
               static_cast<unsigned long long>(r.failures), r.seconds,
               r.stopped_on_failures ? " (stopped: more than 50 consecutive failures)"
               : r.interrupted       ? " (interrupted)"
                                     : "");
  std::fflush(stdout);
  if (r.stopped_on_failures)
    log::warn("--precondition stopped after more than 50 consecutive failed writes");
}

}  // namespace

void Precondition::on_prepare(RunState& s) {
  const EngineConfig& c = s.config();
  modes::PreconditionOptions o;
  const std::optional<std::uint64_t> target = target_bytes(c, s.storage_limit);
  if (!target) {
    log::warn(
        "--precondition skipped: the storage capacity is unlimited (give --precondition-size-gb or "
        "--storage-capacity-gb)");
    return;
  }
  o.target_bytes = *target;
  const unsigned hw = std::thread::hardware_concurrency();
  o.threads = c.precondition_threads > 0 ? static_cast<unsigned>(c.precondition_threads)
                                         : (hw > 0 ? hw : 4);
  o.entry_bytes = s.plan.model.object_bytes(modes::kPreconditionTokens, c.tensor_parallel);
  std::fprintf(stdout,
               "Preconditioning: writing %.2f GiB of %llu-token entries (%.1f MiB each) with %u "
               "threads...\n",
               bytes_to_gib(o.target_bytes),
               static_cast<unsigned long long>(modes::kPreconditionTokens),
               static_cast<double>(o.entry_bytes) / static_cast<double>(kMiB), o.threads);
  std::fflush(stdout);
  cache::MultiTierCache& cache = *s.cache;
  std::atomic<std::uint64_t> written{0};
  PhaseProgress progress(
      ProgressOptions::from(c, s.plan.rank), "prepopulate", "preconditioning", "bytes", [&] {
        const auto st = cache.stats();
        return PhaseSample(std::min(written.load(), o.target_bytes), o.target_bytes,
                           st.tiers[2].bytes_read, st.tiers[2].bytes_written);
      });
  result_ = modes::run_precondition(
      [&cache, &written, bytes = o.entry_bytes](const std::string& key) {
        auto r = cache.allocate(key, modes::kPreconditionTokens, cache::Phase::kPrefill);
        if (r.ok) written += bytes;
        return r;
      },
      o, [] { return signals::stop_requested(); });
  progress.finish();
  print_result(*result_);
  cache.reset_stats();
}

void Precondition::on_finish(RunState& s) {
  if (result_) s.data.mode_results["precondition"] = modes::to_json(*result_);
}

}  // namespace kv::engine::run::features
