// merge_rank_results: cluster totals are sums of the ranks' values, rates and ratios come from
// summed counts, percentiles are pooled (within the histogram's error of the exact percentile over
// the union of the ranks' samples), the MLPerf aggregates follow the rules (sum; max of per-rank
// P95), and failures are reported per rank.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "core/units.hpp"
#include "engine/metrics/latency.hpp"
#include "engine/results.hpp"
#include "engine/results_merge.hpp"
#include "model/model.hpp"

using namespace kv;
using namespace kv::engine;
using ojson = nlohmann::ordered_json;

namespace {

std::vector<double> lognormal(std::uint32_t seed, std::size_t n, double mu, double sigma) {
  std::mt19937_64 rng(seed);
  std::lognormal_distribution<double> dist(mu, sigma);
  std::vector<double> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

// One rank's run: sizes and latencies differ per rank so that sums, maxima and pooled
// percentiles are all distinguishable.
RunData rank_run(int r) {
  RunData d;
  d.config.performance_profile = PerformanceProfile::kLatency;
  d.config.num_users = 4;
  d.config.seed = 42 + r;
  d.model = *model::ModelTable::builtin().find("tiny-1b");
  d.elapsed_s = 5.0 + 0.01 * r;
  const std::size_t n = 1000 + 500 * static_cast<std::size_t>(r);
  d.e2e_s = lognormal(10 + r, n, -3.0 + 0.5 * r, 0.8);
  d.storage_s = lognormal(20 + r, n, -5.0 + 0.3 * r, 1.0);
  d.generation_s = lognormal(30 + r, n, -4.0, 0.5);
  d.prefill_s = lognormal(40 + r, n / 2, -5.0, 0.7);
  d.decode_s = lognormal(50 + r, n / 2, -6.0, 0.7);
  d.queue_wait_s = lognormal(60 + r, n, -7.0, 1.0);
  d.ttft_s = lognormal(70 + r, n, -4.0, 1.0);
  d.qos_e2e_s[0] = std::vector<double>(d.e2e_s.begin(), d.e2e_s.begin() + static_cast<long>(n / 2));
  d.qos_e2e_s[2] = std::vector<double>(d.e2e_s.begin() + static_cast<long>(n / 2), d.e2e_s.end());
  d.requests_completed = n;
  d.total_tokens = 100 * n + static_cast<std::uint64_t>(r);
  d.stats.cache_hits = 300 + 10 * static_cast<std::uint64_t>(r);
  d.stats.cache_misses = 100 + 50 * static_cast<std::uint64_t>(r);
  d.stats.total_read_bytes = (3 + static_cast<std::uint64_t>(r)) * kGiB;
  d.stats.total_write_bytes = (1 + static_cast<std::uint64_t>(r)) * kGiB;
  d.stats.tiers[2].bytes_read = (2 + static_cast<std::uint64_t>(r)) * kGiB;
  d.stats.tiers[2].bytes_written = (1 + static_cast<std::uint64_t>(r)) * kGiB;
  d.stats.storage_tokens_processed = 1000 * (1 + static_cast<std::uint64_t>(r));
  d.end_stats.tiers[2].entries = 10 + static_cast<std::uint64_t>(r);
  d.tier_read_s[2] = lognormal(80 + r, n, -5.0, 0.6);
  d.tier_write_s[2] = lognormal(90 + r, n / 2, -4.5, 0.6);
  d.storage_read_device_s = lognormal(100 + r, n, -5.5 + 0.4 * r, 0.6);
  d.storage_read_host_s = lognormal(110 + r, n, -8.0, 0.3);
  d.storage_write_device_s = lognormal(120 + r, n / 2, -5.0 + 0.2 * r, 0.6);
  d.storage_write_host_s = lognormal(130 + r, n / 2, -8.0, 0.3);
  d.timeseries = ojson::array();
  for (int t = 0; t < 5; ++t)
    d.timeseries.push_back(
        {{"t", t}, {"storage_read_bytes", 100 * (r + 1)}, {"storage_read_ops", r + 1}});
  return d;
}

struct Job {
  std::vector<RunData> runs;
  std::vector<RankOutcome> ranks;
  ojson merged;
};

Job make_job(int n, int missing_rank = -1) {
  Job j;
  for (int r = 0; r < n; ++r) {
    j.runs.push_back(rank_run(r));
    RankOutcome o;
    o.rank = r;
    o.host = r < 2 ? "hostA" : "hostB";
    o.pid = 1000 + r;
    if (r == missing_rank) {
      o.status = RankStatus::kFailed;
      o.reason = "no result before the job was stopped";
      o.exit_code = -1;
      o.last_heartbeat = ojson{{"t", 1.5}, {"completed", 12}};
    } else {
      ojson res = build_results(j.runs.back());
      res["distributed"] = ojson{{"rank", r},
                                 {"seed", 42 + r},
                                 {"window_start_unix_s", 1000.0 + 0.001 * r},
                                 {"capacity_sharers", 2}};
      o.results = std::move(res);
    }
    j.ranks.push_back(std::move(o));
  }
  MergeContext mc;
  mc.base_seed = 42;
  mc.cache_dir = "/data/kv";
  mc.cluster_info = ojson{{"num_hosts", 2}};
  j.merged = merge_rank_results(j.ranks, mc);
  return j;
}

double exact_pct(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return metrics::percentile_type7(v, p);
}

template <class F>
std::vector<double> union_of(const std::vector<RunData>& runs, F f, int skip = -1) {
  std::vector<double> all;
  for (std::size_t r = 0; r < runs.size(); ++r) {
    if (static_cast<int>(r) == skip) continue;
    const auto& v = f(runs[r]);
    all.insert(all.end(), v.begin(), v.end());
  }
  return all;
}

double num(const ojson& j, const std::string& ptr) {
  return j.at(ojson::json_pointer(ptr)).get<double>();
}

double sum_ranks(const Job& j, const std::string& ptr) {
  double s = 0;
  for (const auto& r : j.ranks)
    if (r.results) s += num(*r.results, ptr);
  return s;
}

}  // namespace

TEST(Merge, TotalsAreSumsOfTheRanks) {
  const Job j = make_job(3);
  const ojson& m = j.merged;
  for (const char* p :
       {"/requests_completed", "/total_tokens_generated", "/summary/total_requests",
        "/summary/total_tokens", "/summary/avg_throughput_tokens_per_sec",
        "/summary/storage_throughput_tokens_per_sec", "/summary/requests_per_second",
        "/summary/total_storage_io_time", "/summary/cache_stats/cache_hits",
        "/summary/cache_stats/tier_storage_read_bandwidth_gbps",
        "/summary/cache_stats/tier_storage_write_bandwidth_gbps",
        "/summary/cache_stats/storage_entries", "/summary/cache_stats/storage_tokens_processed",
        "/summary/cache_stats/total_read_gb"})
    EXPECT_NEAR(num(m, p), sum_ranks(j, p), 1e-9 * std::max(1.0, sum_ranks(j, p))) << p;
  EXPECT_TRUE(m["requests_completed"].is_number_unsigned());  // integers stay integers
  EXPECT_EQ(m["requests_completed"].get<std::uint64_t>(), 1000u + 1500u + 2000u);
  // The common window is the longest rank window.
  EXPECT_DOUBLE_EQ(num(m, "/summary/elapsed_time"), 5.02);
  // Raw lists: the union, in rank order.
  EXPECT_EQ(m["end_to_end_latencies"].size(), 4500u);
  EXPECT_DOUBLE_EQ(m["end_to_end_latencies"][1000].get<double>(), j.runs[1].e2e_s[0]);
  // Ratios from summed counts, not averaged ratios.
  const double hits = 300 + 310 + 320, misses = 100 + 150 + 200;
  EXPECT_DOUBLE_EQ(num(m, "/summary/cache_stats/cache_hit_rate"), hits / (hits + misses));
  EXPECT_DOUBLE_EQ(num(m, "/summary/cache_stats/read_write_ratio"), (3.0 + 4 + 5) / (1.0 + 2 + 3));
  // Time series: second by second.
  ASSERT_EQ(m["timeseries"].size(), 5u);
  EXPECT_EQ(m["timeseries"][3]["storage_read_bytes"].get<std::uint64_t>(), 100u + 200u + 300u);
  EXPECT_EQ(m["timeseries"][3]["storage_read_ops"].get<std::uint64_t>(), 6u);
  EXPECT_EQ(m["seed"], 42);
  EXPECT_EQ(m["config"]["num_users_total"], 12);
}

TEST(Merge, PercentilesArePooledOverTheUnion) {
  const Job j = make_job(3);
  const ojson& s = j.merged["summary"];
  struct Case {
    const char* ptr;
    std::vector<double> all;
  } cases[] = {
      {"/end_to_end_latency_ms", union_of(j.runs, [](const RunData& d) { return d.e2e_s; })},
      {"/storage_io_latency_ms", union_of(j.runs, [](const RunData& d) { return d.storage_s; })},
      {"/generation_latency_ms", union_of(j.runs, [](const RunData& d) { return d.generation_s; })},
      {"/prefill_latency_ms", union_of(j.runs, [](const RunData& d) { return d.prefill_s; })},
      {"/decode_latency_ms", union_of(j.runs, [](const RunData& d) { return d.decode_s; })},
      {"/queue_wait_ms", union_of(j.runs, [](const RunData& d) { return d.queue_wait_s; })},
      {"/ttft_proxy_ms", union_of(j.runs, [](const RunData& d) { return d.ttft_s; })},
  };
  for (const auto& c : cases) {
    for (const auto& [name, p] : std::vector<std::pair<std::string, double>>{
             {"p50", 50}, {"p95", 95}, {"p99", 99}, {"p999", 99.9}, {"p9999", 99.99}}) {
      const double exact = exact_pct(c.all, p) * 1e3;
      EXPECT_NEAR(num(s, std::string(c.ptr) + "/" + name), exact, exact * 0.01)
          << c.ptr << " " << name;
    }
    double mean = 0;
    for (double v : c.all) mean += v;
    mean = mean / static_cast<double>(c.all.size()) * 1e3;
    EXPECT_NEAR(num(s, std::string(c.ptr) + "/mean"), mean, mean * 1e-9) << c.ptr;
  }
  const auto dev = union_of(j.runs, [](const RunData& d) { return d.storage_read_device_s; });
  EXPECT_NEAR(num(s, "/cache_stats/storage_read_device_p95_ms"), exact_pct(dev, 95) * 1e3,
              exact_pct(dev, 95) * 1e3 * 0.01);
  const auto sr = union_of(j.runs, [](const RunData& d) { return d.tier_read_s[2]; });
  EXPECT_NEAR(num(s, "/cache_stats/storage_read_p99_ms"), exact_pct(sr, 99) * 1e3,
              exact_pct(sr, 99) * 1e3 * 0.01);
  // Keys without samples stay absent.
  EXPECT_FALSE(s["cache_stats"].contains("gpu_read_p50_ms"));
  // QoS: counts summed, latencies pooled, compliance from the summed violation counts.
  const auto inter = union_of(j.runs, [](const RunData& d) { return d.qos_e2e_s[0]; });
  EXPECT_EQ(s["qos_metrics"]["interactive"]["total_requests"].get<std::uint64_t>(), inter.size());
  EXPECT_NEAR(num(s, "/qos_metrics/interactive/latency_ms/p95"), exact_pct(inter, 95) * 1e3,
              exact_pct(inter, 95) * 1e3 * 0.01);
  EXPECT_TRUE(s["qos_metrics"]["responsive"].value("no_data", false));
  // Merged histograms are the histograms of the union.
  EXPECT_EQ(j.merged["latency_histograms"]["end_to_end"]["count"].get<std::uint64_t>(), 4500u);
}

TEST(Merge, MlperfAggregatesFollowTheRules) {
  const Job j = make_job(3);
  const ojson& a = j.merged["mlperf_aggregates"];
  EXPECT_EQ(a["total_ranks"], 3);
  EXPECT_DOUBLE_EQ(a["aggregated_read_bandwidth_gbps"].get<double>(),
                   sum_ranks(j, "/summary/cache_stats/tier_storage_read_bandwidth_gbps"));
  EXPECT_DOUBLE_EQ(a["aggregated_write_bandwidth_gbps"].get<double>(),
                   sum_ranks(j, "/summary/cache_stats/tier_storage_write_bandwidth_gbps"));
  EXPECT_DOUBLE_EQ(a["aggregated_storage_throughput_tokens_per_sec"].get<double>(),
                   sum_ranks(j, "/summary/storage_throughput_tokens_per_sec"));
  double max_read = 0, max_write = 0;
  for (const auto& r : j.ranks) {
    max_read =
        std::max(max_read, num(*r.results, "/summary/cache_stats/storage_read_device_p95_ms"));
    max_write =
        std::max(max_write, num(*r.results, "/summary/cache_stats/storage_write_device_p95_ms"));
  }
  EXPECT_DOUBLE_EQ(a["aggregated_device_read_p95_ms"].get<double>(), max_read);
  EXPECT_DOUBLE_EQ(a["aggregated_device_write_p95_ms"].get<double>(), max_write);
  // Max of per-rank P95s is not the pooled P95 (rank 2 is slowest, so the max is larger).
  EXPECT_GT(max_read, a["pooled_device_read_p95_ms"].get<double>());
  EXPECT_TRUE(a["cpu_tier_ranks"].empty());
}

TEST(Merge, RanksHostsAndWindow) {
  const Job j = make_job(3);
  const ojson& m = j.merged;
  EXPECT_EQ(m["rank_count"], 3);
  EXPECT_EQ(m["host_count"], 2);
  EXPECT_FALSE(m["partial_failure"].get<bool>());
  EXPECT_TRUE(m["failed_ranks"].empty());
  ASSERT_EQ(m["ranks"].size(), 3u);
  EXPECT_EQ(m["ranks"][2]["host"], "hostB");
  EXPECT_EQ(m["ranks"][2]["seed"], 44);
  EXPECT_EQ(m["ranks"][1]["summary"]["total_requests"], 1500);
  EXPECT_NEAR(m["window"]["start_skew_s"].get<double>(), 0.002, 1e-9);
  EXPECT_EQ(m["cluster_info"]["num_hosts"], 2);
  EXPECT_EQ(m["cache_dir"]["path"], "/data/kv");
  EXPECT_FALSE(m.contains("distributed"));
}

TEST(Merge, MissingRankIsAPartialFailure) {
  const Job j = make_job(3, /*missing_rank=*/1);
  const ojson& m = j.merged;
  EXPECT_TRUE(m["partial_failure"].get<bool>());
  ASSERT_EQ(m["failed_ranks"].size(), 1u);
  EXPECT_EQ(m["failed_ranks"][0]["rank"], 1);
  EXPECT_NE(m["failed_ranks"][0]["reason"].get<std::string>().find("no result"), std::string::npos);
  EXPECT_EQ(m["ranks"][1]["last_heartbeat"]["completed"], 12);
  EXPECT_EQ(m["requests_completed"].get<std::uint64_t>(), 1000u + 2000u);
  EXPECT_EQ(m["mlperf_aggregates"]["total_ranks"], 2);
  const auto all = union_of(
      j.runs, [](const RunData& d) { return d.e2e_s; }, 1);
  EXPECT_NEAR(num(m, "/summary/end_to_end_latency_ms/p95"), exact_pct(all, 95) * 1e3,
              exact_pct(all, 95) * 1e3 * 0.01);
}

TEST(Merge, NoResultsAtAllStillGivesTheKeys) {
  std::vector<RankOutcome> ranks(2);
  for (int r = 0; r < 2; ++r) {
    ranks[r].rank = r;
    ranks[r].host = "h";
    ranks[r].status = r == 0 ? RankStatus::kCancelled : RankStatus::kFailed;
    ranks[r].reason = r == 0 ? "run cancelled" : "cannot create --cache-dir";
  }
  MergeContext mc;
  RunData empty;
  empty.model = *model::ModelTable::builtin().find("tiny-1b");
  mc.empty_results = build_results(empty);
  const ojson m = merge_rank_results(ranks, mc);
  EXPECT_TRUE(m["partial_failure"].get<bool>());
  ASSERT_EQ(m["failed_ranks"].size(), 1u);  // cancelled ranks are not failures of their own
  EXPECT_EQ(m["failed_ranks"][0]["rank"], 1);
  EXPECT_EQ(m["summary"]["total_requests"], 0);
  EXPECT_EQ(m["mlperf_aggregates"]["total_ranks"], 0);
  EXPECT_TRUE(m["mlperf_aggregates"]["aggregated_device_read_p95_ms"].is_null());
}

TEST(Merge, UnknownKeysAreSummedOrMaxed) {
  Job j = make_job(2);
  for (int r = 0; r < 2; ++r) {
    (*j.ranks[r].results)["summary"]["new_counter"] = 5 + r;
    (*j.ranks[r].results)["summary"]["new_block_ms"] = ojson{{"p50", 1.0 + r}, {"p95", 2.0 + r}};
  }
  const ojson m = merge_rank_results(j.ranks, MergeContext{});
  EXPECT_EQ(m["summary"]["new_counter"], 11);
  EXPECT_DOUBLE_EQ(m["summary"]["new_block_ms"]["p95"].get<double>(), 3.0);
  ASSERT_TRUE(m.contains("merge_notes"));
}

TEST(Merge, PerRankOutputPath) {
  EXPECT_EQ(per_rank_output_path("/r/out.json", 3), "/r/out_rank3.json");
  EXPECT_EQ(per_rank_output_path("res", 0), "res_rank0");
}
