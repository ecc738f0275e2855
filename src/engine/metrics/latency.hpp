// Latency metrics (contract; implementation in latency.cpp, owned by the metrics work).
//
// * percentile_type7: numpy's default linear interpolation (Hyndman–Fan type 7) over a sorted vector.
// * Histogram: log-linear buckets, mergeable across threads and MPI ranks, relative error <= 1 % for
//   any value in [1 ns, ~1e5 s]; serialises to/from JSON (so rank 0 can merge what ranks send).
// * LatencyRecorder: thread-safe; keeps every sample (seconds, for the reference's exact
//   percentiles and raw lists) and a Histogram (for pooling). add() is cheap (mutex + push_back).
#pragma once

#include <cstdint>
#include <mutex>
#include <nlohmann/json.hpp>
#include <vector>

namespace kv::metrics {

// p in [0, 100]; `sorted` ascending; empty → 0.
double percentile_type7(const std::vector<double>& sorted, double p);

struct PercentileSet {  // milliseconds unless stated otherwise
  double mean = 0, p50 = 0, p95 = 0, p99 = 0, p999 = 0, p9999 = 0, max = 0;
  std::uint64_t count = 0;
};

class Histogram {
 public:
  Histogram();
  void add(double seconds, std::uint64_t count = 1);
  void merge(const Histogram& other);
  std::uint64_t count() const { return count_; }
  double sum() const { return sum_; }
  double min() const;
  double max() const;
  // Value (seconds) at percentile p in [0, 100], within 1 % relative error of the exact type-7 value.
  double percentile(double p) const;
  nlohmann::json to_json() const;  // sparse {"buckets": [[index, count], ...], "sum":..., ...}
  static Histogram from_json(const nlohmann::json& j);

 private:
  std::vector<std::uint64_t> buckets_;
  std::uint64_t count_ = 0;
  double sum_ = 0, min_ = 0, max_ = 0;
};

class LatencyRecorder {
 public:
  void add(double seconds);
  void clear();
  std::uint64_t count() const;
  std::vector<double> samples() const;  // copy, in insertion order (seconds)
  Histogram histogram() const;          // copy
  // Exact type-7 percentiles over the samples, reported in milliseconds.
  PercentileSet summary_ms() const;

 private:
  mutable std::mutex mu_;
  std::vector<double> samples_;
  Histogram hist_;
};

// PercentileSet from a histogram (pooled across ranks), milliseconds.
PercentileSet summary_ms(const Histogram& h);

}  // namespace kv::metrics
