#include "engine/modes/autoscaler.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include "core/clock.hpp"
#include "core/log.hpp"
#include "core/units.hpp"

namespace kv::engine::modes {

namespace {

constexpr double kSatReadRiseMs = 20, kSatWriteRiseMs = 10, kSatQueueRise = 10,
                 kSatOverFactor = 1.2;
constexpr double kQosHigh = 1.1, kQosLow = 0.9;
constexpr double kCapacityFirstStep = 0.4, kCapacityStep = 0.2, kCapacityImprovement = 1.01;
constexpr std::uint32_t kCapacityMinStep = 5, kCapacityMaxStep = 100, kCapacityPatience = 2;

std::uint32_t capacity_step(std::uint32_t users, double fraction) {
  const auto v = static_cast<std::uint32_t>(static_cast<double>(users) * fraction);
  return std::min(std::max(v, kCapacityMinStep), kCapacityMaxStep);
}

}  // namespace

AutoscalePolicy::AutoscalePolicy(AutoscalerSettings s, std::uint32_t initial_users)
    : s_(s), users_(initial_users) {
  s_.min_users = std::max<std::uint32_t>(1, s_.min_users);
  s_.max_users = std::max(s_.max_users, s_.min_users);
  s_.window = std::max<std::uint32_t>(2, s_.window);
  users_ = std::clamp(users_, s_.min_users, s_.max_users);
}

bool AutoscalePolicy::saturated(const AutoscaleSample& x) const {
  if (x.read_p95_ms > kSatOverFactor * s_.read_p95_threshold_ms ||
      x.write_p95_ms > kSatOverFactor * s_.write_p95_threshold_ms ||
      x.queue_depth > kSatOverFactor * s_.queue_depth_threshold)
    return true;
  if (history_.size() < 2) return false;
  const AutoscaleSample& b = history_[history_.size() - 2];  // two samples before x
  const bool was_below = b.read_p95_ms < s_.read_p95_threshold_ms &&
                         b.write_p95_ms < s_.write_p95_threshold_ms &&
                         b.queue_depth < s_.queue_depth_threshold;
  return was_below && (x.read_p95_ms - b.read_p95_ms > kSatReadRiseMs ||
                       x.write_p95_ms - b.write_p95_ms > kSatWriteRiseMs ||
                       x.queue_depth - b.queue_depth > kSatQueueRise);
}

double AutoscalePolicy::saturation_level() const {
  if (history_.size() < s_.window) return 0;
  const auto first = history_.end() - s_.window;
  double max_read = 0, mean_tp = 0;
  for (auto it = first; it != history_.end(); ++it) {
    max_read = std::max(max_read, it->read_p95_ms);
    mean_tp += it->throughput;
  }
  const double n = s_.window;
  mean_tp /= n;
  double var = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
  double i = 0;
  for (auto it = first; it != history_.end(); ++it, i += 1) {
    var += (it->throughput - mean_tp) * (it->throughput - mean_tp);
    sx += i;
    sy += it->read_p95_ms;
    sxx += i * i;
    sxy += i * it->read_p95_ms;
  }
  const double cv =
      mean_tp > 0 ? std::sqrt(var / n) / mean_tp : std::numeric_limits<double>::infinity();
  const double denom = n * sxx - sx * sx;
  const double slope = denom != 0 ? (n * sxy - sx * sy) / denom : 0;
  const double ratio =
      s_.read_p95_threshold_ms > 0 ? std::min(max_read / s_.read_p95_threshold_ms, 1.0) : 0;
  return ratio * (cv < 0.1 && slope > 0 ? 1.0 : 0.5);
}

AutoscaleDecision AutoscalePolicy::step(const AutoscaleSample& x) {
  AutoscaleDecision d;
  d.saturated = saturated(x);
  history_.push_back(x);
  while (history_.size() > s_.window + 2) history_.pop_front();
  d.saturation_level = saturation_level();
  std::uint32_t next = users_;
  if (s_.capacity_mode) {
    const double tp = x.interval_throughput;
    if (first_ || tp > kCapacityImprovement * peak_) {
      const double fraction = first_ ? kCapacityFirstStep : kCapacityStep;
      first_ = false;
      peak_ = tp;
      peak_users_ = users_;
      non_improvements_ = 0;
      next = std::min(s_.max_users, users_ + capacity_step(users_, fraction));
      d.action = next != users_ ? "scale_up" : "hold";
    } else if (++non_improvements_ >= kCapacityPatience) {
      d.action = "stop";
    } else {
      d.action = "hold";
    }
  } else if (cooldown_ > 0) {
    --cooldown_;
    d.action = "cooldown";
  } else if (d.saturation_level > kQosHigh * s_.target_saturation) {
    if (++over_ >= s_.consecutive_samples) {
      over_ = 0;
      const auto down =
          static_cast<std::uint32_t>(static_cast<double>(users_) * s_.scale_down_factor);
      next = std::max(std::min(down, users_ - 1), s_.min_users);
      if (next != users_) cooldown_ = s_.cooldown_samples;
      d.action = next != users_ ? "scale_down" : "hold";
    } else {
      d.action = "hold";
    }
  } else if (d.saturation_level < kQosLow * s_.target_saturation) {
    over_ = 0;
    const auto up = static_cast<std::uint32_t>(static_cast<double>(users_) * s_.scale_up_factor);
    next = std::min(std::max(up, users_ + 1), s_.max_users);
    d.action = next != users_ ? "scale_up" : "hold";
  } else {
    over_ = 0;
    d.action = "hold";
  }
  users_ = next;
  d.users = users_;
  return d;
}

Autoscaler::Autoscaler(AutoscalerSettings s, std::uint32_t initial_users, MonitorProbe probe,
                       std::function<std::uint32_t(std::uint32_t)> apply, workload::StopFlag& stop)
    : s_(s),
      initial_users_(initial_users),
      probe_(std::move(probe)),
      apply_(std::move(apply)),
      stop_(stop),
      policy_(s, initial_users),
      active_(initial_users),
      max_active_(initial_users) {}

Autoscaler::~Autoscaler() {
  join();
}

void Autoscaler::begin(std::int64_t t0_ns) {
  std::lock_guard lk(mu_);
  t0_ns_ = t0_ns;
  last_ns_ = t0_ns;
}

void Autoscaler::start(std::int64_t t0_ns) {
  begin(t0_ns);
  thread_ = std::thread([this] { loop(); });
}

void Autoscaler::join() {
  if (thread_.joinable()) thread_.join();
}

void Autoscaler::loop() {
  const auto interval = static_cast<std::int64_t>(s_.sample_interval_s * 1e9);
  std::int64_t due = t0_ns_ + interval;
  for (;;) {
    const std::int64_t now = kv::mono_ns();
    if (now < due && stop_.wait_for(std::chrono::nanoseconds(due - now))) return;
    if (stop_.stopped()) return;
    const AutoscaleDecision d = sample_now(kv::mono_ns());
    if (d.action == "stop") return;
    due += interval;
  }
}

AutoscaleDecision Autoscaler::sample_now(std::int64_t now_ns) {
  std::lock_guard lk(mu_);
  AutoscaleSample x;
  x.elapsed_s = static_cast<double>(now_ns - t0_ns_) * 1e-9;
  const double dt = std::max(1e-9, static_cast<double>(now_ns - last_ns_) * 1e-9);
  const std::uint64_t tokens = probe_.tokens ? probe_.tokens() : 0;
  x.throughput = x.elapsed_s > 0 ? static_cast<double>(tokens) / x.elapsed_s : 0;
  x.interval_throughput = static_cast<double>(tokens - std::min(tokens, last_tokens_)) / dt;
  if (probe_.storage_bytes) {
    const auto [r, w] = probe_.storage_bytes();
    const double dr = static_cast<double>(r - std::min(r, last_read_)) / dt;
    const double dw = static_cast<double>(w - std::min(w, last_written_)) / dt;
    x.read_gibps = dr / static_cast<double>(kGiB);
    x.write_gibps = dw / static_cast<double>(kGiB);
    x.read_iops = dr / 4096.0;
    x.write_iops = dw / 16384.0;
    last_read_ = r;
    last_written_ = w;
  }
  if (probe_.storage_p95_ms) std::tie(x.read_p95_ms, x.write_p95_ms) = probe_.storage_p95_ms();
  if (probe_.queue_depth) x.queue_depth = static_cast<double>(probe_.queue_depth());
  last_ns_ = now_ns;
  last_tokens_ = tokens;

  const std::uint32_t before = policy_.users();
  const AutoscaleDecision d = policy_.step(x);
  if (d.users != before && apply_) active_ = apply_(d.users);
  max_active_ = std::max(max_active_, active_);
  if (d.action == "scale_up") ++scale_ups_;
  if (d.action == "scale_down") ++scale_downs_;
  if (d.action == "stop") {
    stop_requested_.store(true);
    log::info(
        "autoscaler (capacity): no throughput gain for {} samples; peak {:.1f} tok/s with {} "
        "users: stopping",
        kCapacityPatience, policy_.peak_throughput(), policy_.peak_users());
  } else if (d.users != before) {
    log::info("autoscaler ({}): {} {} -> {} users (saturation {:.2f})",
              s_.capacity_mode ? "capacity" : "qos", d.action, before, d.users, d.saturation_level);
  }

  nlohmann::ordered_json e;
  e["timestamp"] = kv::local_time_string("%Y-%m-%dT%H:%M:%S");
  e["mode"] = s_.capacity_mode ? "capacity" : "qos";
  e["action"] = d.action;
  e["users"] = d.users;
  e["saturation_level"] = d.saturation_level;
  e["read_latency_p95_ms"] = x.read_p95_ms;
  e["write_latency_p95_ms"] = x.write_p95_ms;
  e["throughput_tokens_per_sec"] = x.throughput;
  if (d.action == "stop") e["peak_throughput_tokens_per_sec"] = policy_.peak_throughput();
  // ours
  e["elapsed_s"] = x.elapsed_s;
  e["previous_users"] = before;
  e["active_producers"] = active_;
  e["saturated"] = d.saturated;
  e["interval_throughput"] = x.interval_throughput;
  e["read_gibps"] = x.read_gibps;
  e["write_gibps"] = x.write_gibps;
  e["read_iops"] = x.read_iops;
  e["write_iops"] = x.write_iops;
  e["queue_depth"] = x.queue_depth;
  log_.push_back(std::move(e));
  timeline_.push_back(nlohmann::ordered_json{{"timestamp", x.elapsed_s},
                                             {"throughput_tokens_per_sec", x.throughput}});
  return d;
}

std::optional<StopReason> Autoscaler::stop_reason() const {
  if (stop_requested_.load()) return StopReason::kAutoscalerCapacity;
  return std::nullopt;
}

nlohmann::ordered_json Autoscaler::log() const {
  std::lock_guard lk(mu_);
  return log_;
}

nlohmann::ordered_json Autoscaler::timeline() const {
  std::lock_guard lk(mu_);
  return timeline_;
}

nlohmann::ordered_json Autoscaler::summary(std::uint32_t users_started) const {
  std::lock_guard lk(mu_);
  nlohmann::ordered_json j;
  j["mode"] = s_.capacity_mode ? "capacity" : "qos";
  j["initial_users"] = initial_users_;
  j["final_users"] = policy_.users();
  // The reference's count: scale-ups, scale-downs and the capacity stop (its log holds exactly
  // those events; ours logs every sample, so this is not log_.size()).
  j["total_scale_events"] = scale_ups_ + scale_downs_ + (stop_requested_.load() ? 1 : 0);
  if (s_.capacity_mode) {
    j["peak_user_count"] = policy_.peak_users();
    j["peak_throughput_tokens_per_sec"] = policy_.peak_throughput();
    j["stopped_at_capacity"] = stop_requested_.load();
  }
  // ours
  j["offered_load_scaled"] = true;  // decisions started/stopped real user producers
  j["scale_ups"] = scale_ups_;
  j["scale_downs"] = scale_downs_;
  j["samples"] = log_.size();
  j["sample_interval_s"] = s_.sample_interval_s;
  j["target_saturation"] = s_.target_saturation;
  j["min_users"] = s_.min_users;
  j["max_users"] = s_.max_users;
  j["active_producers_final"] = active_;
  j["max_active_producers"] = max_active_;
  j["producers_started"] = users_started;
  return j;
}

}  // namespace kv::engine::modes
