#include "engine/metrics/latency.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <thread>

#include "core/error.hpp"

using kv::metrics::Histogram;
using kv::metrics::LatencyRecorder;
using kv::metrics::percentile_type7;

namespace {

double rel_err(double got, double want) { return std::abs(got - want) / std::abs(want); }

std::vector<double> lognormal_samples(std::size_t n, std::uint64_t seed, double mu, double sigma) {
  std::mt19937_64 rng(seed);
  std::lognormal_distribution<double> d(mu, sigma);
  std::vector<double> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

}  // namespace

// Expected values computed with numpy.percentile (default method="linear").
TEST(PercentileType7, MatchesNumpy) {
  const std::vector<double> a{1, 2, 3, 4};
  EXPECT_DOUBLE_EQ(percentile_type7(a, 50), 2.5);
  EXPECT_DOUBLE_EQ(percentile_type7(a, 95), 3.85);
  EXPECT_DOUBLE_EQ(percentile_type7(a, 99), 3.97);
  EXPECT_DOUBLE_EQ(percentile_type7(a, 0), 1.0);
  EXPECT_DOUBLE_EQ(percentile_type7(a, 100), 4.0);
  EXPECT_DOUBLE_EQ(percentile_type7(a, 25), 1.75);
  const std::vector<double> b{10, 20, 30, 40, 50};
  EXPECT_DOUBLE_EQ(percentile_type7(b, 25), 20.0);
  EXPECT_DOUBLE_EQ(percentile_type7(b, 90), 46.0);
  std::vector<double> c;
  for (int i = 1; i <= 10; ++i) c.push_back(i);
  EXPECT_NEAR(percentile_type7(c, 99.9), 9.991, 1e-12);
  EXPECT_NEAR(percentile_type7(c, 99.99), 9.9991, 1e-12);
}

TEST(PercentileType7, SingleAndEmpty) {
  EXPECT_DOUBLE_EQ(percentile_type7({7.5}, 0), 7.5);
  EXPECT_DOUBLE_EQ(percentile_type7({7.5}, 50), 7.5);
  EXPECT_DOUBLE_EQ(percentile_type7({7.5}, 100), 7.5);
  EXPECT_DOUBLE_EQ(percentile_type7({}, 50), 0.0);
}

TEST(Histogram, EmptyIsZero) {
  Histogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.percentile(50), 0.0);
  EXPECT_EQ(h.min(), 0.0);
  EXPECT_EQ(h.max(), 0.0);
  EXPECT_EQ(h.to_json()["buckets"].size(), 0u);
}

// Every value in [1 ns, 1e5 s] is represented within 1 % (the middle order statistic of
// {1 ns, x, 1e5 s} is reported from x's bucket, not from the exact min/max).
TEST(Histogram, BucketRelativeErrorBoundAcrossRange) {
  double worst = 0;
  for (double x = 1e-9; x <= 1e5; x *= 1.0137) {
    Histogram h;
    h.add(1e-9);
    h.add(x);
    h.add(1e5);
    worst = std::max(worst, rel_err(h.percentile(50), x));
  }
  EXPECT_LE(worst, 0.01);
  EXPECT_GT(worst, 0.0);  // it is an approximation: proves the test looks at the bucket value
}

TEST(Histogram, PercentilesWithinOnePercentOfExactType7) {
  for (std::uint64_t seed : {1u, 2u, 3u}) {
    auto v = lognormal_samples(50000, seed, -7.0, 2.0);  // ~1 ms median, spans many decades
    Histogram h;
    for (double x : v) h.add(x);
    std::sort(v.begin(), v.end());
    for (double p : {0.0, 1.0, 10.0, 25.0, 50.0, 75.0, 90.0, 95.0, 99.0, 99.9, 99.99, 100.0}) {
      EXPECT_LE(rel_err(h.percentile(p), percentile_type7(v, p)), 0.01) << "seed " << seed << " p" << p;
    }
    EXPECT_DOUBLE_EQ(h.min(), v.front());
    EXPECT_DOUBLE_EQ(h.max(), v.back());
    EXPECT_EQ(h.count(), v.size());
  }
}

TEST(Histogram, SmallSampleInterpolatesLikeType7) {
  Histogram h;
  for (double x : {0.001, 0.002, 0.003, 0.004}) h.add(x);
  EXPECT_LE(rel_err(h.percentile(50), 0.0025), 0.01);
  EXPECT_LE(rel_err(h.percentile(95), 0.00385), 0.01);
  EXPECT_DOUBLE_EQ(h.percentile(0), 0.001);
  EXPECT_DOUBLE_EQ(h.percentile(100), 0.004);
}

TEST(Histogram, AddWithCountEqualsRepeatedAdds) {
  Histogram a, b;
  a.add(0.25, 5);
  for (int i = 0; i < 5; ++i) b.add(0.25);
  EXPECT_EQ(a.to_json(), b.to_json());
}

