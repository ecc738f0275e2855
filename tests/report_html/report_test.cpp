#include "report_html/report.hpp"

#include <gtest/gtest.h>

#include "fixture.hpp"
#include "support/files.hpp"

namespace rh = kv::report_html;
using kv::testsupport::count_of;
using rhtest::Json;

namespace {
rh::Run run_of(Json results, std::string label) {
  rh::Run r;
  r.results = std::move(results);
  r.label = std::move(label);
  r.source = "fixture";
  return r;
}
}  // namespace

TEST(Report, SelfContainedPageWithChartsAndNoExternalResource) {
  const std::string html = rh::render_report(run_of(rhtest::measured_run(), "r<1>"));
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_EQ(html.find(" src="), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  EXPECT_NE(html.find("r&lt;1&gt;"), std::string::npos);
  // storage bandwidth read+write, device CDF (read only: write has no sample), request CDF
  // (end-to-end), QoS (batch).
  EXPECT_EQ(count_of(html, "<path class=\"series\""), 5);
  EXPECT_NE(html.find("Measured: 4 requests"), std::string::npos);
  EXPECT_EQ(html.find("not-measured"), std::string::npos);
  EXPECT_NE(html.find("no queue_depth"), std::string::npos);  // gauges absent from this fixture
}

TEST(Report, GaugeColumnsAndRanksAreDrawnWhenPresent) {
  Json r = rhtest::measured_run();
  for (auto& row : r["timeseries"]) {
    row["queue_depth"] = 3;
    row["storage_used_bytes"] = 1 << 30;
  }
  Json rank = {{"rank", 0}, {"host", "h"}, {"status", "ok"}, {"summary", r["summary"]}};
  r["ranks"] = Json::array({rank, rank});
  r["ranks"][1]["rank"] = 1;
  const std::string html = rh::render_report(run_of(r, "mpi"));
  EXPECT_NE(html.find("Queue depth and work in flight"), std::string::npos);
  EXPECT_NE(html.find("Tier occupancy"), std::string::npos);
  EXPECT_EQ(html.find("no queue_depth"), std::string::npos);
  // The 5 series of the fixture (see above) + queue depth + storage occupancy.
  EXPECT_EQ(count_of(html, "<path class=\"series\""), 7);
  EXPECT_NE(html.find("Per-rank comparison"), std::string::npos);
  // Two ranks x (read, write) bandwidth bars + two ranks x read device P95; the write device P95
  // (0.0 written for "no sample") gets no bar.
  EXPECT_EQ(count_of(html, "<rect class=\"bar\""), 6);
}

TEST(Report, UnmeasuredRunSaysSoAndPrintsDashes) {
  const std::string html = rh::render_report(run_of(rhtest::unmeasured_run(), "zero"));
  EXPECT_NE(html.find("id=\"not-measured\""), std::string::npos);
  EXPECT_NE(html.find("data-key=\"e2e_p95_ms\">—<"), std::string::npos);
  EXPECT_EQ(html.find("Measured:"), std::string::npos);
}

TEST(Report, ComparisonAlignsMetricsWithDifferenceAndRatio) {
  Json b = rhtest::measured_run();
  b["summary"]["cache_stats"]["tier_storage_read_bandwidth_gbps"] = 2.5;
  const std::vector<rh::Run> runs = {run_of(rhtest::measured_run(), "A"), run_of(b, "B")};
  auto rows = rh::compare_metrics(runs);
  auto it = std::find_if(rows.begin(), rows.end(), [](const rh::ComparisonRow& x) {
    return x.first.key == "storage_read_gibps";
  });
  ASSERT_NE(it, rows.end());
  EXPECT_DOUBLE_EQ(*it->diff, 1.25);
  EXPECT_DOUBLE_EQ(*it->ratio, 2.0);
  const std::string text = rh::comparison_text(runs);
  EXPECT_NE(text.find("2.000x"), std::string::npos);
  const std::string html = rh::render_comparison(runs);
  EXPECT_NE(html.find("stroke-dasharray=\"6 4\""), std::string::npos);  // B overlaid dashed
  EXPECT_EQ(html.find("<script"), std::string::npos);
}

TEST(Report, ComparisonWithAnUnmeasuredRunHasNoDifference) {
  const std::vector<rh::Run> runs = {run_of(rhtest::measured_run(), "A"),
                                     run_of(rhtest::unmeasured_run(), "B")};
  for (const auto& row : rh::compare_metrics(runs)) {
    if (row.first.key == "e2e_p95_ms") {
      EXPECT_FALSE(row.values[1].has_value());
      EXPECT_FALSE(row.diff.has_value());
      EXPECT_FALSE(row.ratio.has_value());
    }
  }
}

TEST(Report, FormatValue) {
  EXPECT_EQ(rh::format_value(std::nullopt), "—");
  EXPECT_EQ(rh::format_value(4.0), "4");
  EXPECT_EQ(rh::format_value(1100.53), "1100.5");
  EXPECT_EQ(rh::format_value(0.18903), "0.189");
}

TEST(Report, SparseOrOddResultsRenderWithoutThrowing) {
  // What a fake or older engine may write: no config, no histograms, mistyped members.
  for (const char* text :
       {R"({"summary":{}})",
        R"({"summary":{"total_requests":3},"config":null,"interrupted":"yes"})",
        R"({"summary":{"qos_metrics":{"batch":7}},"ranks":[1,{"rank":"x"}],"timeseries":[0]})"}) {
    const Json r = Json::parse(text);
    std::string html;
    EXPECT_NO_THROW(html = rh::render_report(run_of(r, "odd"))) << text;
    EXPECT_NE(html.find("</html>"), std::string::npos) << text;
    EXPECT_NO_THROW(rh::render_comparison({run_of(r, "a"), run_of(r, "b")})) << text;
  }
}
