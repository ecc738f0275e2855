// Results JSON: the golden list of reference keys (tests/data/reference_result_keys.txt) is
// present, percentile keys only with samples, and the formulas of docs/metrics.md (bandwidth =
// bytes / GiB / elapsed, ratios, type-7 percentiles, QoS compliance, storage_health) hold.
#include "engine/results.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "core/units.hpp"

using namespace kv;
using namespace kv::engine;
using ojson = nlohmann::ordered_json;

namespace {

const ojson* at_path(const ojson& j, const std::string& path) {
  const ojson* cur = &j;
  std::stringstream ss(path);
  std::string part;
  while (std::getline(ss, part, '.')) {
    if (!cur->is_object() || !cur->contains(part)) return nullptr;
    cur = &(*cur)[part];
  }
  return cur;
}

std::vector<std::pair<bool, std::string>> reference_keys() {
  std::ifstream in(std::string(KV_TEST_DATA_DIR) + "/reference_result_keys.txt");
  std::vector<std::pair<bool, std::string>> keys;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const bool optional = line[0] == '?';
    keys.emplace_back(optional, optional ? line.substr(1) : line);
  }
  return keys;
}

RunData sample_run(bool all_tiers) {
  RunData d;
  d.config.performance_profile = PerformanceProfile::kLatency;
  d.config.seed = 42;
  d.model = *model::ModelTable::builtin().find("tiny-1b");
  d.elapsed_s = 10.0;
  d.requests_completed = 4;
  d.total_tokens = 400;
  d.e2e_s = {1.0, 2.0, 3.0, 4.0};
  d.storage_s = {0.5, 0.5, 1.0, 2.0};
  d.generation_s = {0, 0, 0, 0};
  d.prefill_s = {0.1, 0.2};
  d.decode_s = {0.3, 0.4};
  d.queue_wait_s = {0.01, 0.02, 0.03, 0.04};
  d.ttft_s = {0.5, 0.6};
  d.qos_e2e_s[0] = {0.01, 0.02, 0.03, 1.0};
  d.stats.cache_hits = 30;
  d.stats.cache_misses = 10;
  d.stats.total_read_bytes = 6 * kGiB;
  d.stats.total_write_bytes = 2 * kGiB;
  d.stats.read_operations = 12;
  d.stats.write_operations = 5;
  d.stats.tiers[2].bytes_read = 5 * kGiB;
  d.stats.tiers[2].bytes_written = 2 * kGiB;
  d.stats.tiers[1].bytes_read = kGiB;
  d.end_stats.tiers[2].entries = 7;
  d.end_stats.tiers[1].usage_bytes = kGiB / 2;
  d.tier_read_s[2] = {0.1, 0.2, 0.3};
  d.tier_write_s[2] = {0.4, 0.6};
  d.storage_read_device_s = {0.09, 0.19, 0.29};
  d.storage_read_host_s = {0.01, 0.01, 0.01};
  d.storage_write_device_s = {0.3, 0.5};
  d.storage_write_host_s = {0.1, 0.1};
  if (all_tiers) {
    d.tier_read_s[0] = {0.001};
    d.tier_write_s[0] = {0.002};
    d.tier_read_s[1] = {0.01, 0.02};
    d.tier_write_s[1] = {0.03};
  }
  return d;
}

}  // namespace

TEST(Results, CarriesEveryReferenceKey) {
  const ojson j = build_results(sample_run(true));
  const auto keys = reference_keys();
  ASSERT_GT(keys.size(), 100u);
  for (const auto& [optional, k] : keys)
    EXPECT_NE(at_path(j, k), nullptr) << "missing reference key " << k;
  // The raw lists are in seconds, as the reference.
  EXPECT_EQ(j["end_to_end_latencies"], ojson({1.0, 2.0, 3.0, 4.0}));
  EXPECT_EQ(j["seed"], 42);
  EXPECT_TRUE(j["summary"]["autoscaling_stats"].is_array());
  EXPECT_TRUE(j["summary"]["autoscaling_summary"].is_null());
  EXPECT_TRUE(j["throughput_timeline"].is_array());
}

