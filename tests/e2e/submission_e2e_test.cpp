// End-to-end tests of the submission flow with the real binaries: `mlpstorage init`, then
// `mlpstorage open kvcache run` running the whole sequence (3 options x 2 trials, tiny-1b, settle
// 0, no inter-option delay) with one client (no launcher) and with two MPI ranks; the run summary
// is recomputed here from the per-rank files; Ctrl-C then --resume gives the tree of an
// uninterrupted run. A trial that completes no request fails (docs/safety.md), so a trial stops
// after 4 requests (a client) within a 20 s window instead of counting on a short window being
// long enough on a loaded machine. Short runs are INVALID by the rules (duration < 30 s), hence
// --allow-invalid-params.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "support/browser.hpp"
#include "support/files.hpp"
#include "support/json_file.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

using namespace kv::testsupport;

using Json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

constexpr int kTrials = 2;

bool have_openmpi() {
  auto r = run({"/bin/sh", "-c", "mpirun --version"});
  return r.exit_code == 0 && (r.out + r.err).find("Open MPI") != std::string::npos;
}

std::vector<std::string> sequence_argv(const fs::path& t, const std::vector<std::string>& extra) {
  std::vector<std::string> a = {bin("mlpstorage"),
                                "open",
                                "kvcache",
                                "run",
                                "--systemname",
                                "sys1",
                                "--results-dir",
                                (t / "results").string(),
                                "--cache-dir",
                                (t / "cache").string(),
                                "--history-db",
                                (t / "h.db").string(),
                                "--model",
                                "tiny-1b",
                                "--num-users",
                                "2",
                                "--duration",
                                "20",
                                "--kvcache-params=--max-requests 4",
                                "--trials",
                                std::to_string(kTrials),
                                "--inter-option-delay",
                                "0",
                                "--settle",
                                "0",
                                "--gpu-mem-gb",
                                "0",
                                "--cpu-mem-gb",
                                "0",
                                "--allow-invalid-params",
                                "--kvcache-bin-path",
                                bin("kv-cache")};
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}

fs::path run_dir_of(const fs::path& t) {
  const fs::path base =
      t / "results" / "open" / "Acme" / "results" / "sys1" / "kv_cache" / "tiny-1b" / "run";
  return fs::directory_iterator(base)->path();
}

// Relative paths of every file under `dir`.
std::set<std::string> files_under(const fs::path& dir) {
  std::set<std::string> s;
  for (auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) s.insert(fs::relative(e.path(), dir).string());
  return s;
}

// The tree an uninterrupted sequence leaves, for `ranks` clients.
std::set<std::string> expected_tree(const std::string& dt, int ranks) {
  std::set<std::string> s = {"kv_cache_" + dt + "_metadata.json",
                             "kvcache_run_summary_" + dt + ".json", "mlpstorage_" + dt + ".log",
                             "kv_cache_cluster_info.json",
                             "kvcache_sequence_report_" + dt + ".html"};
  for (int o = 1; o <= 3; ++o) {
    for (int t = 0; t < kTrials; ++t) {
      const std::string trial = "option_" + std::to_string(o) + "/trial_" + std::to_string(t);
      s.insert(trial + "/kvcache_results_" + dt + ".json");
      s.insert(trial + "/kvcache_trial_" + dt + ".json");
      s.insert(trial + "/kvcache_report_" + dt + ".html");
      for (int r = 0; r < ranks; ++r)
        s.insert(trial + "/rank_" + std::to_string(r) + "/kvcache_results_" + dt + ".json");
      const std::string stem =
          "kvcache_opt" + std::to_string(o) + "_trial" + std::to_string(t) + "_" + dt;
      s.insert(stem + ".stdout.log");
      s.insert(stem + ".stderr.log");
    }
  }
  return s;
}

