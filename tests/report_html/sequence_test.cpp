// The sequence report from a synthetic run summary and synthetic trial results: the table's rows
// and values come from the summary's per_trial / aggregated_* / trial_spread keys, the curves from
// each trial's results, and nothing unmeasured is shown as 0.
#include "report_html/sequence.hpp"

#include <gtest/gtest.h>

#include "fixture.hpp"
#include "support/files.hpp"

namespace rh = kv::report_html;
using kv::testsupport::count_of;
using rhtest::Json;

namespace {

Json per_trial(int trial, double read, double p95, double e2e) {
  return {{"trial", trial},
          {"status", "success"},
          {"ranks_read", 2},
          {"read_bandwidth_gbps", read},
          {"write_bandwidth_gbps", read / 2},
          {"avg_throughput_tokens_per_sec", 1000.0 + trial},
          {"storage_throughput_tokens_per_sec", 900.0 + trial},
          {"device_read_p95_ms", p95},
          {"device_write_p95_ms", p95 * 2},
          {"pooled", {{"end_to_end_latency_ms_p95", e2e}}}};
}

// A run whose storage reads per second are `scale` times the fixture's, with write samples.
rh::Run trial_run(double scale) {
  Json r = rhtest::measured_run();
  for (auto& row : r["timeseries"])
    row["storage_read_bytes"] = row["storage_read_bytes"].get<double>() * scale;
  r["latency_histograms"]["storage_write_device"] = rhtest::histogram_of({0.001, 0.003});
  rh::Run run;
  run.results = r;
  return run;
}

// Option 1: two finished trials. Option 2: trial 1 finished but all its client files were
// missing (ranks_read 0), trial 2 still pending.
rh::Sequence two_options() {
  rh::Sequence s;
  s.metadata = {{"model", "llama3.1-8b"},
                {"run_datetime", "20260101_120000"},
                {"status", "interrupted"},
                {"error", "interrupted; continue with: mlpstorage open kvcache run --resume /r"},
                {"verification", "INVALID"},
                {"verification_issues", Json::array({{{"validation", "INVALID"},
                                                      {"option", 1},
                                                      {"trial", 0},
                                                      {"parameter", "duration"},
                                                      {"message", "duration < 30 s"}}})},
                {"parameters",
                 {{"options",
                   {{"1", {{"name", "Max Storage Stress"}, {"num_users", 200}}},
                    {"2", {{"name", "Storage Throughput"}, {"num_users", 100}}}}}}},
                {"sequence",
                 {{"division", "open"},
                  {"orgname", "Acme"},
                  {"systemname", "sys<1>"},
                  {"total_ranks", 2},
                  {"host_count", 1},
                  {"npernode", 2},
                  {"trials_per_option", 2},
                  {"trials_done", 3},
                  {"trials_total", 4}}}};
  Json o1 = {
      {"option", 1},
      {"aggregated_read_bandwidth_gbps", 1.5},
      {"aggregated_write_bandwidth_gbps", 0.75},
      {"aggregated_avg_throughput_tokens_per_sec", 1000.5},
      {"aggregated_storage_throughput_tokens_per_sec", 900.5},
      {"aggregated_device_read_p95_ms", 9.0},
      {"aggregated_device_write_p95_ms", 18.0},
      {"per_trial", Json::array({per_trial(0, 1.0, 8.0, 40.0), per_trial(1, 2.0, 9.0, 50.0)})},
      {"trial_spread",
       {{"read_bandwidth_gbps", {{"mean", 1.5}, {"stdev", 0.7071}, {"cv", 0.4714}}},
        {"device_read_p95_ms", {{"mean", 8.5}, {"stdev", 0.7071}, {"cv", 0.0832}}}}},
      {"pooled_percentiles", {{"mean", {{"end_to_end_latency_ms_p95", 45.0}}}}}};
  Json missing = per_trial(0, 0.0, 0.0, 0.0);
  missing["ranks_read"] = 0;
  missing["status"] = "failed";
  missing["counted"] = false;
  missing["pooled"] = Json::object();
  Json o2 = {{"option", 2},
             {"aggregated_read_bandwidth_gbps", 0.0},
             {"aggregated_device_read_p95_ms", nullptr},
             {"per_trial", Json::array({missing})},
             {"trial_spread", {{"read_bandwidth_gbps", {{"mean", 0.0}, {"cv", nullptr}}}}}};
  s.summary = {{"options", {{"1", o1}, {"2", o2}}}, {"partial_failure", true}};
  s.trials = {{1, 0, "success", trial_run(1), "option_1/trial_0/r.html", "option_1/trial_0/x.json"},
              {1, 1, "success", trial_run(2), "option_1/trial_1/r.html", ""},
              {2, 0, "failed", std::nullopt, "", ""},
              {2, 1, "pending", std::nullopt, "", ""}};
  s.files = {{"run summary", "kvcache_run_summary_20260101_120000.json"}};
  return s;
}

std::size_t column(const std::string& key) {
  const auto& cols = rh::sequence_columns();
  for (std::size_t i = 0; i < cols.size(); ++i)
    if (cols[i].key == key) return i;
  ADD_FAILURE() << "no column " << key;
  return 0;
}

}  // namespace

