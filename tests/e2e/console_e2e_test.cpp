// The engine's console as a user sees it (engine/summary.hpp), from the real binary:
//  * a short run: every stdout line fits 79 columns; the per-chunk P95 and the per-second
//    bandwidth spread are printed and are the results JSON's; one "Running for" line;
//  * paths of ~150 characters: each alone and whole on its line, every other line within 79;
//  * a run that cannot complete a request (every request generates >= 1 token at 60 s a token,
//    the window is 2 s): a WARNING, "—" for the latencies, no verdict, null percentiles in the
//    JSON, and the run fails: exit 6 with an ERROR line naming the cause (docs/safety.md); through
//    mlpstorage the run is `failed` in its metadata and in the history;
//  * an MPI job of 2 ranks under a real mpirun: one banner, one line per rank, one "Running for"
//    line (rank 0's), the MLPerf aggregates beside the pooled figures (skipped without OpenMPI's
//    mpirun).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

#include "support/argv.hpp"
#include "support/files.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

using namespace kv::testsupport;
using Json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

const std::string kDash = "\xE2\x80\x94";  // "—"

std::vector<std::string> engine_args(const fs::path& dir, const std::string& duration) {
  return {bin("kv-cache"),
          "--model",
          "tiny-1b",
          "--num-users",
          "3",
          "--duration",
          duration,
          "--gpu-mem-gb",
          "0",
          "--cpu-mem-gb",
          "0",
          "--seed",
          "5",
          "--cache-dir",
          (dir / "cache").string(),
          "--output",
          (dir / "out.json").string()};
}