// Recomputes every aggregate of the run summary from the per-rank files.
void check_summary_against_rank_files(const fs::path& dir, int ranks) {
  const std::string dt = dir.filename().string();
  const Json s = load_json(dir / ("kvcache_run_summary_" + dt + ".json"));
  EXPECT_EQ(s["schema_version"], "1.0");
  EXPECT_EQ(s["total_ranks"], ranks);
  EXPECT_EQ(s["trials_per_option"], kTrials);
  EXPECT_EQ(s["partial_failure"], false);
  for (int o = 1; o <= 3; ++o) {
    const Json& opt = s["options"][std::to_string(o)];
    double read = 0, write = 0, tput = 0, stput = 0, rp95 = 0, wp95 = 0;
    for (int t = 0; t < kTrials; ++t) {
      double tr = 0, tw = 0, tt = 0, ts = 0, mr = 0, mw = 0;
      for (int r = 0; r < ranks; ++r) {
        const fs::path f = dir / ("option_" + std::to_string(o)) / ("trial_" + std::to_string(t)) /
                           ("rank_" + std::to_string(r)) / ("kvcache_results_" + dt + ".json");
        const Json j = load_json(f);
        const Json& sum = j["summary"];
        const Json& cs = sum["cache_stats"];
        tr += cs["tier_storage_read_bandwidth_gbps"].get<double>();
        tw += cs["tier_storage_write_bandwidth_gbps"].get<double>();
        tt += sum["avg_throughput_tokens_per_sec"].get<double>();
        ts += sum["storage_throughput_tokens_per_sec"].get<double>();
        mr = std::max(mr, cs.value("storage_read_device_p95_ms", 0.0));
        mw = std::max(mw, cs.value("storage_write_device_p95_ms", 0.0));
        // Each client ran the option's parameters with its own seed and cache directory.
        EXPECT_EQ(j["config"]["model"], "tiny-1b");
        EXPECT_EQ(j["config"]["num_users"], 2);
        EXPECT_EQ(j["config"]["max_concurrent_allocs"], o == 3 ? 4 : 16);
        EXPECT_EQ(j["seed"], 42 + r) << f;
      }
      read += tr / kTrials;
      write += tw / kTrials;
      tput += tt / kTrials;
      stput += ts / kTrials;
      rp95 = std::max(rp95, mr);
      wp95 = std::max(wp95, mw);
      EXPECT_NEAR(opt["per_trial"][t]["read_bandwidth_gbps"].get<double>(), tr, 1e-9);
    }
    EXPECT_EQ(opt["option"], o);
    EXPECT_NEAR(opt["aggregated_read_bandwidth_gbps"].get<double>(), read, 1e-9);
    EXPECT_NEAR(opt["aggregated_write_bandwidth_gbps"].get<double>(), write, 1e-9);
    EXPECT_NEAR(opt["aggregated_avg_throughput_tokens_per_sec"].get<double>(), tput, 1e-6);
    EXPECT_NEAR(opt["aggregated_storage_throughput_tokens_per_sec"].get<double>(), stput, 1e-6);
    EXPECT_NEAR(opt["aggregated_device_read_p95_ms"].get<double>(), rp95, 1e-9);
    EXPECT_NEAR(opt["aggregated_device_write_p95_ms"].get<double>(), wp95, 1e-9);
    EXPECT_EQ(opt["rank_count"], ranks);
    EXPECT_EQ(opt["trial_count"], kTrials);
    EXPECT_TRUE(opt["missing_files"].empty());
    EXPECT_GT(read, 0.0);  // the storage tier was really read
  }
}