TEST(SequenceReport, RowsAreTheRunSummarysValues) {
  const auto rows = rh::sequence_rows(two_options());
  // Option 1: 2 trials + aggregate + spread; option 2: 2 trials + aggregate + spread.
  ASSERT_EQ(rows.size(), 8u);
  using K = rh::SequenceRow::Kind;
  const auto read = column("read_bandwidth_gbps");
  const auto p95 = column("device_read_p95_ms");
  const auto e2e = column("end_to_end_p95_ms");
  EXPECT_EQ(rows[0].kind, K::kTrial);
  EXPECT_EQ(rows[0].trial, 0);
  EXPECT_EQ(rows[0].values[read], 1.0);
  EXPECT_EQ(rows[1].values[read], 2.0);
  EXPECT_EQ(rows[1].values[p95], 9.0);
  EXPECT_EQ(rows[1].values[column("device_write_p95_ms")], 18.0);
  EXPECT_EQ(rows[1].values[e2e], 50.0);
  EXPECT_EQ(rows[1].values[column("storage_throughput_tokens_per_sec")], 901.0);
  EXPECT_EQ(rows[1].report_href, "option_1/trial_1/r.html");
  EXPECT_EQ(rows[2].kind, K::kAggregate);
  EXPECT_EQ(rows[2].values[read], 1.5);
  EXPECT_EQ(rows[2].values[p95], 9.0);
  EXPECT_EQ(rows[2].values[e2e], 45.0);
  EXPECT_EQ(rows[3].kind, K::kSpread);
  EXPECT_NEAR(*rows[3].values[read], 0.4714, 1e-12);
  EXPECT_NEAR(*rows[3].values[p95], 0.0832, 1e-12);
  EXPECT_FALSE(rows[3].values[e2e]);  // the summary has no spread of pooled values
  EXPECT_FALSE(rows[3].values[column("write_bandwidth_gbps")]);  // absent key: —
  // Option 2 trial 1 read no client file: its 0.0 sums are not measurements; trial 2 pending.
  EXPECT_EQ(rows[4].status, "failed");
  EXPECT_FALSE(rows[4].counted);
  for (const auto& v : rows[4].values) EXPECT_FALSE(v);
  EXPECT_TRUE(rows[5].counted);  // pending: nothing to leave out yet
  EXPECT_EQ(rows[5].status, "pending");
  for (const auto& v : rows[5].values) EXPECT_FALSE(v);
  EXPECT_EQ(rows[6].kind, K::kAggregate);
  EXPECT_FALSE(rows[6].values[read]);  // no trial of the option read a file
  EXPECT_FALSE(rows[7].values[read]);  // CV null in the summary
}