TEST(Results, PercentileKeysOnlyWithSamples) {
  const ojson j = build_results(sample_run(false));
  const auto& cs = j["summary"]["cache_stats"];
  EXPECT_FALSE(cs.contains("gpu_read_p50_ms"));
  EXPECT_FALSE(cs.contains("cpu_write_p95_ms"));
  EXPECT_TRUE(cs.contains("storage_read_p95_ms"));
  EXPECT_TRUE(cs.contains("storage_write_device_p9999_ms"));
  EXPECT_FALSE(cs.contains("demotion_p50_ms"));
  for (const auto& [optional, k] : reference_keys())
    if (!optional) {
      EXPECT_NE(at_path(j, k), nullptr) << k;
    }
}

TEST(Results, FormulasMatchTheReference) {
  const ojson j = build_results(sample_run(false));
  const auto& s = j["summary"];
  const auto& cs = s["cache_stats"];
  EXPECT_DOUBLE_EQ(cs["tier_storage_read_bandwidth_gbps"].get<double>(), 0.5);   // 5 GiB / 10 s
  EXPECT_DOUBLE_EQ(cs["tier_storage_write_bandwidth_gbps"].get<double>(), 0.2);  // 2 GiB / 10 s
  EXPECT_DOUBLE_EQ(cs["tier_cpu_read_bandwidth_gbps"].get<double>(), 0.1);
  EXPECT_DOUBLE_EQ(cs["tier_storage_kv_bytes_read_gb"].get<double>(), 5.0);
  EXPECT_DOUBLE_EQ(cs["cache_hit_rate"].get<double>(), 0.75);
  EXPECT_DOUBLE_EQ(cs["read_write_ratio"].get<double>(), 3.0);
  EXPECT_EQ(cs["read_iops"].get<int>(), 12);  // a count, as the reference
  EXPECT_EQ(cs["storage_entries"].get<int>(), 7);
  EXPECT_DOUBLE_EQ(cs["cpu_memory_used_gb"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(s["avg_throughput_tokens_per_sec"].get<double>(), 40.0);
  EXPECT_DOUBLE_EQ(s["total_storage_io_time"].get<double>(), 4.0);
  EXPECT_DOUBLE_EQ(s["storage_throughput_tokens_per_sec"].get<double>(), 100.0);
  EXPECT_DOUBLE_EQ(s["requests_per_second"].get<double>(), 0.4);
  // numpy type 7: [1, 2, 3, 4] s → p50 2.5 s, p95 3.85 s.
  EXPECT_NEAR(s["end_to_end_latency_ms"]["p50"].get<double>(), 2500.0, 1e-9);
  EXPECT_NEAR(s["end_to_end_latency_ms"]["p95"].get<double>(), 3850.0, 1e-9);
  EXPECT_NEAR(s["end_to_end_latency_ms"]["mean"].get<double>(), 2500.0, 1e-9);
  EXPECT_NEAR(cs["storage_read_p50_ms"].get<double>(), 200.0, 1e-9);
  // QoS: interactive target 50 ms; 3 of 4 requests under it.
  const auto& qi = s["qos_metrics"]["interactive"];
  EXPECT_EQ(qi["total_requests"].get<int>(), 4);
  EXPECT_DOUBLE_EQ(qi["sla"]["compliance"].get<double>(), 0.75);
  EXPECT_FALSE(qi["sla"]["met"].get<bool>());
  EXPECT_TRUE(s["qos_metrics"]["batch"]["no_data"].get<bool>());
  // storage_health (latency profile): write P95 from device samples (0.49 s < 0.5 s), read 0.28 s >
  // 0.2 s.
  const auto& h = cs["storage_health"];
  EXPECT_EQ(h["overall_status"], "FAIL");
  EXPECT_EQ(h["total_count"].get<int>(), 3);  // no CPU ops
  EXPECT_EQ(h["passed_count"].get<int>(), 2);
  // Ours.
  EXPECT_TRUE(s.contains("failed_requests"));
  EXPECT_NEAR(s["queue_wait_ms"]["p50"].get<double>(), 25.0, 1e-9);
  EXPECT_TRUE(j["latency_histograms"]["end_to_end"].contains("buckets"));
  EXPECT_EQ(j["resources"]["cpu_seconds_per_gib"].is_null(), false);
}

// storage_health as the reference writes it: keys in its order, criterion names with the
// threshold in the name, integer millisecond targets, numeric actuals, the hit rate as a ratio.
TEST(Results, LatencyProfileHealthHasTheReferenceCriteria) {
  const ojson j = build_results(sample_run(true));
  const ojson& h = j["summary"]["cache_stats"]["storage_health"];
  std::vector<std::string> keys;
  for (auto it = h.begin(); it != h.end(); ++it) keys.push_back(it.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"overall_status", "criteria", "passed_count",
                                            "total_count", "note"}));
  ASSERT_EQ(h["criteria"].size(), 4u);
  const ojson& w = h["criteria"][0];
  EXPECT_EQ(w["name"], "Storage Tier Write Device P95 < 500ms");
  EXPECT_TRUE(w["target"].is_number_integer());
  EXPECT_EQ(w["target"].get<int>(), 500);
  EXPECT_NEAR(w["actual"].get<double>(), 490.0, 1e-9);  // type 7 over {0.3, 0.5} s
  EXPECT_EQ(w["unit"], "ms");
  EXPECT_EQ(w["passed"], true);
  const ojson& r = h["criteria"][1];
  EXPECT_EQ(r["name"], "Storage Tier Read Device P95 < 200ms");
  EXPECT_EQ(r["target"].get<int>(), 200);
  EXPECT_NEAR(r["actual"].get<double>(), 280.0, 1e-9);
  EXPECT_EQ(r["passed"], false);
  const ojson& cpu = h["criteria"][2];
  EXPECT_EQ(cpu["name"], "CPU RAM P95 < 150ms");
  EXPECT_EQ(cpu["target"].get<int>(), 150);
  EXPECT_TRUE(cpu["actual"].is_number_float());
  const ojson& hr = h["criteria"][3];
  EXPECT_EQ(hr["name"], "Cache Hit Rate > 30%");
  EXPECT_DOUBLE_EQ(hr["target"].get<double>(), 0.3);
  EXPECT_DOUBLE_EQ(hr["actual"].get<double>(), 0.75);
  EXPECT_EQ(hr["unit"], "ratio");
  EXPECT_EQ(h["overall_status"], "FAIL");
  EXPECT_EQ(h["passed_count"].get<int>(), 3);
  EXPECT_EQ(h["total_count"].get<int>(), 4);
}

