// Phase 2 of a run (run/run.hpp): set-up writes before the window, then the request source.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <thread>

#include "core/log.hpp"
#include "engine/run/features.hpp"
#include "engine/run/progress.hpp"
#include "engine/run/run.hpp"
#include "engine/run/signals.hpp"
#include "engine/run/state.hpp"

namespace kv::engine::run {

namespace {

// --decode-only: pre-populates num_users × 10 entries of 2048 tokens (and the prefix prompts),
// then resets the cache statistics, so the window only reads (docs/workload-modes.md).
void prepopulate_for_decode_only(RunState& s) {
  const EngineConfig& c = s.config();
  cache::MultiTierCache& cache = *s.cache;
  cache.set_alloc_limit_enabled(false);  // no semaphore while pre-populating (reference)
  const std::uint64_t n = static_cast<std::uint64_t>(c.num_users) * 10;
  s.factory_settings.prepopulated_keys = n;
  std::fprintf(stdout, "Pre-populating %llu entries of 2048 tokens for --decode-only...\n",
               static_cast<unsigned long long>(n));
  std::fflush(stdout);
  std::atomic<std::uint64_t> next{0}, failed{0};
  PhaseProgress progress(ProgressOptions::from(c, s.plan.rank), "prepopulate", "pre-populating",
                         "entries", [&] {
                           const auto st = cache.stats();
                           return PhaseSample(std::min(next.load(), n), n, st.tiers[2].bytes_read,
                                              st.tiers[2].bytes_written);
                         });
  const unsigned nthreads = std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < nthreads; ++t)
    pool.emplace_back([&] {
      for (std::uint64_t i; (i = next.fetch_add(1)) < n && !signals::stop_requested();) {
        if (!cache.allocate(workload::RequestFactory::prepop_key(i), 2048, cache::Phase::kPrefill)
                 .ok)
          ++failed;
      }
    });
  for (auto& t : pool) t.join();
  for (int i = 0; i < workload::PrefixCache::kNumPrompts && !c.disable_prefix_caching; ++i) {
    const auto& p = s.prefix.prompt(i);
    if (!cache.allocate(p.key, p.tokens, cache::Phase::kPrefill).ok) ++failed;
  }
  progress.finish();
  if (failed > 0) log::warn("--decode-only: {} pre-population writes failed", failed.load());
  cache.set_alloc_limit_enabled(true);
  cache.reset_stats();
}

// The selected mode's producer, with the per-request draws of the replays and RAG follow-ups.
std::unique_ptr<modes::Producer> make_producer(RunState& s) {
  const EngineConfig& c = s.config();
  const YamlSettings& y = s.plan.yaml;
  modes::ReplayDraws draws;
  draws.users.templates = y.user_templates;
  draws.users.qos = y.qos;
  draws.users.interactive_probability = y.interactive_probability;
  draws.users.responsive_threshold = y.responsive_threshold;
  draws.prefix_caching = !c.disable_prefix_caching;
  draws.prefix_probability = y.system_prompt_hit_probability;
  draws.write_only_threshold = model::kPrefillOnlyContextThreshold;
  draws.prepopulated_keys = s.factory_settings.prepopulated_keys;
  draws.seed = s.data.workload_seed;
  modes::FollowUp follow;
  if (s.rag != nullptr)
    follow = [r = s.rag](const workload::Request& q) { return r->follow_up(q); };
  return s.mode_source->make_producer(
      modes::ProducerInputs{c, y, *s.factory, s.queue, s.stop, *s.conversations, std::move(draws),
                            std::move(follow), features::user_pool(c, y), s.clock});
}

}  // namespace

Run::Prepared Run::Assembled::prepare() && {
  RunState& s = *s_;
  for (RunObserver* o : s.observers) o->on_prepare(s);  // --precondition, ...
  if (s.config().decode_only) prepopulate_for_decode_only(s);
  s.factory = std::make_unique<workload::RequestFactory>(s.users, s.data.workload_seed,
                                                         s.factory_settings, *s.conversations);
  s.recorder = std::make_unique<Recorder>(s.data, s.stop, s.config().max_requests, s.plan.model,
                                          s.config().tensor_parallel, s.clock);
  s.producer_owner = make_producer(s);
  s.producer = s.producer_owner.get();
  return Prepared(std::move(s_));
}

}  // namespace kv::engine::run