TEST(SequenceReport, FailedTrialKeepsItsValuesButIsMarkedNotCounted) {
  rh::Sequence s = two_options();
  s.trials[1].status = "failed";
  s.summary["options"]["1"]["per_trial"][1]["status"] = "failed";
  s.summary["options"]["1"]["per_trial"][1]["counted"] = false;
  const auto rows = rh::sequence_rows(s);
  EXPECT_FALSE(rows[1].counted);
  EXPECT_EQ(rows[1].values[column("read_bandwidth_gbps")], 2.0);
  EXPECT_TRUE(rows[0].counted);
  const std::string html = rh::render_sequence(s);
  EXPECT_NE(html.find("<td class=\"st-failed\">failed <span class=\"info\">(not in the "
                      "aggregate)</span></td>"),
            std::string::npos);
  // Bars only for the trials the aggregate counts: option 1's first trial (read and P95).
  EXPECT_EQ(count_of(html, "<rect class=\"bar\""), 2);
  // A summary written before `counted` existed: the trial's status decides.
  s.summary["options"]["1"]["per_trial"][1].erase("counted");
  EXPECT_FALSE(rh::sequence_rows(s)[1].counted);
}

TEST(SequenceReport, UnmeasuredTrialHasNoLatencies) {
  rh::Sequence s = two_options();
  s.trials[0].run->results = rhtest::unmeasured_run();
  const auto rows = rh::sequence_rows(s);
  EXPECT_FALSE(rows[0].values[column("device_read_p95_ms")]);
  EXPECT_FALSE(rows[0].values[column("end_to_end_p95_ms")]);
  EXPECT_EQ(rows[0].values[column("read_bandwidth_gbps")], 1.0);  // 0 requests still moved bytes
  const std::string html = rh::render_sequence(s);
  EXPECT_NE(html.find("Not measured (no request completed inside the window): option 1 trial 1;"),
            std::string::npos);
}

TEST(SequenceReport, TrialsOfAnOptionAreOverlaid) {
  const rh::Sequence s = two_options();
  const auto bw = rh::trial_bandwidth_chart(s, 1, "read");
  ASSERT_EQ(bw.series.size(), 2u);
  EXPECT_EQ(bw.series[0].name, "trial 1");
  EXPECT_EQ(bw.series[1].name, "trial 2");
  EXPECT_EQ(bw.series[0].points, rh::per_second_gibps(s.trials[0].run->results, "storage", "read"));
  ASSERT_EQ(bw.series[1].points.size(), bw.series[0].points.size());
  for (std::size_t i = 0; i < bw.series[0].points.size(); ++i)
    EXPECT_DOUBLE_EQ(bw.series[1].points[i].second, 2 * bw.series[0].points[i].second);
  EXPECT_NE(bw.series[0].color, bw.series[1].color);
  // Device CDFs: read solid and write dashed per trial, each with its sample count.
  const auto dev = rh::trial_device_latency_chart(s, 1);
  ASSERT_EQ(dev.series.size(), 4u);
  EXPECT_EQ(dev.series[0].name, "trial 1 read (n=3)");
  EXPECT_FALSE(dev.series[0].dashed);
  EXPECT_EQ(dev.series[1].name, "trial 1 write (n=2)");
  EXPECT_TRUE(dev.series[1].dashed);
  EXPECT_EQ(dev.series[0].color, dev.series[1].color);
  EXPECT_EQ(dev.series[0].points,
            rh::latency_cdf_ms(s.trials[0].run->results, "storage_read_device"));
  EXPECT_EQ(rh::trial_end_to_end_chart(s, 1).series.size(), 2u);
  // Option 2 has no results yet: empty charts ("no data"), not zero lines.
  EXPECT_TRUE(rh::trial_bandwidth_chart(s, 2, "write").series.empty());
  EXPECT_TRUE(rh::trial_end_to_end_chart(s, 2).series.empty());
}

