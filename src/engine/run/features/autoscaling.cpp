// --enable-autoscaling as a run feature (docs/workload-modes.md "Autoscaling").
#include <algorithm>

#include "engine/run/features.hpp"
#include "engine/run/state.hpp"

namespace kv::engine::run::features {

namespace {

constexpr unsigned kMaxWorkers = 500;
constexpr std::uint32_t kMaxUsers = 100000;  // --num-users limit (docs/engine.md)

modes::AutoscalerSettings settings(const EngineConfig& c, const YamlSettings& y) {
  modes::AutoscalerSettings s;
  s.capacity_mode = c.autoscaler_mode == AutoscalerMode::kCapacity;
  s.target_saturation = c.target_saturation;
  s.min_users = static_cast<std::uint32_t>(y.autoscaler_min_users);
  s.max_users = std::max(user_pool(c, y), 1u);
  s.scale_up_factor = y.autoscaler_scale_up_factor;
  s.scale_down_factor = y.autoscaler_scale_down_factor;
  s.consecutive_samples = static_cast<std::uint32_t>(y.autoscaler_consecutive_samples_required);
  s.read_p95_threshold_ms = y.saturation_read_latency_p95_threshold_ms;
  s.write_p95_threshold_ms = y.saturation_write_latency_p95_threshold_ms;
  s.queue_depth_threshold = y.saturation_queue_depth_threshold;
  s.window = static_cast<std::uint32_t>(y.saturation_history_window_size);
  s.sample_interval_s = y.autoscaler_sample_interval_s;
  return s;
}

// What the autoscaler samples: tokens, storage bytes and P95 latencies, queue depth.
modes::MonitorProbe probe(const std::atomic<std::uint64_t>& tokens, cache::MultiTierCache& cache,
                          workload::RequestQueue& queue) {
  modes::MonitorProbe p;
  p.tokens = [&tokens] { return tokens.load(); };
  p.storage_bytes = [&cache] {
    const cache::CacheStats st = cache.stats();
    const auto& t = st.tiers[static_cast<std::size_t>(tier::TierId::kStorage)];
    return std::pair<std::uint64_t, std::uint64_t>(t.bytes_read, t.bytes_written);
  };
  p.storage_p95_ms = [&cache] {
    const auto i = static_cast<std::size_t>(tier::TierId::kStorage);
    const auto& lat = cache.latencies();
    const auto r = lat.read[i].histogram(), w = lat.write[i].histogram();
    return std::pair<double, double>(r.count() > 0 ? r.percentile(95) * 1e3 : 0.0,
                                     w.count() > 0 ? w.percentile(95) * 1e3 : 0.0);
  };
  p.queue_depth = [&queue] { return queue.size(); };
  return p;
}

}  // namespace

std::uint32_t user_pool(const EngineConfig& c, const YamlSettings& y) {
  const auto users = static_cast<std::uint32_t>(c.num_users);
  if (!c.enable_autoscaling) return users;
  return std::max(users, std::min(static_cast<std::uint32_t>(y.autoscaler_max_users), kMaxUsers));
}

unsigned worker_count(const EngineConfig& c, const YamlSettings& y, unsigned standard) {
  if (!c.enable_autoscaling) return standard;
  return std::min<unsigned>(user_pool(c, y), kMaxWorkers);
}

void Autoscaling::on_window_start(RunState& s) {
  modes::Producer* prod = s.producer;
  autoscaler_ = std::make_unique<modes::Autoscaler>(
      settings(s.config(), s.plan.yaml), static_cast<std::uint32_t>(s.config().num_users),
      probe(tokens_, *s.cache, s.queue),
      [prod](std::uint32_t n) {
        prod->set_active_users(n);
        return prod->active_users();
      },
      s.stop);
  autoscaler_->start(s.t0_ns);
}

void Autoscaling::on_request_done(const workload::Request& req, bool completed) {
  if (completed) tokens_.fetch_add(req.generate_tokens, std::memory_order_relaxed);
}

std::optional<StopReason> Autoscaling::stop_reason(const RunState& /*s*/) const {
  return autoscaler_ ? autoscaler_->stop_reason() : std::nullopt;
}

void Autoscaling::on_finish(RunState& s) {
  if (!autoscaler_) return;
  autoscaler_->join();
  s.data.mode_results["throughput_timeline"] = autoscaler_->timeline();
  s.data.mode_summary["autoscaling_stats"] = autoscaler_->log();
  s.data.mode_summary["autoscaling_summary"] = autoscaler_->summary(s.producer->users_started());
}

}  // namespace kv::engine::run::features