TEST(Results, HealthNamesTotalLatencyWithoutDeviceSamples) {
  RunData d = sample_run(false);
  d.storage_read_device_s.clear();
  d.storage_write_device_s.clear();
  const ojson j = build_results(d);
  const ojson& c = j["summary"]["cache_stats"]["storage_health"]["criteria"];
  ASSERT_EQ(c.size(), 3u);  // no CPU ops: no CPU criterion
  EXPECT_EQ(c[0]["name"], "Storage Tier Write Total P95 < 500ms");
  EXPECT_NEAR(c[0]["actual"].get<double>(), 590.0, 1e-9);  // tier totals {0.4, 0.6} s
  EXPECT_EQ(c[1]["name"], "Storage Tier Read Total P95 < 200ms");
}

// Throughput profile: the reference's target is the string ">0" and its actual the bandwidth as a
// string with two decimals.
TEST(Results, ThroughputProfileHealthChecksBandwidth) {
  RunData d = sample_run(false);
  d.config.performance_profile = PerformanceProfile::kThroughput;
  const ojson j = build_results(d);
  const auto& h = j["summary"]["cache_stats"]["storage_health"];
  EXPECT_EQ(h["overall_status"], "PASS");
  EXPECT_EQ(h["total_count"].get<int>(), 2);
  EXPECT_EQ(h["criteria"][0], (ojson{{"name", "Storage KV Read Bandwidth"},
                                     {"target", ">0"},
                                     {"actual", "0.50"},  // 5 GiB in 10 s
                                     {"unit", "GiB/s"},
                                     {"passed", true}}));
  EXPECT_EQ(h["criteria"][1]["name"], "Storage KV Write Bandwidth");
  EXPECT_EQ(h["criteria"][1]["actual"], "0.20");
  // A run without storage reads (prefill only) is not judged on read bandwidth.
  d.stats.tiers[2].bytes_read = 0;
  const ojson w = build_results(d)["summary"]["cache_stats"]["storage_health"];
  ASSERT_EQ(w["criteria"].size(), 1u);
  EXPECT_EQ(w["criteria"][0]["name"], "Storage KV Write Bandwidth");
  // The pass flag compares the unrounded bandwidth: 1 MiB in 10 s prints as "0.00" but passes.
  d.stats.tiers[2].bytes_written = kMiB;
  const ojson tiny = build_results(d)["summary"]["cache_stats"]["storage_health"];
  EXPECT_EQ(tiny["criteria"][0]["actual"], "0.00");
  EXPECT_EQ(tiny["criteria"][0]["passed"], true);
}