TEST(Histogram, MergeEqualsHistogramOfUnion) {
  auto x = lognormal_samples(20000, 11, -6.0, 1.5);
  auto y = lognormal_samples(30000, 12, -3.0, 1.0);
  Histogram hx, hy, hu;
  for (double v : x) hx.add(v), hu.add(v);
  for (double v : y) hy.add(v), hu.add(v);
  Histogram merged = hx;
  merged.merge(hy);
  EXPECT_EQ(merged.count(), hu.count());
  EXPECT_DOUBLE_EQ(merged.min(), hu.min());
  EXPECT_DOUBLE_EQ(merged.max(), hu.max());
  EXPECT_NEAR(merged.sum(), hu.sum(), 1e-9 * hu.sum());
  EXPECT_EQ(merged.to_json()["buckets"], hu.to_json()["buckets"]);
  for (double p : {50.0, 95.0, 99.0, 99.9}) EXPECT_DOUBLE_EQ(merged.percentile(p), hu.percentile(p));
  // Merging into an empty histogram and merging an empty one are identities.
  Histogram empty, e2 = hu;
  empty.merge(hu);
  e2.merge(Histogram());
  EXPECT_EQ(empty.to_json(), hu.to_json());
  EXPECT_EQ(e2.to_json(), hu.to_json());
}

TEST(Histogram, JsonRoundTripIsSparseAndExact) {
  auto v = lognormal_samples(5000, 5, -5.0, 1.0);
  Histogram h;
  for (double x : v) h.add(x);
  const auto j = h.to_json();
  EXPECT_LT(j["buckets"].size(), 5000u);  // sparse: only non-empty buckets
  for (const auto& b : j["buckets"]) EXPECT_GT(b[1].get<std::uint64_t>(), 0u);
  // Through text, as ranks send it.
  const Histogram back = Histogram::from_json(nlohmann::json::parse(j.dump()));
  EXPECT_EQ(back.to_json(), j);
  EXPECT_EQ(back.count(), h.count());
  for (double p : {0.0, 50.0, 99.0, 100.0}) EXPECT_DOUBLE_EQ(back.percentile(p), h.percentile(p));
  EXPECT_EQ(Histogram::from_json(Histogram().to_json()).count(), 0u);
}

TEST(Histogram, FromJsonRejectsBadInput) {
  Histogram h;
  h.add(0.01);
  auto j = h.to_json();
  auto bad_count = j;
  bad_count["count"] = 2;
  EXPECT_THROW(Histogram::from_json(bad_count), kv::Error);
  auto bad_index = j;
  bad_index["buckets"] = nlohmann::json::array({nlohmann::json::array({1000000, 1})});
  bad_index["count"] = 1;
  EXPECT_THROW(Histogram::from_json(bad_index), kv::Error);
  auto bad_layout = j;
  bad_layout["sub_buckets"] = 64;
  EXPECT_THROW(Histogram::from_json(bad_layout), kv::Error);
  EXPECT_THROW(Histogram::from_json(nlohmann::json::array()), kv::Error);
  auto missing = j;
  missing.erase("buckets");
  EXPECT_THROW(Histogram::from_json(missing), kv::Error);
}

TEST(LatencyRecorder, SummaryIsExactType7InMilliseconds) {
  LatencyRecorder r;
  for (double x : {0.004, 0.001, 0.003, 0.002}) r.add(x);  // unsorted on purpose
  const auto s = r.summary_ms();
  EXPECT_EQ(s.count, 4u);
  EXPECT_NEAR(s.mean, 2.5, 1e-12);
  EXPECT_NEAR(s.p50, 2.5, 1e-12);
  EXPECT_NEAR(s.p95, 3.85, 1e-12);
  EXPECT_NEAR(s.p99, 3.97, 1e-12);
  EXPECT_NEAR(s.p999, 3.997, 1e-12);
  EXPECT_NEAR(s.p9999, 3.9997, 1e-12);
  EXPECT_NEAR(s.max, 4.0, 1e-12);
  // samples() keeps insertion order.
  EXPECT_EQ(r.samples(), (std::vector<double>{0.004, 0.001, 0.003, 0.002}));
  r.clear();
  EXPECT_EQ(r.count(), 0u);
  EXPECT_EQ(r.histogram().count(), 0u);
  EXPECT_EQ(r.summary_ms().p50, 0.0);
}

TEST(LatencyRecorder, ConcurrentAddsCountExactly) {
  LatencyRecorder r;
  constexpr int kThreads = 8, kPer = 20000;
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t)
    ts.emplace_back([&r, t] {
      for (int i = 0; i < kPer; ++i) r.add(1e-6 * (t + 1));
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(r.count(), std::uint64_t{kThreads} * kPer);
  EXPECT_EQ(r.samples().size(), std::size_t{kThreads} * kPer);
  const Histogram h = r.histogram();
  EXPECT_EQ(h.count(), std::uint64_t{kThreads} * kPer);
  EXPECT_NEAR(h.sum(), kPer * 1e-6 * (kThreads * (kThreads + 1) / 2), 1e-9);
  EXPECT_DOUBLE_EQ(h.min(), 1e-6);
  EXPECT_DOUBLE_EQ(h.max(), 8e-6);
}

TEST(LatencyRecorder, HistogramSummaryAgreesWithExactSummary) {
  LatencyRecorder r;
  for (double x : lognormal_samples(20000, 9, -4.0, 0.8)) r.add(x);
  const auto exact = r.summary_ms();
  const auto approx = kv::metrics::summary_ms(r.histogram());
  EXPECT_EQ(approx.count, exact.count);
  EXPECT_NEAR(approx.mean, exact.mean, 1e-9 * exact.mean);
  EXPECT_DOUBLE_EQ(approx.max, exact.max);
  EXPECT_LE(rel_err(approx.p50, exact.p50), 0.01);
  EXPECT_LE(rel_err(approx.p95, exact.p95), 0.01);
  EXPECT_LE(rel_err(approx.p99, exact.p99), 0.01);
  EXPECT_LE(rel_err(approx.p999, exact.p999), 0.01);
  EXPECT_LE(rel_err(approx.p9999, exact.p9999), 0.01);
}