// The sequence report of `dir`: the options x trials table (every planned trial), series paths
// that all hold points (`curves`: at least one), and every relative link pointing at a file of
// the tree. Returns the page.
std::string check_sequence_report(const fs::path& dir, bool curves) {
  const std::string dt = dir.filename().string();
  const std::string html = slurp(dir / ("kvcache_sequence_report_" + dt + ".html"));
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_NE(html.find("<table class=\"sequence\" id=\"trials\">"), std::string::npos);
  EXPECT_EQ(count_of(html, "<tr class=\"trial\""), 3 * kTrials);
  for (int o = 1; o <= 3; ++o) {
    for (int t = 0; t < kTrials; ++t)
      EXPECT_NE(html.find("data-option=\"" + std::to_string(o) + "\" data-trial=\"" +
                          std::to_string(t) + "\""),
                std::string::npos);
  }
  // Every series path has points ("d" starts with a move-to), none is empty.
  if (curves) {
    EXPECT_GT(count_of(html, "<path class=\"series\""), 0);
  }
  EXPECT_EQ(count_of(html, "<path class=\"series\""), count_of(html, "d=\"M"));
  for (auto p = html.find("href=\""); p != std::string::npos; p = html.find("href=\"", p + 1)) {
    const std::string href = html.substr(p + 6, html.find('"', p + 6) - p - 6);
    if (href.rfind('#', 0) == 0) continue;
    EXPECT_TRUE(fs::exists(dir / href)) << href;
  }
  return html;
}

