// merge_rank_results: cluster totals are sums of the ranks' values, rates and ratios come from
// summed counts, percentiles are pooled (within the histogram's error of the exact percentile over
// the union of the ranks' samples), the MLPerf aggregates follow the rules (sum; max of per-rank
// P95), and failures are reported per rank.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "core/units.hpp"
#include "engine/metrics/latency.hpp"
#include "engine/metrics/reference_accounting.hpp"
#include "engine/replay/validation_trace.hpp"
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
  for (int i = 0; i < 10 * (r + 1); ++i) d.io.chunk_read.add(0.001 * (r + 1));
  d.io.window_chunk_bytes_read = 1000 * (static_cast<std::uint64_t>(r) + 1);
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

// Sets block `key` of every rank's results to make(rank) and merges again.
template <class F>
ojson remerge_with(Job& j, const char* key, F make) {
  for (auto& r : j.ranks)
    if (r.results) (*r.results)[key] = make(r.rank);
  return merge_rank_results(j.ranks, MergeContext{});
}

bool has_note(const ojson& m, const std::string& start) {
  if (!m.contains("merge_notes")) return false;
  for (const auto& n : m["merge_notes"])
    if (n.get<std::string>().rfind(start, 0) == 0) return true;
  return false;
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

// The rules of docs/metrics.md ("MPI merge"), one block at a time, over three synthetic ranks.

// rag_stats: work (planned and done) is summed, settings are the same on every rank, the
// ingestion is complete only when every rank's is.
TEST(MergeRules, RagStatsSumWorkKeepSettings) {
  Job j = make_job(3);
  const ojson m = remerge_with(j, "rag_stats", [](int r) {
    return ojson{{"documents_planned", 2},      {"chunk_tokens", 512},
                 {"documents_ingested", 1 + r}, {"ingestion_complete", r != 1},
                 {"max_documents", 4},          {"request_probability", 0.1},
                 {"top_k_chunks", 5},           {"retrieval_distribution", "zipfian"},
                 {"chunk_reads", 10 * (r + 1)}, {"chunk_hits", 5 * (r + 1)}};
  });
  const ojson& rag = m["rag_stats"];
  EXPECT_EQ(rag["documents_planned"], 6);
  EXPECT_EQ(rag["documents_ingested"], 1 + 2 + 3);
  EXPECT_EQ(rag["chunk_reads"], 60);
  EXPECT_EQ(rag["chunk_tokens"], 512);
  EXPECT_EQ(rag["max_documents"], 4);
  EXPECT_DOUBLE_EQ(rag["request_probability"].get<double>(), 0.1);
  EXPECT_EQ(rag["top_k_chunks"], 5);
  EXPECT_EQ(rag["retrieval_distribution"], "zipfian");
  EXPECT_EQ(rag["ingestion_complete"], false);
  EXPECT_FALSE(has_note(m, "rag_stats"));
}

// A setting that differs between ranks keeps the first rank's value and is named.
TEST(MergeRules, DifferingSettingIsNamedInTheNotes) {
  Job j = make_job(2);
  const ojson m = remerge_with(j, "rag_stats", [](int r) {
    return ojson{{"request_probability", r == 0 ? 0.1 : 0.3}, {"chunk_reads", 1}};
  });
  EXPECT_DOUBLE_EQ(m["rag_stats"]["request_probability"].get<double>(), 0.1);
  EXPECT_TRUE(has_note(m, "rag_stats/request_probability: differs between ranks"));
}

// mooncake_stats.block_hit_rate: from the summed hits and misses, not a sum of ratios.
TEST(MergeRules, BlockHitRateFromSummedCounts) {
  Job j = make_job(3);
  const int hits[] = {90, 10, 50};
  const ojson m = remerge_with(j, "mooncake_stats", [&](int r) {
    const int h = hits[r], miss = 100 - h;
    return ojson{{"block_lookups", 100},
                 {"block_hits", h},
                 {"block_misses", miss},
                 {"block_hit_rate", h / 100.0},
                 {"block_tokens", 512}};
  });
  EXPECT_DOUBLE_EQ(m["mooncake_stats"]["block_hit_rate"].get<double>(), 150.0 / 300.0);
  EXPECT_EQ(m["mooncake_stats"]["block_lookups"], 300);
  EXPECT_EQ(m["mooncake_stats"]["block_tokens"], 512);
}

// validation: the cluster's hit rate against the trace's (the same file on every rank).
TEST(MergeRules, ValidationComparesTheClusterHitRate) {
  Job j = make_job(3);
  replay::ValidationTraceStats trace = replay::builtin_validation_stats();  // hit rate 0.65
  const ojson m = remerge_with(j, "validation", [&](int r) {
    const ojson& cs = (*j.ranks[static_cast<std::size_t>(r)].results)["summary"]["cache_stats"];
    return replay::to_json(replay::compare_validation(cs["cache_hit_rate"].get<double>(), trace));
  });
  const double cluster = num(m, "/summary/cache_stats/cache_hit_rate");  // 930 / 1380
  const ojson& v = m["validation"];
  EXPECT_DOUBLE_EQ(v["comparison"]["cache_hit_rate"]["benchmark"].get<double>(), cluster);
  EXPECT_DOUBLE_EQ(v["comparison"]["cache_hit_rate"]["trace"].get<double>(), 0.65);
  EXPECT_DOUBLE_EQ(v["avg_error_pct"].get<double>(), std::fabs(cluster - 0.65) / 0.65 * 100);
  EXPECT_EQ(v["passed"], true);  // 3.7 % <= 5 %, although rank 0 alone (0.75) fails
  EXPECT_EQ(v["trace_stats"], replay::to_json(trace));
}

// io_trace: one file per rank (paths in rank order), rows summed, the first rank's error.
TEST(MergeRules, IoTraceListsEveryRanksFile) {
  Job j = make_job(3);
  const ojson m = remerge_with(j, "io_trace", [](int r) {
    return ojson{{"path", "/t/trace_rank" + std::to_string(r) + ".csv"},
                 {"rows", 100 * (r + 1)},
                 {"compressed", false},
                 {"real_io", true},
                 {"latency_column", true},
                 {"error", r == 0 ? ojson(nullptr) : ojson("disk full " + std::to_string(r))}};
  });
  const ojson& t = m["io_trace"];
  EXPECT_FALSE(t.contains("path"));
  EXPECT_EQ(t["paths"], (ojson{"/t/trace_rank0.csv", "/t/trace_rank1.csv", "/t/trace_rank2.csv"}));
  EXPECT_EQ(t["rows"], 600);
  EXPECT_EQ(t["real_io"], true);
  EXPECT_EQ(t["error"], "rank 1: disk full 1");
}

// reference_accounting: counts summed, the longest window and drain, rates recomputed from the
// summed counts over that window.
TEST(MergeRules, ReferenceAccountingRatesOverTheLongestWindow) {
  Job j = make_job(3);
  const double windows[] = {10.0, 10.2, 9.9}, drains[] = {1.0, 1.5, 0.5};
  const ojson m = remerge_with(j, "reference_accounting", [&](int r) {
    metrics::ReferenceAccountingInput in;
    in.window_s = windows[r];
    in.drain_s = drains[r];
    in.requests_in_window = 10 * static_cast<std::uint64_t>(r + 1);
    in.requests_in_drain = 1;
    in.in_flight_at_stop = 2;
    in.after_drain.read_bytes[2] = static_cast<std::uint64_t>(r + 1) * kGiB;
    return metrics::reference_accounting_json(in);
  });
  const ojson& ra = m["reference_accounting"];
  EXPECT_DOUBLE_EQ(ra["window_s"].get<double>(), 10.2);
  EXPECT_DOUBLE_EQ(ra["drain_s"].get<double>(), 1.5);
  EXPECT_EQ(ra["requests_completed"], 63);
  EXPECT_EQ(ra["in_flight_at_stop"], 6);
  EXPECT_DOUBLE_EQ(ra["tier_storage_kv_bytes_read_gb"].get<double>(), 6.0);
  EXPECT_DOUBLE_EQ(ra["tier_storage_read_bandwidth_gbps"].get<double>(), 6.0 / 10.2);
  EXPECT_DOUBLE_EQ(ra["requests_per_second"].get<double>(), 63 / 10.2);
}

// Replay inputs: every rank reads the whole dataset or trace, so what the file holds is the same
// on every rank; what a rank issued is summed; a replay is complete when every rank's is.
TEST(MergeRules, ReplayStatsKeepTheInputSumTheWork) {
  Job j = make_job(3);
  remerge_with(j, "dataset_stats", [](int r) {
    return ojson{{"conversations", 40},
                 {"turns", 120},
                 {"context_tokens", {{"count", 120}, {"p50", 300.0}, {"p95", 900.0}}},
                 {"request_rate", 2.0},
                 {"passes_started", 1 + r},
                 {"replay_complete", true},
                 {"turns_issued", 50 + r}};
  });
  const ojson m = remerge_with(j, "trace_stats", [](int r) {
    return ojson{{"files", 1},
                 {"records", 100 + r},
                 {"bad_lines_skipped", r == 2 ? 3 : 2},
                 {"cycles_completed", 2 - r / 2},
                 {"format", "mooncake"},
                 {"replay_complete", r != 2},
                 {"error", nullptr}};
  });
  const ojson& ds = m["dataset_stats"];
  EXPECT_EQ(ds["conversations"], 40);
  EXPECT_EQ(ds["turns"], 120);
  EXPECT_DOUBLE_EQ(ds["context_tokens"]["p95"].get<double>(), 900.0);
  EXPECT_EQ(ds["context_tokens"]["count"], 120);
  EXPECT_DOUBLE_EQ(ds["request_rate"].get<double>(), 2.0);
  EXPECT_EQ(ds["passes_started"], 3);
  EXPECT_EQ(ds["turns_issued"], 153);
  EXPECT_EQ(ds["replay_complete"], true);
  const ojson& ts = m["trace_stats"];
  EXPECT_EQ(ts["files"], 1);
  EXPECT_EQ(ts["records"], 303);
  EXPECT_EQ(ts["bad_lines_skipped"], 3);
  EXPECT_EQ(ts["cycles_completed"], 1);
  EXPECT_EQ(ts["replay_complete"], false);
  EXPECT_TRUE(ts["error"].is_null());
}

// precondition: bytes summed, the longest time, a stop on any rank; workload_mode the same.
TEST(MergeRules, PreconditionAndWorkloadMode) {
  Job j = make_job(2);
  remerge_with(j, "workload_mode", [](int) {
    return ojson{{"mode", "synthetic"}, {"rag", true}, {"replay_cycles", 2}};
  });
  const ojson m = remerge_with(j, "precondition", [](int r) {
    return ojson{{"written_bytes", 1000 * (r + 1)},
                 {"threads", 4},
                 {"stopped_on_consecutive_failures", r == 1},
                 {"seconds", 3.0 + r}};
  });
  EXPECT_EQ(m["workload_mode"]["replay_cycles"], 2);
  EXPECT_EQ(m["workload_mode"]["mode"], "synthetic");
  EXPECT_EQ(m["precondition"]["written_bytes"], 3000);
  EXPECT_EQ(m["precondition"]["threads"], 4);
  EXPECT_EQ(m["precondition"]["stopped_on_consecutive_failures"], true);
  EXPECT_DOUBLE_EQ(m["precondition"]["seconds"].get<double>(), 4.0);
}

// io: the same on every rank except the largest in-flight peak and the summed window bytes; chunk
// latencies pooled.
TEST(MergeRules, IoBlockPoolsChunkLatencies) {
  const Job j = make_job(3);
  const ojson& io = j.merged["io"];
  EXPECT_EQ(io["window_chunk_bytes"]["read"], 1000 + 2000 + 3000);
  EXPECT_EQ(io["engine"], "posix");
  EXPECT_EQ(io["chunk_latency_ms"]["read"]["count"], 10 + 20 + 30);
  EXPECT_NEAR(io["chunk_latency_ms"]["read"]["max"].get<double>(), 3.0, 3.0 * 0.004);
  EXPECT_EQ(io["chunk_latency_ms"]["write"]["count"], 0);
}

// storage_health of the cluster: the reference's criteria over the pooled percentiles.
TEST(MergeRules, HealthFromPooledPercentiles) {
  const Job j = make_job(3);
  const ojson& h = j.merged["summary"]["cache_stats"]["storage_health"];
  ASSERT_GE(h["criteria"].size(), 2u);
  EXPECT_EQ(h["criteria"][0]["name"], "Storage Tier Write Device P95 < 500ms");
  const double pooled =
      exact_pct(union_of(j.runs, [](const RunData& d) { return d.storage_write_device_s; }), 95) *
      1e3;
  EXPECT_NEAR(h["criteria"][0]["actual"].get<double>(), pooled, pooled * 0.004);
  EXPECT_EQ(h["criteria"][1]["name"], "Storage Tier Read Device P95 < 200ms");
}

TEST(MergeRules, GaugesAreTheClusterTotalPerSecond) {
  Job j = make_job(3);
  EXPECT_FALSE(j.merged["timeseries"][0].contains("queue_depth"));  // not recorded: no column
  // Rank r: queue depth r + 1 and (r + 1) GiB on storage in each of its rows; rank 2's window
  // ended a second earlier (its last row unsampled).
  const ojson m = remerge_with(j, "timeseries", [](int r) {
    ojson rows = ojson::array();
    for (int t = 0; t < 3; ++t) {
      const bool sampled = !(r == 2 && t == 2);
      ojson row = {{"t", t}, {"storage_write_bytes", 10}};
      row["queue_depth"] = sampled ? ojson(r + 1) : ojson(nullptr);
      row["storage_used_bytes"] =
          sampled ? ojson((static_cast<std::uint64_t>(r) + 1) << 30) : ojson(nullptr);
      rows.push_back(row);
    }
    return rows;
  });
  ASSERT_EQ(m["timeseries"].size(), 3u);
  EXPECT_EQ(m["timeseries"][1]["queue_depth"].get<std::uint64_t>(), 1u + 2u + 3u);
  EXPECT_EQ(m["timeseries"][1]["storage_used_bytes"].get<std::uint64_t>(), 6ULL << 30);
  EXPECT_EQ(m["timeseries"][2]["queue_depth"].get<std::uint64_t>(), 1u + 2u);  // rank 2 gone
  EXPECT_EQ(m["timeseries"][2]["storage_write_bytes"].get<std::uint64_t>(), 30u);
  EXPECT_FALSE(m["timeseries"][1].contains("gpu_used_bytes"));  // no rank had the column
}