std::size_t columns(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

void expect_every_line_fits(const std::string& out) {
  for (const auto& l : lines_of(out)) EXPECT_LE(columns(l), 79u) << "[" << l << "]";
}

// The whitespace-separated cells after `label` on the first line (at or after `from`) that
// starts with it, after indentation.
std::vector<std::string> row(const std::string& out, const std::string& label,
                             const std::string& from = "") {
  const std::string text = from.empty() ? out : out.substr(std::min(out.find(from), out.size()));
  for (const auto& l : lines_of(text)) {
    const auto p = l.find_first_not_of(' ');
    if (p == std::string::npos || l.compare(p, label.size(), label) != 0) continue;
    std::istringstream in(l.substr(p + label.size()));
    std::vector<std::string> cells;
    for (std::string c; in >> c;) cells.push_back(c);
    return cells;
  }
  return {};
}

std::size_t occurrences(const std::string& s, const std::string& what) {
  std::size_t n = 0;
  for (auto p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

Json load(const fs::path& p) {
  return Json::parse(slurp(p));
}

// Flags that make every request outlast a short window: each generates >= 1 token at 60 s a token.
std::vector<std::string> slow_generation(const fs::path& dir) {
  std::ofstream(dir / "slow.yaml") << "generation_timing:\n  realistic: 60\n";
  return {"--generation-mode", "realistic", "--config", (dir / "slow.yaml").string()};
}

bool have_openmpi() {
  auto r = run({"/bin/sh", "-c", "mpirun --version"});
  return r.exit_code == 0 && (r.out + r.err).find("Open MPI") != std::string::npos;
}

}  // namespace

TEST(ConsoleE2E, ShortRunFitsSeventyNineColumnsAndPrintsChunkP95AndSpread) {
  TempDir t;
  auto args = engine_args(t.path, "2");
  args.insert(args.end(), {"--generation-mode", "none"});
  const auto r = run(args, {"KV_DIST_NO_MPI=1"});
  ASSERT_TRUE(ran_to_the_end(r, t.path / "out.json"));  // the layout holds either way
  expect_every_line_fits(r.out);
  EXPECT_EQ(occurrences(r.out, "Running for 2 s with 3 workers..."), 1u) << r.out;
  const Json j = load(t.path / "out.json");
  const Json& chunk = j["io"]["chunk_latency_ms"];
  const auto write = row(r.out, "write", "Storage P95 (ms)");
  ASSERT_EQ(write.size(), 4u) << r.out;
  if (chunk["write"]["count"].get<std::uint64_t>() > 0)
    EXPECT_NEAR(std::stod(write[3]), chunk["write"]["p95"].get<double>(),
                0.051 + 0.001 * chunk["write"]["p95"].get<double>());
  else
    EXPECT_EQ(write[3], kDash);
  // Per-second spread over the whole seconds: min <= median <= max, the window's mean within.
  const auto spread = row(r.out, "write", "Storage GiB/s");
  ASSERT_EQ(spread.size(), 4u) << r.out;
  const double window = std::stod(spread[0]), lo = std::stod(spread[1]), mid = std::stod(spread[2]),
               hi = std::stod(spread[3]);
  EXPECT_NEAR(window,
              j["summary"]["cache_stats"]["tier_storage_write_bandwidth_gbps"].get<double>(),
              0.0006);
  EXPECT_LE(lo, mid);
  EXPECT_LE(mid, hi);
  EXPECT_EQ(occurrences(r.out, "MLPerf Storage KV-cache benchmark"), 1u);
}

// Paths of about 150 characters (cache dir, results file, HTML report): every line fits 79
// columns except a line that is exactly one of those paths, whole (docs/engine.md, "Console
// output"); each path is printed whole.
TEST(ConsoleE2E, LongPathsStandAloneOnTheirLinesAndEveryOtherLineFits) {
  TempDir t;
  const fs::path deep = t.path / std::string(60, 'd') / std::string(60, 'e');
  fs::create_directories(deep);
  const std::string cache = (deep / "cache").string(), out = (deep / "out.json").string(),
                    html = (deep / "report.html").string();
  ASSERT_GE(cache.size(), 140u);
  auto args = until_requests(engine_args(t.path, "2"), 1);
  args.insert(args.end(), {"--generation-mode", "none", "--cache-dir", cache, "--output", out,
                           "--html-report", html, "--keep-cache"});
  const auto r = run(args, {"KV_DIST_NO_MPI=1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::set<std::string> alone;
  for (const auto& l : lines_of(r.out)) {
    if (columns(l) <= 79) continue;
    EXPECT_TRUE(l == cache || l == out || l == html) << "[" << l << "]";
    alone.insert(l);
  }
  // The banner's storage tier, "Results written to", "HTML report written to", "Cache files kept".
  EXPECT_EQ(alone, (std::set<std::string>{cache, out, html})) << r.out;
  EXPECT_NE(r.out.find("Storage tier:     posix, in\n" + cache + "\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Results written to\n" + out + "\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("HTML report written to\n" + html + "\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Cache files kept (--keep-cache) in\n" + cache + "\n"), std::string::npos)
      << r.out;
}

TEST(ConsoleE2E, NoCompletedRequestIsAWarningWithDashesAndNullsAndTheRunFails) {
  TempDir t;
  const auto r =
      run(concat(engine_args(t.path, "2"), slow_generation(t.path)), {"KV_DIST_NO_MPI=1"});
  ASSERT_EQ(r.exit_code, 6) << r.err;
  // One ERROR line on stderr that says why (the cause depends on how far the requests got).
  const std::regex error(R"(ERROR: no request completed in the 2\.[0-9] s window: .+; a run that )"
                         R"(measured nothing failed \(exit 6)");
  EXPECT_TRUE(std::regex_search(r.err, error)) << r.err;
  const Json j = load(t.path / "out.json");  // still written, valid
  ASSERT_EQ(j["requests_completed"], 0);
  EXPECT_FALSE(j["interrupted"].get<bool>());
  for (const char* block :
       {"end_to_end_latency_ms", "storage_io_latency_ms", "generation_latency_ms", "ttft_proxy_ms"})
    for (const auto& [k, v] : j["summary"][block].items())
      EXPECT_TRUE(v.is_null()) << block << "." << k << " = " << v;
  EXPECT_NE(r.out.find("WARNING: no request completed"), std::string::npos) << r.out;
  for (const char* label : {"End-to-end", "Storage I/O / request", "Generation"}) {
    const auto cells = row(r.out, label, "Latency (ms)");
    ASSERT_EQ(cells.size(), 4u) << label << "\n" << r.out;
    for (const auto& c : cells) EXPECT_EQ(c, kDash) << label;
  }
  std::string lower = r.out;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  EXPECT_EQ(lower.find("pass"), std::string::npos) << r.out;
  EXPECT_FALSE(std::regex_search(r.out, std::regex(R"((^|\s)met(\s|$))"))) << r.out;
  expect_every_line_fits(r.out);
}

TEST(ConsoleE2E, MpiJobPrintsOneBannerOneLinePerRankAndTheAggregates) {
  if (!have_openmpi()) GTEST_SKIP() << "OpenMPI mpirun not found";
  TempDir t;
  // Enough work whatever the load (a job that completes no request fails): 2 requests a rank.
  auto engine = until_requests(engine_args(t.path, "2"), 2);
  engine.insert(engine.end(), {"--generation-mode", "none", "--rank-timeout", "30"});
  const auto r = run(concat(mpirun_args(2), engine));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const Json m = load(t.path / "out.json");
  ASSERT_EQ(m["rank_count"], 2);
  EXPECT_EQ(occurrences(r.out, "MLPerf Storage KV-cache benchmark"), 1u) << r.out;
  EXPECT_EQ(occurrences(r.out, "BENCHMARK RESULTS"), 1u) << r.out;
  // One line per rank at start, and one "Running for" line for the job (rank 0's).
  for (const char* rank : {"Rank 0/2 on ", "Rank 1/2 on "}) EXPECT_EQ(occurrences(r.out, rank), 1u);
  EXPECT_EQ(occurrences(r.out, "Running for"), 1u) << r.out;
  EXPECT_EQ(occurrences(r.out,
                        "Running for 60 s with 3 workers on each of 2 ranks (or until "
                        "--max-requests)..."),
            1u)
      << r.out;
  for (const auto& rank : m["ranks"]) {
    const int n = rank["rank"].get<int>();
    const auto cells = row(r.out, std::to_string(n) + " ", "### RANKS");
    ASSERT_GE(cells.size(), 7u) << r.out;
    EXPECT_EQ(cells[1], "ok");
    EXPECT_EQ(cells[2], std::to_string(rank["summary"]["total_requests"].get<std::uint64_t>()));
    EXPECT_NEAR(std::stod(cells[3]),
                rank["summary"]["cache_stats"]["tier_storage_read_bandwidth_gbps"].get<double>(),
                0.0006);
  }
  const Json& a = m["mlperf_aggregates"];
  const auto read = row(r.out, "Storage read GiB/s", "### MLPERF");
  ASSERT_EQ(read.size(), 5u) << r.out;  // "sum of ranks" + MLPerf + pooled
  EXPECT_NEAR(std::stod(read[3]), a["aggregated_read_bandwidth_gbps"].get<double>(), 0.0006);
  const auto p95 = row(r.out, "Device write P95 ms", "### MLPERF");
  ASSERT_EQ(p95.size(), 6u) << r.out;  // "max of rank P95s" + MLPerf + pooled
  if (a["aggregated_device_write_p95_ms"].is_number())
    EXPECT_NEAR(std::stod(p95[4]), a["aggregated_device_write_p95_ms"].get<double>(),
                0.051 + 0.001 * a["aggregated_device_write_p95_ms"].get<double>());
  else
    EXPECT_EQ(p95[4], kDash);
  expect_every_line_fits(r.out);
}

TEST(ConsoleE2E, MlpstorageRecordsARunThatMeasuredNothingAsFailed) {
  TempDir t;
  const fs::path rd = t.path / "results";
  const std::vector<std::string> env = {"MLPSTORAGE_HISTORY_DB=" + (t.path / "h.db").string()};
  std::string engine_flags = "--kvcache-params=";
  for (const auto& f : slow_generation(t.path)) engine_flags += f + " ";
  const auto r =
      run(mlpstorage_run_argv({.results_dir = rd,
                               .duration = 2,
                               .launch = {"--exec-type", "docker"},  // the engine as a child
                               .extra = {engine_flags}}),
          env);
  EXPECT_EQ(r.exit_code, 6) << r.err;
  EXPECT_NE(r.err.find("Run failed: no request completed in the 2."), std::string::npos) << r.err;
  const fs::path parent = rd / "kv_cache" / "tiny-1b" / "run";
  ASSERT_TRUE(fs::exists(parent)) << r.err;
  const fs::path dir = fs::directory_iterator(parent)->path();
  const std::string dt = dir.filename().string();
  const Json results = load(dir / ("kvcache_results_" + dt + ".json"));
  EXPECT_EQ(results["requests_completed"], 0);
  const Json md = load(dir / ("kv_cache_" + dt + "_metadata.json"));
  EXPECT_EQ(md["status"], "failed");
  EXPECT_EQ(md["exit_code"], 6);
  EXPECT_EQ(md["child_exit_code"], 6);
  EXPECT_EQ(md["error"].get<std::string>().rfind("no request completed in the 2.", 0), 0u)
      << md["error"];
  EXPECT_EQ(md["kvcache_metrics"]["measured"], false);
  const auto list = run({bin("mlpstorage"), "history", "list"}, env);
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find("failed (6)"), std::string::npos) << list.out;
}
