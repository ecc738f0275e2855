#include "engine/metrics/timeseries.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "core/error.hpp"

using kv::metrics::SeriesDir;
using kv::metrics::SeriesTier;
using kv::metrics::TimeSeries;

namespace {
constexpr std::int64_t kSec = 1'000'000'000;
constexpr std::int64_t kT0 = 5'000 * kSec;
}  // namespace

TEST(TimeSeries, AddsLandInTheirSecond) {
  TimeSeries ts(100);
  ts.add(SeriesTier::kGpu, SeriesDir::kRead, 999, kT0);  // before start(): ignored
  ts.start(kT0);
  ts.add(SeriesTier::kStorage, SeriesDir::kWrite, 100, kT0 + 10);
  ts.add(SeriesTier::kStorage, SeriesDir::kWrite, 50, kT0 + kSec - 1);
  ts.add(SeriesTier::kCpu, SeriesDir::kRead, 7, kT0 + 2 * kSec + 5);
  ts.add(SeriesTier::kGpu, SeriesDir::kRead, 1, kT0 - 3);        // before t0: second 0
  ts.add(SeriesTier::kGpu, SeriesDir::kRead, 1, kT0 + 100 * kSec);  // past the window: dropped
  EXPECT_EQ(ts.seconds_used(), 3u);
  const auto j = ts.to_json(4);
  ASSERT_EQ(j.size(), 4u);
  EXPECT_EQ(j[0]["t"], 0);
  EXPECT_EQ(j[0]["storage_write_bytes"], 150);
  EXPECT_EQ(j[0]["storage_write_ops"], 2);
  EXPECT_EQ(j[0]["gpu_read_bytes"], 1);
  EXPECT_EQ(j[0]["gpu_read_ops"], 1);
  EXPECT_EQ(j[1]["storage_write_bytes"], 0);
  EXPECT_EQ(j[2]["cpu_read_bytes"], 7);
  EXPECT_EQ(j[2]["cpu_read_ops"], 1);
  EXPECT_EQ(j[3]["cpu_read_ops"], 0);
  EXPECT_EQ(j[0].size(), 13u);  // "t" + 3 tiers x 2 directions x {bytes, ops}
}

TEST(TimeSeries, ConcurrentAddsSumExactly) {
  TimeSeries ts(1000);
  ts.start(0);
  constexpr int kThreads = 8, kPer = 20000;
  std::vector<std::thread> th;
  for (int t = 0; t < kThreads; ++t)
    th.emplace_back([&ts] {
      for (int i = 0; i < kPer; ++i)
        ts.add(SeriesTier::kCpu, SeriesDir::kWrite, 3, static_cast<std::int64_t>(i % 200) * kSec);
    });
  for (auto& t : th) t.join();
  const auto j = ts.to_json(ts.seconds_used());
  ASSERT_EQ(j.size(), 200u);
  std::uint64_t bytes = 0, ops = 0;
  for (const auto& row : j) {
    bytes += row["cpu_write_bytes"].get<std::uint64_t>();
    ops += row["cpu_write_ops"].get<std::uint64_t>();
    EXPECT_EQ(row["cpu_write_ops"], kThreads * kPer / 200);
  }
  EXPECT_EQ(ops, std::uint64_t{kThreads} * kPer);
  EXPECT_EQ(bytes, 3 * std::uint64_t{kThreads} * kPer);
}

TEST(TimeSeries, MergeJsonSumsAlignedSeconds) {
  TimeSeries a(100), b(100);
  a.start(0);
  b.start(0);
  a.add(SeriesTier::kGpu, SeriesDir::kWrite, 10, 0);
  a.add(SeriesTier::kGpu, SeriesDir::kWrite, 10, 1 * kSec);
  b.add(SeriesTier::kGpu, SeriesDir::kWrite, 5, 1 * kSec);
  b.add(SeriesTier::kStorage, SeriesDir::kRead, 4096, 70 * kSec);  // second block
  a.merge_json(nlohmann::json::parse(b.to_json(b.seconds_used()).dump()));
  EXPECT_EQ(a.seconds_used(), 71u);
  const auto j = a.to_json(a.seconds_used());
  EXPECT_EQ(j[0]["gpu_write_bytes"], 10);
  EXPECT_EQ(j[1]["gpu_write_bytes"], 15);
  EXPECT_EQ(j[1]["gpu_write_ops"], 2);
  EXPECT_EQ(j[70]["storage_read_bytes"], 4096);
  EXPECT_EQ(j[70]["storage_read_ops"], 1);
  EXPECT_THROW(a.merge_json(nlohmann::json::object()), kv::Error);
  EXPECT_THROW(a.merge_json(nlohmann::json::parse(R"([{"gpu_read_bytes": 1}])")), kv::Error);
}

TEST(TimeSeries, EmptySeriesExportsZeros) {
  TimeSeries ts(10);
  EXPECT_EQ(ts.seconds_used(), 0u);
  const auto j = ts.to_json(2);
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[1]["storage_write_bytes"], 0);
}
