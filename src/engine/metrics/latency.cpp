// Latency metrics: type-7 percentiles, log-linear histogram, thread-safe recorder.
// Histogram layout (see docs/metrics-internals.md): values are kept in nanoseconds; bucket 0 holds
// [0, 1 ns); above that every power-of-two octave [2^o, 2^(o+1)) ns is split into kSubBuckets equal
// linear sub-buckets. A bucket's representative is its midpoint, so its relative error is at most
// 1 / (2 * kSubBuckets) = 0.39 %.
#include "engine/metrics/latency.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "core/error.hpp"

namespace kv::metrics {

namespace {

constexpr int kSubBuckets = 128;  // per octave
constexpr int kOctaves = 48;      // 2^48 ns ≈ 2.8e5 s, covers 1e5 s with margin
constexpr std::size_t kNumBuckets = 1 + static_cast<std::size_t>(kOctaves) * kSubBuckets;

std::size_t bucket_index(double seconds) {
  const double ns = seconds * 1e9;
  if (!(ns >= 1.0)) return 0;  // also catches NaN (never added) and values below 1 ns
  int e = 0;
  const double m = std::frexp(ns, &e);  // ns = m * 2^e, m in [0.5, 1)
  const int octave = e - 1;             // ns in [2^octave, 2^(octave+1))
  if (octave >= kOctaves) return kNumBuckets - 1;
  int sub = static_cast<int>((m * 2.0 - 1.0) * kSubBuckets);
  sub = std::clamp(sub, 0, kSubBuckets - 1);
  return 1 + static_cast<std::size_t>(octave) * kSubBuckets + static_cast<std::size_t>(sub);
}

// Midpoint of a bucket, in seconds.
double bucket_mid_seconds(std::size_t index) {
  if (index == 0) return 0.5e-9;
  const std::size_t k = index - 1;
  const int octave = static_cast<int>(k / kSubBuckets);
  const int sub = static_cast<int>(k % kSubBuckets);
  const double ns = std::ldexp(1.0 + (sub + 0.5) / kSubBuckets, octave);
  return ns * 1e-9;
}

double interp(double lo, double hi, double frac) { return lo + (hi - lo) * frac; }

}  // namespace

double percentile_type7(const std::vector<double>& sorted, double p) {
  const std::size_t n = sorted.size();
  if (n == 0) return 0.0;
  if (n == 1) return sorted[0];
  p = std::isnan(p) ? 0.0 : std::clamp(p, 0.0, 100.0);
  const double h = p / 100.0 * static_cast<double>(n - 1);
  const auto lo = static_cast<std::size_t>(std::floor(h));
  if (lo >= n - 1) return sorted[n - 1];
  const double frac = h - static_cast<double>(lo);
  return interp(sorted[lo], sorted[lo + 1], frac);
}

// ---------------------------------------------------------------------------------------------
// Histogram

Histogram::Histogram() = default;  // buckets_ allocated on first add/merge

void Histogram::add(double seconds, std::uint64_t count) {
  if (count == 0 || std::isnan(seconds)) return;
  if (seconds < 0) seconds = 0;
  if (buckets_.empty()) buckets_.assign(kNumBuckets, 0);
  buckets_[bucket_index(seconds)] += count;
  if (count_ == 0) {
    min_ = max_ = seconds;
  } else {
    min_ = std::min(min_, seconds);
    max_ = std::max(max_, seconds);
  }
  count_ += count;
  sum_ += seconds * static_cast<double>(count);
}

void Histogram::merge(const Histogram& other) {
  if (other.count_ == 0) return;
  if (buckets_.empty()) buckets_.assign(kNumBuckets, 0);
  for (std::size_t i = 0; i < other.buckets_.size() && i < buckets_.size(); ++i)
    buckets_[i] += other.buckets_[i];
  if (count_ == 0) {
    min_ = other.min_;
    max_ = other.max_;
  } else {
    min_ = std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
  }
  count_ += other.count_;
  sum_ += other.sum_;
}

double Histogram::min() const { return count_ ? min_ : 0.0; }
double Histogram::max() const { return count_ ? max_ : 0.0; }

double Histogram::percentile(double p) const {
  if (count_ == 0) return 0.0;
  p = std::isnan(p) ? 0.0 : std::clamp(p, 0.0, 100.0);
  const double h = p / 100.0 * static_cast<double>(count_ - 1);
  const auto lo_rank = static_cast<std::uint64_t>(std::floor(h));
  const std::uint64_t hi_rank = std::min(lo_rank + 1, count_ - 1);
  const double frac = h - static_cast<double>(lo_rank);

  // Value of the order statistic at 0-based `rank`: exact at the ends, else the bucket midpoint
  // clamped to [min, max] (so each estimate is within the bucket's relative error).
  auto value_at = [&](std::uint64_t rank, std::size_t& idx, std::uint64_t& cum) {
    if (rank == 0) return min_;
    if (rank == count_ - 1) return max_;
    while (idx < buckets_.size() && cum + buckets_[idx] <= rank) cum += buckets_[idx++];
    if (idx >= buckets_.size()) return max_;
    return std::clamp(bucket_mid_seconds(idx), min_, max_);
  };
  std::size_t idx = 0;
  std::uint64_t cum = 0;
  const double lo = value_at(lo_rank, idx, cum);
  if (frac == 0.0 || hi_rank == lo_rank) return lo;
  const double hi = value_at(hi_rank, idx, cum);
  return interp(lo, hi, frac);
}

nlohmann::json Histogram::to_json() const {
  nlohmann::json buckets = nlohmann::json::array();
  for (std::size_t i = 0; i < buckets_.size(); ++i)
    if (buckets_[i] != 0) buckets.push_back({i, buckets_[i]});
  return {{"layout", "log-linear-ns"},
          {"sub_buckets", kSubBuckets},
          {"octaves", kOctaves},
          {"count", count_},
          {"sum", sum_},
          {"min", min()},
          {"max", max()},
          {"buckets", std::move(buckets)}};
}

Histogram Histogram::from_json(const nlohmann::json& j) {
  auto bad = [](const std::string& what) {
    return Error(ExitCode::kInvalidArguments, "latency histogram JSON: " + what);
  };
  try {
    if (!j.is_object()) throw bad("not an object");
    if (j.value("sub_buckets", kSubBuckets) != kSubBuckets || j.value("octaves", kOctaves) != kOctaves)
      throw bad("bucket layout differs from this build (sub_buckets/octaves)");
    Histogram h;
    std::uint64_t total = 0;
    for (const auto& b : j.at("buckets")) {
      const auto idx = b.at(0).get<std::uint64_t>();
      const auto c = b.at(1).get<std::uint64_t>();
      if (idx >= kNumBuckets) throw bad("bucket index " + std::to_string(idx) + " out of range");
      if (h.buckets_.empty()) h.buckets_.assign(kNumBuckets, 0);
      h.buckets_[idx] += c;
      total += c;
    }
    const auto count = j.at("count").get<std::uint64_t>();
    if (count != total) throw bad("count does not match the bucket total");
    h.count_ = count;
    h.sum_ = j.at("sum").get<double>();
    h.min_ = count ? j.at("min").get<double>() : 0.0;
    h.max_ = count ? j.at("max").get<double>() : 0.0;
    return h;
  } catch (const nlohmann::json::exception& e) {
    throw bad(e.what());
  }
}

PercentileSet summary_ms(const Histogram& h) {
  PercentileSet s;
  s.count = h.count();
  if (s.count == 0) return s;
  s.mean = h.sum() / static_cast<double>(s.count) * 1e3;
  s.p50 = h.percentile(50) * 1e3;
  s.p95 = h.percentile(95) * 1e3;
  s.p99 = h.percentile(99) * 1e3;
  s.p999 = h.percentile(99.9) * 1e3;
  s.p9999 = h.percentile(99.99) * 1e3;
  s.max = h.max() * 1e3;
  return s;
}

// ---------------------------------------------------------------------------------------------
// LatencyRecorder

void LatencyRecorder::add(double seconds) {
  std::lock_guard lk(mu_);
  samples_.push_back(seconds);
  hist_.add(seconds);
}

void LatencyRecorder::clear() {
  std::lock_guard lk(mu_);
  samples_.clear();
  hist_ = Histogram();
}

std::uint64_t LatencyRecorder::count() const {
  std::lock_guard lk(mu_);
  return samples_.size();
}

std::vector<double> LatencyRecorder::samples() const {
  std::lock_guard lk(mu_);
  return samples_;
}

Histogram LatencyRecorder::histogram() const {
  std::lock_guard lk(mu_);
  return hist_;
}

PercentileSet LatencyRecorder::summary_ms() const {
  std::vector<double> v = samples();  // sort outside the lock
  PercentileSet s;
  s.count = v.size();
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  double sum = 0;
  for (double x : v) sum += x;
  s.mean = sum / static_cast<double>(v.size()) * 1e3;
  s.p50 = percentile_type7(v, 50) * 1e3;
  s.p95 = percentile_type7(v, 95) * 1e3;
  s.p99 = percentile_type7(v, 99) * 1e3;
  s.p999 = percentile_type7(v, 99.9) * 1e3;
  s.p9999 = percentile_type7(v, 99.99) * 1e3;
  s.max = v.back() * 1e3;
  return s;
}

}  // namespace kv::metrics