TEST(SequenceReport, PageHoldsTableLinksVerificationAndCharts) {
  const std::string html = rh::render_sequence(two_options());
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_EQ(html.find(" src="), std::string::npos);
  EXPECT_NE(html.find("MLPerf Storage KV-cache sequence: OPEN sys&lt;1&gt; 20260101_120000"),
            std::string::npos);
  EXPECT_NE(html.find("Sequence interrupted: 3 of 4 trials finished."), std::string::npos);
  EXPECT_NE(html.find("--resume /r"), std::string::npos);
  EXPECT_NE(html.find("Partial failure"), std::string::npos);
  EXPECT_NE(html.find("Verification: INVALID"), std::string::npos);
  EXPECT_NE(html.find("<a href=\"#verification\">1 reason(s)</a>"), std::string::npos);
  EXPECT_NE(html.find("duration &lt; 30 s"), std::string::npos);
  EXPECT_NE(html.find("Option 1 — Max Storage Stress: trials overlaid"), std::string::npos);
  // The table: 4 trial rows, 2 aggregate and 2 spread rows, one cell per column each.
  EXPECT_EQ(count_of(html, "<tr class=\"trial\""), 4);
  EXPECT_EQ(count_of(html, "<tr class=\"aggregate\""), 2);
  EXPECT_EQ(count_of(html, "<tr class=\"spread\""), 2);
  EXPECT_EQ(count_of(html, "data-key=\"read_bandwidth_gbps\""), 8);
  EXPECT_NE(html.find("data-key=\"read_bandwidth_gbps\">47.14 %</td>"), std::string::npos);
  EXPECT_NE(html.find("<td class=\"st-pending\">pending</td>"), std::string::npos);
  EXPECT_NE(html.find("<a href=\"option_1/trial_1/r.html\" title="), std::string::npos);
  EXPECT_NE(html.find("<a href=\"option_1/trial_0/x.json\">"), std::string::npos);
  EXPECT_NE(html.find("<a href=\"kvcache_run_summary_20260101_120000.json\">"), std::string::npos);
  // Option 1: 2 read + 2 write bandwidth lines, 4 device CDFs, 2 end-to-end CDFs; option 2 none.
  EXPECT_EQ(count_of(html, "<path class=\"series\""), 10);
  // Bars: read bandwidth of option 1's two trials, device read P95 of the same (option 2's
  // trials measured nothing: no bar).
  EXPECT_EQ(count_of(html, "<rect class=\"bar\""), 4);
  EXPECT_NE(html.find("Max Storage Stress"), std::string::npos);  // configuration: options table
}

TEST(SequenceReport, RunningAndCompleteBanners) {
  rh::Sequence s = two_options();
  s.metadata["status"] = "running";
  std::string html = rh::render_sequence(s);
  EXPECT_NE(html.find("In progress: 3 of 4 trials finished"), std::string::npos);
  EXPECT_NE(html.find("what ran is judged when the sequence ends"), std::string::npos);
  s.metadata["status"] = "success";
  s.metadata["verification"] = "CLOSED";
  s.metadata["verification_issues"] = Json::array();
  html = rh::render_sequence(s);
  EXPECT_NE(html.find("<div class=\"banner ok\" id=\"status\">Sequence complete"),
            std::string::npos);
  EXPECT_NE(html.find("<div class=\"banner ok\" id=\"verdict\">Verification: CLOSED"),
            std::string::npos);
  // No summary yet (the first trial still running): every trial row, no aggregate.
  s.summary = nullptr;
  const auto rows = rh::sequence_rows(s);
  EXPECT_EQ(rows.size(), 4u);
  for (const auto& r : rows)
    for (const auto& v : r.values) EXPECT_FALSE(v);
}
