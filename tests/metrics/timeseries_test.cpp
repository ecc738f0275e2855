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

// ---- gauges ----------------------------------------------------------------------------------

using kv::metrics::Gauge;
using kv::metrics::GaugeSampler;
using kv::metrics::GaugeValues;

namespace {

GaugeValues values(std::uint64_t queue, std::uint64_t storage_used) {
  GaugeValues v;
  v[static_cast<int>(Gauge::kQueueDepth)] = queue;
  v[static_cast<int>(Gauge::kStorageUsedBytes)] = storage_used;
  return v;
}

}  // namespace

TEST(TimeSeriesGauges, ColumnsOnlyOnceSetAndNullWhereNotSampled) {
  TimeSeries ts(100);
  ts.start(0);
  EXPECT_FALSE(ts.to_json(1)[0].contains("queue_depth"));  // never set: no column at all
  ts.set_gauges(0, values(4, 1000));
  ts.set_gauges(2, values(7, 3000));
  ts.set_gauges(2, values(9, 3500));  // a second sample of a row replaces the first
  const auto j = ts.to_json(4);
  EXPECT_EQ(j[0]["queue_depth"], 4);
  EXPECT_EQ(j[0]["storage_used_bytes"], 1000);
  EXPECT_TRUE(j[1]["queue_depth"].is_null());
  EXPECT_EQ(j[2]["queue_depth"], 9);
  EXPECT_EQ(j[2]["storage_used_bytes"], 3500);
  EXPECT_TRUE(j[3]["storage_used_bytes"].is_null());
  EXPECT_FALSE(j[0].contains("gpu_used_bytes"));  // never given (no such tier)
  EXPECT_EQ(j[0]["storage_write_bytes"], 0);      // the counters are untouched
  EXPECT_EQ(ts.seconds_used(), 3u);
}

TEST(TimeSeriesGauges, MergeAddsTheRanksSamplesPerSecond) {
  TimeSeries r0(100), r1(100), merged(100);
  r0.start(0);
  r1.start(0);
  r0.set_gauges(0, values(2, 100));
  r0.set_gauges(1, values(5, 300));
  r1.set_gauges(0, values(3, 50));  // rank 1 stopped after its first second
  r0.add(SeriesTier::kStorage, SeriesDir::kWrite, 100, kSec);
  merged.merge_json(nlohmann::json::parse(r0.to_json(2).dump()));
  merged.merge_json(nlohmann::json::parse(r1.to_json(2).dump()));  // its row 1: null gauges
  const auto j = merged.to_json(3);
  EXPECT_EQ(j[0]["queue_depth"], 5);
  EXPECT_EQ(j[0]["storage_used_bytes"], 150);
  EXPECT_EQ(j[1]["queue_depth"], 5);  // only rank 0 sampled second 1
  EXPECT_EQ(j[1]["storage_used_bytes"], 300);
  EXPECT_EQ(j[1]["storage_write_bytes"], 100);
  EXPECT_TRUE(j[2]["queue_depth"].is_null());  // no rank sampled it
  EXPECT_THROW(merged.merge_json(nlohmann::json::parse(R"([{"t": 0, "queue_depth": -1}])")),
               kv::Error);
  EXPECT_THROW(merged.merge_json(nlohmann::json::parse(R"([{"t": 0, "queue_depth": "3"}])")),
               kv::Error);
}

TEST(GaugeSampler, RowIsTheValueAtTheEndOfItsSecond) {
  TimeSeries ts(100);
  ts.start(kT0);
  std::uint64_t reads = 0;
  GaugeSampler g(ts, [&reads] {
    ++reads;
    return values(reads, 10 * reads);
  });
  EXPECT_FALSE(g.tick(kT0).has_value());  // before start(): nothing
  g.start(kT0);
  EXPECT_FALSE(g.tick(kT0).has_value());
  EXPECT_FALSE(g.tick(kT0 + kSec - 1).has_value());  // second 0 has not ended
  EXPECT_EQ(g.tick(kT0 + kSec), 0u);                 // read #1 -> row 0
  EXPECT_FALSE(g.tick(kT0 + kSec + 50'000'000).has_value());
  EXPECT_EQ(g.tick(kT0 + 2 * kSec + 1), 1u);  // read #2 -> row 1
  EXPECT_EQ(g.tick(kT0 + 5 * kSec + 3), 4u);  // late tick: read #3 -> row 4; rows 2, 3 skipped
  EXPECT_EQ(g.stop(kT0 + 5 * kSec + 400'000'000), 5u);  // partial last row: read #4 at the stop
  EXPECT_FALSE(g.stop(kT0 + 5 * kSec + 400'000'000).has_value());  // sampled once
  EXPECT_EQ(reads, 4u);
  const auto j = ts.to_json(6);
  EXPECT_EQ(j[0]["queue_depth"], 1);
  EXPECT_EQ(j[1]["queue_depth"], 2);
  EXPECT_TRUE(j[2]["queue_depth"].is_null());
  EXPECT_TRUE(j[3]["queue_depth"].is_null());
  EXPECT_EQ(j[4]["queue_depth"], 3);
  EXPECT_EQ(j[5]["queue_depth"], 4);
  EXPECT_EQ(j[5]["storage_used_bytes"], 40);
}

TEST(GaugeSampler, StopJustAfterADeadlineAlsoSamplesTheSecondThatEnded) {
  // The run loop returns at the --duration deadline before its tick there: the stop sample, a few
  // microseconds later, is the value at the end of the last whole second too.
  TimeSeries ts(100);
  ts.start(0);
  std::uint64_t reads = 0;
  GaugeSampler g(ts, [&reads] {
    ++reads;
    return values(reads, 0);
  });
  g.start(0);
  EXPECT_EQ(g.tick(kSec + 10), 0u);
  EXPECT_EQ(g.tick(2 * kSec + 10), 1u);
  EXPECT_EQ(g.stop(3 * kSec + 78'000), 3u);  // 4 rows: row 2 ended unsampled, row 3 is 78 us
  const auto j = ts.to_json(4);
  EXPECT_EQ(j[2]["queue_depth"], 3);
  EXPECT_EQ(j[3]["queue_depth"], 3);
  EXPECT_EQ(reads, 3u);
}

TEST(GaugeSampler, StopOnASecondBoundaryDoesNotAddARow) {
  TimeSeries ts(100);
  ts.start(0);
  int reads = 0;
  GaugeSampler g(ts, [&reads] {
    ++reads;
    return values(1, 1);
  });
  g.start(0);
  EXPECT_EQ(g.tick(2 * kSec), 1u);             // row 0 skipped, row 1 sampled at 2 s
  EXPECT_FALSE(g.stop(2 * kSec).has_value());  // 2 rows, the last one already has its sample
  EXPECT_EQ(kv::metrics::rows_for(2 * kSec), 2u);
  EXPECT_EQ(kv::metrics::rows_for(2 * kSec + 1), 3u);
  EXPECT_EQ(kv::metrics::rows_for(0), 0u);
  GaugeSampler none(ts, [&reads] {
    ++reads;
    return GaugeValues{};
  });
  none.start(0);
  EXPECT_FALSE(none.stop(0).has_value());  // a window of length 0 has no row
  EXPECT_EQ(reads, 1);
}