struct SubmissionE2E : ::testing::Test {
  TempDir t;
  void SetUp() override {
    auto r = run({bin("mlpstorage"), "init", "Acme", (t.path / "results").string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
};

}  // namespace

TEST_F(SubmissionE2E, OneClientSequenceTreeSummaryAndMetadata) {
  auto r = run(sequence_argv(t.path, {"--exec-type", "docker"}));
  ASSERT_EQ(r.exit_code, 0) << r.err.substr(r.err.size() > 4000 ? r.err.size() - 4000 : 0);
  const fs::path dir = run_dir_of(t.path);
  const std::string dt = dir.filename().string();
  EXPECT_EQ(files_under(dir), expected_tree(dt, 1));
  // The client's cache was <cache-dir>/rank_0 (the engine removes the directory it created when
  // the run ends, possibly in the background, so the path is checked in its results file).
  const Json rank0 =
      load_json(dir / "option_1" / "trial_0" / "rank_0" / ("kvcache_results_" + dt + ".json"));
  EXPECT_EQ(fs::path(rank0["cache_dir"]["path"].get<std::string>()), t.path / "cache" / "rank_0");
  check_summary_against_rank_files(dir, 1);
  const Json md = load_json(dir / ("kv_cache_" + dt + "_metadata.json"));
  EXPECT_EQ(md["status"], "success");
  EXPECT_EQ(md["verification"], "INVALID");  // 20-second windows
  EXPECT_EQ(md["sequence"]["trials_done"], 3 * kTrials);
  EXPECT_EQ(md["metrics"]["option_1_trial_count"], kTrials);
  EXPECT_TRUE(md["metrics"]["option_1_aggregated_read_bandwidth_gbps"].is_number());
  // The sequence report: every trial finished, one aggregate and one spread row per option, each
  // trial linked to its own run report.
  const std::string page = check_sequence_report(dir, /*curves=*/true);
  EXPECT_NE(page.find("Sequence complete: 6 of 6 trials finished."), std::string::npos);
  EXPECT_EQ(count_of(page, "<tr class=\"aggregate\""), 3);
  EXPECT_EQ(count_of(page, "<tr class=\"spread\""), 3);
  EXPECT_EQ(count_of(page, "\">report</a>"), 3 * kTrials);
  EXPECT_NE(page.find("Verification: INVALID"), std::string::npos);
  // The sequence is one history row.
  auto h = run({bin("mlpstorage"), "history", "list", "--history-db", (t.path / "h.db").string()});
  EXPECT_NE(h.out.find("open run"), std::string::npos) << h.out;
  EXPECT_NE(h.out.find(dir.string()), std::string::npos) << h.out;
  // reportgen: one row for the run and one per option.
  auto g = run(
      {bin("mlpstorage"), "reports", "reportgen", "--results-dir", (t.path / "results").string()});
  ASSERT_EQ(g.exit_code, 0) << g.err;
  const Json rows = load_json(t.path / "results" / "results.json");
  EXPECT_EQ(rows.size(), 4u) << rows.dump(1);
  EXPECT_TRUE(fs::exists(t.path / "results" / "results.csv"));
  // ... and it regenerated the sequence's reports in place.
  EXPECT_NE(g.out.find(
                "Sequence report: " + (dir / ("kvcache_sequence_report_" + dt + ".html")).string() +
                " (6 trial report(s))"),
            std::string::npos)
      << g.out;
  EXPECT_EQ(slurp(dir / ("kvcache_sequence_report_" + dt + ".html")), page);

  // The page in a real browser (tests/support/browser.hpp): every trial of an option is a series
  // of its charts (a trial's window may be shorter than 2 s: its per-second line is then a
  // dot), latency CDFs and bars are drawn.
  std::string why;
  const std::string chromium = find_chromium(why);
  if (chromium.empty()) {
    if (chromium_required()) FAIL() << why << " and KV_REQUIRE_CHROMIUM=1";
    std::cerr << "browser check skipped: " << why << "\n";
    return;
  }
  const Json m =
      measure_in_browser(chromium, t.path, dir / ("kvcache_sequence_report_" + dt + ".html"));
  ASSERT_TRUE(m.value("loaded", false)) << m.dump();
  EXPECT_EQ(m["resources"], 0) << "the page fetched something";
  EXPECT_EQ(m["charts"].size(), 2u + 3 * 4);
  for (const auto& c : m["charts"]) EXPECT_GT(c["width"].get<double>(), 100) << c;
  for (int o = 1; o <= 3; ++o) {
    const std::string opt = "Option " + std::to_string(o) + ": ";
    EXPECT_EQ(chart_count(m, opt + "storage read bandwidth per second", "series"), kTrials);
    EXPECT_EQ(chart_count(m, opt + "storage write bandwidth per second", "series"), kTrials);
    EXPECT_EQ(chart_count(m, opt + "end-to-end latency", "series"), kTrials);
    EXPECT_GE(paths_of(m, opt + "end-to-end latency"), 1);
    EXPECT_GE(paths_of(m, opt + "storage device latency per object"), 1);
  }
  EXPECT_GE(chart_count(m, "Storage read bandwidth per trial", "bars"), 3);  // read in each option
}

TEST_F(SubmissionE2E, TwoRanksOneMpirunPerTrial) {
  if (!have_openmpi()) GTEST_SKIP() << "OpenMPI's mpirun not found";
  auto r = run(sequence_argv(t.path, {"--hosts", "127.0.0.1", "--npernode", "2", "--oversubscribe",
                                      "--allow-run-as-root"}));
  ASSERT_EQ(r.exit_code, 0) << r.err.substr(r.err.size() > 4000 ? r.err.size() - 4000 : 0);
  const fs::path dir = run_dir_of(t.path);
  const std::string dt = dir.filename().string();
  EXPECT_EQ(files_under(dir), expected_tree(dt, 2));
  check_summary_against_rank_files(dir, 2);
  // Each client had its own cache directory <cache-dir>/rank_<N> (the engine removes its files
  // at the end, so the merged results say where they were).
  const Json merged = load_json(dir / "option_1" / "trial_0" / ("kvcache_results_" + dt + ".json"));
  ASSERT_EQ(merged["ranks"].size(), 2u);
  for (int rnk = 0; rnk < 2; ++rnk) {
    EXPECT_EQ(fs::path(merged["ranks"][rnk]["cache_dir"].get<std::string>()),
              t.path / "cache" / ("rank_" + std::to_string(rnk)));
  }
  const Json rec = load_json(dir / "option_2" / "trial_1" / ("kvcache_trial_" + dt + ".json"));
  const auto argv = rec["argv"].get<std::vector<std::string>>();
  EXPECT_NE(argv[0].find("mpirun"), std::string::npos);
  EXPECT_EQ(std::count(argv.begin(), argv.end(), bin("kv-cache")), 1);  // one job per trial
  const Json md = load_json(dir / ("kv_cache_" + dt + "_metadata.json"));
  EXPECT_EQ(md["num_processes"], 2);
  EXPECT_EQ(md["system_info"]["_metadata"]["requested_hosts"], Json({"127.0.0.1"}));
}

TEST_F(SubmissionE2E, CtrlCThenResumeGivesTheUninterruptedTree) {
  // SIGINT once the first trial is recorded lands somewhere in the other five; wherever it lands,
  // the run must stop with exit 8 and --resume must complete the same tree.
  Background job(sequence_argv(t.path, {"--exec-type", "docker"}), t.path);
  const fs::path base =
      t.path / "results" / "open" / "Acme" / "results" / "sys1" / "kv_cache" / "tiny-1b" / "run";
  const auto first_trial_done = [&] {
    if (!fs::exists(base) || fs::directory_iterator(base) == fs::directory_iterator()) return false;
    const fs::path d = fs::directory_iterator(base)->path();
    return fs::exists(d / "option_1" / "trial_0" /
                      ("kvcache_trial_" + d.filename().string() + ".json"));
  };
  std::optional<int> code;
  while (!first_trial_done() && !(code = job.wait(0.05))) {
  }
  ASSERT_FALSE(code.has_value()) << "the sequence ended before it could be interrupted\n"
                                 << job.output();
  job.signal(SIGINT);
  code = job.wait(120);
  ASSERT_TRUE(code.has_value()) << "mlpstorage did not stop";
  const std::string err = job.output();
  ASSERT_EQ(*code, 8) << err.substr(err.size() > 3000 ? err.size() - 3000 : 0);
  const fs::path dir = run_dir_of(t.path);
  const std::string dt = dir.filename().string();
  const Json md = load_json(dir / ("kv_cache_" + dt + "_metadata.json"));
  EXPECT_EQ(md["status"], "interrupted");
  EXPECT_LT(md["sequence"]["trials_done"].get<int>(), 3 * kTrials);
  const Json partial = load_json(dir / ("kvcache_run_summary_" + dt + ".json"));
  int summarized = 0;
  for (const auto& [k, o] : partial["options"].items())  // successful + failed = finished
    summarized += o["trial_count"].get<int>() + static_cast<int>(o["failed_trials"].size());
  EXPECT_EQ(summarized, md["sequence"]["trials_done"].get<int>());
  // The sequence report of the interrupted sequence says so and lists every planned trial (the
  // signal may land before any trial wrote results: no curves are required).
  EXPECT_NE(check_sequence_report(dir, /*curves=*/false).find("Sequence interrupted: "),
            std::string::npos);

  auto resumed = run({bin("mlpstorage"), "open", "kvcache", "run", "--resume", dir.string(),
                      "--history-db", (t.path / "h.db").string()});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err.substr(
      resumed.err.size() > 3000 ? resumed.err.size() - 3000 : 0);
  EXPECT_EQ(files_under(dir), expected_tree(dt, 1));
  check_summary_against_rank_files(dir, 1);
  const Json done = load_json(dir / ("kv_cache_" + dt + "_metadata.json"));
  EXPECT_EQ(done["status"], "success");
  for (const auto& tr : done["sequence"]["trials"]) EXPECT_EQ(tr["status"], "success");
  EXPECT_NE(check_sequence_report(dir, /*curves=*/true)
                .find("Sequence complete: 6 of 6 trials finished."),
            std::string::npos);
  // Nothing else to resume; other workload flags are refused with --resume.
  auto again = run({bin("mlpstorage"), "open", "kvcache", "run", "--resume", dir.string(),
                    "--num-users", "3", "--history-db", (t.path / "h.db").string()});
  EXPECT_EQ(again.exit_code, 2) << again.err;
}
