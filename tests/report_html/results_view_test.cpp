#include "report_html/results_view.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/error.hpp"
#include "fixture.hpp"

namespace rh = kv::report_html;
using rhtest::Json;

namespace {
std::optional<double> metric(const Json& r, const std::string& key) {
  for (const auto& m : rh::headline_metrics(r))
    if (m.key == key) return m.value;
  ADD_FAILURE() << "no metric " << key;
  return std::nullopt;
}
}  // namespace

TEST(ResultsView, HeadlineReadsTheEngineKeys) {
  const Json r = rhtest::measured_run();
  EXPECT_EQ(metric(r, "requests_completed"), 4.0);
  EXPECT_EQ(metric(r, "storage_read_gibps"), 1.25);
  EXPECT_EQ(metric(r, "storage_read_device_p95_ms"), 8.0);
  EXPECT_EQ(metric(r, "e2e_p95_ms"), 40.0);
  EXPECT_EQ(metric(r, "cache_hit_rate_pct"), 50.0);
  EXPECT_TRUE(rh::measured(r));
}

TEST(ResultsView, LatencyWithoutSamplesIsUnmeasuredNotZero) {
  // The engine wrote 0.0 for the write device P95 although its histogram is empty.
  const Json r = rhtest::measured_run();
  EXPECT_EQ(metric(r, "storage_write_device_p95_ms"), std::nullopt);
}

TEST(ResultsView, ZeroRequestsMeansNoLatencyAtAll) {
  const Json r = rhtest::unmeasured_run();
  EXPECT_FALSE(rh::measured(r));
  for (const char* k : {"e2e_p50_ms", "e2e_p95_ms", "storage_read_device_p95_ms",
                        "storage_io_p95_ms", "cache_hit_rate_pct"})
    EXPECT_EQ(metric(r, k), std::nullopt) << k;
  EXPECT_EQ(metric(r, "requests_completed"), 0.0);
}

TEST(ResultsView, PerSecondBandwidthScalesThePartialLastSecond) {
  const Json r = rhtest::measured_run();
  auto pts = rh::per_second_gibps(r, "storage", "read");
  ASSERT_EQ(pts.size(), 4u);
  EXPECT_DOUBLE_EQ(pts[0].second, 1.0);
  EXPECT_DOUBLE_EQ(pts[2].second, 3.0);
  EXPECT_DOUBLE_EQ(pts[3].second, 0.5);  // 0.25 GiB in the last 0.5 s of the 3.5 s window
  auto s = rh::per_second_spread(r, "storage", "read");
  ASSERT_TRUE(s);
  EXPECT_DOUBLE_EQ(s->min, 0.5);
  EXPECT_DOUBLE_EQ(s->median, 1.5);
  EXPECT_DOUBLE_EQ(s->max, 3.0);
  EXPECT_TRUE(rh::tier_has_traffic(r, "storage"));
  EXPECT_FALSE(rh::tier_has_traffic(r, "cpu"));
}

TEST(ResultsView, GaugeIsPlottedAtTheEndOfItsSecondAndNullsAreLeftOut) {
  Json r = rhtest::measured_run();  // 4 rows, elapsed 3.5 s
  const Json depth[] = {2, nullptr, 5, 1};
  for (int t = 0; t < 4; ++t) r["timeseries"][t]["queue_depth"] = depth[t];
  const auto pts = rh::gauge_column(r, "queue_depth");
  ASSERT_EQ(pts.size(), 3u);
  EXPECT_EQ(pts[0], std::make_pair(1.0, 2.0));
  EXPECT_EQ(pts[1], std::make_pair(3.0, 5.0));
  EXPECT_EQ(pts[2], std::make_pair(3.5, 1.0));  // the partial last row: at the stop
  EXPECT_TRUE(rh::gauge_column(r, "storage_used_bytes").empty());
}

TEST(ResultsView, CdfFromTheEngineHistogramIsMonotoneAndEndsAtOne) {
  const Json r = rhtest::measured_run();
  auto cdf = rh::latency_cdf_ms(r, "storage_read_device");
  ASSERT_EQ(cdf.size(), 4u);  // the start point plus one per sample's bucket
  EXPECT_DOUBLE_EQ(cdf.front().second, 0.0);
  EXPECT_DOUBLE_EQ(cdf.back().second, 1.0);
  const double expect_ms[] = {2, 2, 4, 8};
  for (std::size_t i = 0; i < cdf.size(); ++i) {
    EXPECT_NEAR(cdf[i].first, expect_ms[i], expect_ms[i] * 0.004) << i;  // the 0.39 % bound
    if (i > 0) {
      EXPECT_GE(cdf[i].second, cdf[i - 1].second);
    }
  }
  EXPECT_NEAR(cdf[2].second, 2.0 / 3.0, 1e-12);
  EXPECT_EQ(rh::histogram_count(r, "storage_read_device"), 3);
  EXPECT_TRUE(rh::latency_cdf_ms(r, "storage_write_device").empty());
  EXPECT_TRUE(rh::latency_cdf_ms(r, "no_such_histogram").empty());
}

TEST(ResultsView, LoadResultsFindsTheFileInARunDirectoryAndNamesBadInput) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("rh_load_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "kvcache_results_20260101_000000.json") << rhtest::measured_run().dump();
  std::ofstream(dir / "kv_cache_20260101_000000_metadata.json") << R"({"verification":"CLOSED"})";
  fs::path file;
  Json r = rh::load_results(dir, &file);
  EXPECT_EQ(file.filename(), "kvcache_results_20260101_000000.json");
  EXPECT_EQ(rh::load_metadata_near(file)["verification"], "CLOSED");
  try {
    rh::load_results(dir / "missing.json");
    ADD_FAILURE() << "no error";
  } catch (const kv::Error& e) {
    EXPECT_EQ(e.code(), kv::ExitCode::kFileNotFound);
    EXPECT_NE(std::string(e.what()).find("missing.json"), std::string::npos);
  }
  std::ofstream(dir / "other.json") << "[1,2]";
  try {
    rh::load_results(dir / "other.json");
    ADD_FAILURE() << "no error";
  } catch (const kv::Error& e) {
    EXPECT_EQ(e.code(), kv::ExitCode::kInvalidArguments);
  }
  fs::remove_all(dir);
}
