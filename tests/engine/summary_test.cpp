// The console rules (engine/summary.hpp) on results built from RunData: a run that completed no
// request prints a WARNING, "—" for every latency and no verdict, and its JSON latency blocks are
// null (also after the MPI merge); an unmeasured storage write P95 is "—" beside a measured read;
// the device-probe share, per-chunk P95 and per-second spread are the JSON's; the per-rank lines
// and MLPerf aggregates appear for merged results; every line fits 79 columns.
#include "engine/summary.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <regex>
#include <sstream>

#include "core/units.hpp"
#include "engine/report/latency_blocks.hpp"
#include "engine/results.hpp"
#include "engine/results_merge.hpp"
#include "engine/summary_format.hpp"
#include "model/model.hpp"

using namespace kv;
using namespace kv::engine;
using ojson = nlohmann::ordered_json;

namespace {

const std::string kDash = console::kUnmeasured;

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

void expect_fits(const std::string& text) {
  for (const auto& l : lines_of(text))
    EXPECT_LE(console::columns(l), console::kConsoleColumns) << "[" << l << "]";
}

// The line that starts (after indentation) with `label`, or "".
std::string line_starting(const std::string& text, const std::string& label) {
  for (const auto& l : lines_of(text)) {
    const auto p = l.find_first_not_of(' ');
    if (p != std::string::npos && l.compare(p, label.size(), label) == 0) return l;
  }
  return {};
}

// The whitespace-separated cells of a table row after its label.
std::vector<std::string> cells_after(const std::string& line, const std::string& label) {
  std::istringstream in(line.substr(line.find(label) + label.size()));
  std::vector<std::string> out;
  for (std::string c; in >> c;) out.push_back(c);
  return out;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

RunData base_run() {
  RunData d;
  d.config.performance_profile = PerformanceProfile::kLatency;
  d.config.seed = 7;
  d.config.duration = 2;
  d.model = *model::ModelTable::builtin().find("tiny-1b");
  d.elapsed_s = 2.0;
  return d;
}

// Nothing completed: requests in flight and queued at the stop, but no sample of any kind.
RunData empty_run() {
  RunData d = base_run();
  d.interrupted_requests = 2;
  d.dropped_queued = 5;
  return d;
}

// Completed requests whose storage traffic was only reads (everything written went to the CPU
// tier), with per-chunk read latencies and a device probe.
RunData read_only_storage_run() {
  RunData d = base_run();
  d.cpu_tier = true;
  d.elapsed_s = 3.5;
  d.requests_completed = 4;
  d.total_tokens = 400;
  d.e2e_s = {1.0, 2.0, 3.0, 4.0};
  d.storage_s = {0.5, 0.5, 1.0, 2.0};
  d.queue_wait_s = {0.01, 0.02, 0.03, 0.04};
  d.ttft_s = {0.5, 0.6};
  d.qos_e2e_s[0] = {0.01, 0.02, 0.03, 1.0};
  d.stats.cache_hits = 30;
  d.stats.cache_misses = 10;
  d.stats.tiers[2].bytes_read = 3 * kGiB;
  d.stats.tiers[1].bytes_written = 1 * kGiB;
  d.tier_read_s[2] = {0.1, 0.2, 0.3};
  d.storage_read_device_s = {0.09, 0.19, 0.29};
  d.storage_read_host_s = {0.01, 0.01, 0.01};
  d.tier_write_s[1] = {0.001, 0.002};
  for (double v : {0.004, 0.008, 0.012}) d.io.chunk_read.add(v);
  d.device_probe = nlohmann::json{{"read_gibps", 4.0}, {"write_gibps", 2.0}};
  d.timeseries = nlohmann::json::array();
  for (int t = 0; t < 4; ++t)  // 3 whole seconds (1, 2, 0 GiB) and a partial one (9 GiB)
    d.timeseries.push_back(
        {{"t", t}, {"storage_read_bytes", std::array<int, 4>{1, 2, 0, 9}[t] * kGiB}});
  return d;
}

}  // namespace

TEST(Summary, NothingCompletedIsAWarningDashesAndNullsNeverAVerdict) {
  const RunData d = empty_run();
  const ojson j = build_results(d);
  for (const auto& b : report::kSummaryBlocks) {
    ASSERT_TRUE(j["summary"].contains(b.key)) << b.key;
    for (const auto& [k, v] : j["summary"][b.key].items()) EXPECT_TRUE(v.is_null()) << b.key << k;
  }
  for (const char* dir : {"read", "write"}) {
    EXPECT_EQ(j["io"]["chunk_latency_ms"][dir]["count"], 0);
    EXPECT_TRUE(j["io"]["chunk_latency_ms"][dir]["p95"].is_null());
  }
  const std::string text = results_text(j, d);
  EXPECT_NE(text.find("WARNING: no request completed"), std::string::npos) << text;
  for (const char* row : {"End-to-end", "Storage I/O / request", "Queue wait (ours)"}) {
    const auto cells = cells_after(line_starting(text, row), row);
    ASSERT_EQ(cells.size(), 4u) << row;
    for (const auto& c : cells) EXPECT_EQ(c, kDash) << row;
  }
  for (const char* row : {"read", "write"}) {  // storage device / host / total / per chunk
    const std::string l = line_starting(text.substr(text.find("Storage P95")), row);
    for (const auto& c : cells_after(l, row)) EXPECT_EQ(c, kDash) << l;
  }
  EXPECT_EQ(cells_after(line_starting(text, "Storage throughput:"), "Storage throughput:"),
            std::vector<std::string>{kDash});
  EXPECT_EQ(text.find("0.0 ms"), std::string::npos);
  EXPECT_EQ(lower(text).find("pass"), std::string::npos) << text;
  EXPECT_FALSE(std::regex_search(text, std::regex(R"((^|\s)met(\s|$))"))) << text;
  EXPECT_NE(text.find("not assessed"), std::string::npos);
  expect_fits(text);
}

TEST(Summary, UnmeasuredStorageWriteIsADashBesideMeasuredReads) {
  const RunData d = read_only_storage_run();
  const ojson j = build_results(d);
  const ojson& cs = j["summary"]["cache_stats"];
  ASSERT_FALSE(cs.contains("storage_write_device_p95_ms"));
  const std::string text = results_text(j, d);
  EXPECT_EQ(text.find("WARNING"), std::string::npos);
  const std::string p95 = text.substr(text.find("Storage P95 (ms)"));
  const auto read = cells_after(line_starting(p95, "read"), "read");
  const auto write = cells_after(line_starting(p95, "write"), "write");
  ASSERT_EQ(read.size(), 4u);
  ASSERT_EQ(write.size(), 4u);
  EXPECT_NEAR(std::stod(read[0]), cs["storage_read_device_p95_ms"].get<double>(), 0.05);
  EXPECT_NEAR(std::stod(read[2]), cs["storage_read_p95_ms"].get<double>(), 0.05);
  EXPECT_NEAR(std::stod(read[3]), j["io"]["chunk_latency_ms"]["read"]["p95"].get<double>(), 0.005);
  for (const auto& c : write) EXPECT_EQ(c, kDash);
  // Tier table: storage write P95 "—", its read P95 a number; the CPU tier's write P95 a number.
  const auto storage = cells_after(line_starting(text, "Storage  "), "Storage");
  ASSERT_EQ(storage.size(), 6u);
  EXPECT_EQ(storage[4], kDash);
  EXPECT_NEAR(std::stod(storage[5]), cs["storage_read_p95_ms"].get<double>(), 0.05);
  const auto cpu = cells_after(line_starting(text, "CPU  "), "CPU");
  ASSERT_EQ(cpu.size(), 6u);
  EXPECT_NEAR(std::stod(cpu[4]), cs["cpu_write_p95_ms"].get<double>(), 0.005);
  // Latency table: numbers from the JSON block.
  const auto e2e = cells_after(line_starting(text, "End-to-end"), "End-to-end");
  ASSERT_EQ(e2e.size(), 4u);
  EXPECT_NEAR(std::stod(e2e[2]), j["summary"]["end_to_end_latency_ms"]["p95"].get<double>(), 0.05);
  // Storage health: every unmet criterion by name (the read device P95 is above its target).
  std::size_t unmet = 0;
  for (const auto& c : cs["storage_health"]["criteria"]) {
    if (c["passed"].get<bool>()) continue;
    ++unmet;
    EXPECT_NE(text.find("not met: " + c["name"].get<std::string>()), std::string::npos) << text;
  }
  EXPECT_GE(unmet, 1u);
  // Verdicts are labelled informational.
  EXPECT_NE(line_starting(text, "### STORAGE HEALTH").find("informational"), std::string::npos);
  EXPECT_NE(line_starting(text, "### QOS").find("informational"), std::string::npos);
  expect_fits(text);
}

TEST(Summary, DeviceProbeShareAndPerSecondSpreadComeFromTheJson) {
  const RunData d = read_only_storage_run();
  const ojson j = build_results(d);
  const std::string text = results_text(j, d);
  const auto share = line_starting(text, "Run / device probe:");
  ASSERT_FALSE(share.empty()) << text;
  const double pct = j["device_probe"]["storage_read_pct_of_probe"].get<double>();
  EXPECT_NE(share.find(fmt::format("read {:.1f} %", pct)), std::string::npos) << share;
  // Whole seconds 0..2 (1, 2, 0 GiB): min 0, median 1, max 2; the partial 4th second is left out.
  const auto spread = per_second_spread(j["timeseries"], "storage_read_bytes", d.elapsed_s);
  ASSERT_TRUE(spread.has_value());
  EXPECT_EQ(spread->seconds, 3u);
  EXPECT_DOUBLE_EQ(spread->min_gibps, 0.0);
  EXPECT_DOUBLE_EQ(spread->median_gibps, 1.0);
  EXPECT_DOUBLE_EQ(spread->max_gibps, 2.0);
  const std::string bw = text.substr(text.find("Storage GiB/s"));
  const auto read = cells_after(line_starting(bw, "read"), "read");
  ASSERT_EQ(read.size(), 4u);
  EXPECT_EQ(read[1], "0.000");
  EXPECT_EQ(read[2], "1.000");
  EXPECT_EQ(read[3], "2.000");
  // No whole second, no spread.
  EXPECT_FALSE(per_second_spread(j["timeseries"], "storage_read_bytes", 0.6).has_value());
  // Without a probe there is no probe line.
  RunData no_probe = d;
  no_probe.device_probe.reset();
  EXPECT_TRUE(
      line_starting(results_text(build_results(no_probe), no_probe), "Run / device probe").empty());
}

TEST(Summary, MergedResultsGetOneLinePerRankAndTheMlperfAggregates) {
  std::vector<RankOutcome> ranks;
  for (int r = 0; r < 2; ++r) {
    RunData d = read_only_storage_run();
    d.storage_read_device_s = {0.05 * (r + 1), 0.1 * (r + 1), 0.2 * (r + 1)};
    RankOutcome o;
    o.rank = r;
    o.host = r == 0 ? "node-a" : "a-very-long-host-name.example.org";
    o.results = build_results(d);
    ranks.push_back(std::move(o));
  }
  const ojson m = merge_rank_results(ranks, MergeContext{});
  const std::string text = results_text(m, read_only_storage_run());
  const std::string table = cluster_text(m);
  ASSERT_FALSE(table.empty());
  EXPECT_NE(text.find(table), std::string::npos);
  for (int r = 0; r < 2; ++r) {
    const std::regex row("\\n +" + std::to_string(r) + " +\\S+ +ok +4 ");
    EXPECT_TRUE(std::regex_search(table, row)) << table;
  }
  EXPECT_NE(table.find("node-a"), std::string::npos);
  const ojson& a = m["mlperf_aggregates"];
  const auto p95 = cells_after(line_starting(table, "Device read P95 ms"), "max of rank P95s");
  ASSERT_EQ(p95.size(), 2u);
  EXPECT_NEAR(std::stod(p95[0]), a["aggregated_device_read_p95_ms"].get<double>(), 0.05);
  EXPECT_NEAR(std::stod(p95[1]), a["pooled_device_read_p95_ms"].get<double>(), 0.05);
  const auto bw = cells_after(line_starting(table, "Storage read GiB/s"), "sum of ranks");
  ASSERT_EQ(bw.size(), 2u);
  EXPECT_NEAR(std::stod(bw[0]), a["aggregated_read_bandwidth_gbps"].get<double>(), 0.0005);
  expect_fits(text);
  // A single-process result has no rank table.
  EXPECT_TRUE(cluster_text(build_results(read_only_storage_run())).empty());
}

TEST(Summary, MergeOfRanksThatMeasuredNothingKeepsNulls) {
  std::vector<RankOutcome> ranks;
  for (int r = 0; r < 2; ++r) {
    RankOutcome o;
    o.rank = r;
    o.host = "h";
    o.results = build_results(empty_run());
    ranks.push_back(std::move(o));
  }
  const ojson m = merge_rank_results(ranks, MergeContext{});
  for (const auto& b : report::kSummaryBlocks)
    for (const auto& [k, v] : m["summary"][b.key].items()) EXPECT_TRUE(v.is_null()) << b.key << k;
  EXPECT_TRUE(m["io"]["chunk_latency_ms"]["write"]["p95"].is_null());
  EXPECT_TRUE(m["mlperf_aggregates"]["aggregated_device_read_p95_ms"].is_null());
  const std::string text = results_text(m, empty_run());
  EXPECT_NE(text.find("WARNING: no request completed"), std::string::npos);
  expect_fits(text);
}

TEST(Summary, BannerFitsWithLongLists) {
  RunData d = base_run();
  d.io.backend = "posix";
  d.io.fallbacks = {std::string(120, 'x') + " and a long explanation of why the engine fell back"};
  d.gpu_tier = true;
  d.gpu_backend = "cuda";
  for (int g = 0; g < 8; ++g) d.gpu_devices.push_back(fmt::format("{}: NVIDIA H200 (139 GiB)", g));
  std::vector<workload::UserProfile> users(3);
  users[0].context_length = 1'000'000;
  users[1].context_length = 2'000'000;
  users[2].context_length = 3'000'000;
  d.config.num_users = 3;
  const std::string b = banner_text(d, users);
  for (const auto& l : lines_of(b)) {
    if (l.find(std::string(120, 'x')) != std::string::npos) continue;  // one unbreakable word
    EXPECT_LE(console::columns(l), console::kConsoleColumns) << "[" << l << "]";
  }
  std::size_t devices = 0;  // every device named, wrapped over lines
  for (auto p = b.find("NVIDIA H200 (139 GiB)"); p != std::string::npos;
       p = b.find("NVIDIA H200 (139 GiB)", p + 1))
    ++devices;
  EXPECT_EQ(devices, d.gpu_devices.size()) << b;
}

TEST(Summary, WrapBreaksAtSpacesWithinTheWidth) {
  const std::string w = console::wrap("aaa bbb ccc ddd", "> ", "  ", 9);
  EXPECT_EQ(w, "> aaa bbb\n  ccc ddd\n");
  EXPECT_EQ(console::columns(kDash), 1u);
  EXPECT_EQ(console::align_right(kDash, 3), "  " + kDash);
  EXPECT_EQ(console::millis(std::nullopt), kDash);
  EXPECT_EQ(console::millis(0.0123), "0.012");
}

// A path that does not fit after its label goes on a line of its own (indented when it fits so);
// a path longer than the width is never broken and is then the only thing on its line.
TEST(Summary, PathLinesPutALongPathOnALineOfItsOwnAndNeverBreakIt) {
  EXPECT_EQ(console::path_lines("Results written to ", "/tmp/r.json"),
            "Results written to /tmp/r.json\n");
  const std::string mid = "/" + std::string(60, 'm') + "/r.json";  // 68 columns
  EXPECT_EQ(console::path_lines("Results written to ", mid), "Results written to\n  " + mid + "\n");
  const std::string mid_path = "/" + std::string(77, 'm');  // 78: too long for the indent
  EXPECT_EQ(console::path_lines("Results written to ", mid_path),
            "Results written to\n" + mid_path + "\n");
  std::string longest;
  for (int i = 0; i < 10; ++i) longest += "/directory" + std::to_string(i) + "-abcd";
  ASSERT_EQ(longest.size(), 160u);
  const std::string kept = console::path_lines("Cache files kept in ", longest, " (--keep-cache)",
                                               "Cache files kept (--keep-cache) in");
  EXPECT_EQ(kept, "Cache files kept (--keep-cache) in\n" + longest + "\n");
  // The label alone is wrapped like any text (a word longer than the width stays whole).
  const std::string label(100, 'w');
  const std::string wrapped = console::path_lines(label + " in ", longest);
  EXPECT_EQ(wrapped, label + "\n  in\n" + longest + "\n");
}

TEST(Summary, BannerPutsALongCacheDirOnItsOwnLine) {
  RunData d = base_run();
  d.io.backend = "posix";
  d.cache_dir = "/mnt/" + std::string(140, 'c');
  const std::string b = banner_text(d, {});
  EXPECT_NE(b.find("Storage tier:     posix, in\n" + d.cache_dir + "\n"), std::string::npos) << b;
  for (const auto& l : lines_of(b)) {
    if (l == d.cache_dir) continue;  // the path alone on its line
    EXPECT_LE(console::columns(l), console::kConsoleColumns) << l;
  }
  d.cache_dir = "/mnt/kv";
  EXPECT_NE(banner_text(d, {}).find("Storage tier:     /mnt/kv (posix)\n"), std::string::npos);
}

// The "Running for" line: once per MPI job, so it names the ranks the workers run on.
TEST(Summary, RunningLineNamesTheRanksOfAnMpiJob) {
  EngineConfig c;
  c.duration = 60;
  EXPECT_EQ(running_line(c, 8, 1), "Running for 60 s with 8 workers...\n");
  c.max_requests = 5;
  EXPECT_EQ(running_line(c, 8, 4),
            "Running for 60 s with 8 workers on each of 4 ranks (or until --max-requests)...\n");
  c.duration = 86400;
  for (const auto& l : lines_of(running_line(c, 500, 4096)))
    EXPECT_LE(console::columns(l), console::kConsoleColumns) << l;
}
