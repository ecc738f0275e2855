// Units of the submission flow (src/orchestrator/submission/): CLOSED locks, rank layout, OPEN
// supersede, the run-summary reductions, the progress relay, init, whatif, CLI hazards.
#include <gtest/gtest.h>

#include <sstream>

#include "core/error.hpp"
#include "orchestrator/cli_main.hpp"
#include "orchestrator/distributed_results.hpp"
#include "orchestrator/metadata.hpp"
#include "orchestrator/submission/init.hpp"
#include "orchestrator/submission/progress.hpp"
#include "orchestrator/submission/reportgen.hpp"
#include "orchestrator/submission/run_summary.hpp"
#include "orchestrator/submission/sequence_plan.hpp"
#include "orchestrator/submission/sequence_report.hpp"
#include "test_util.hpp"

namespace sub = kv::orchestrator::submission;
using kv::orchestrator::Json;
using orchtest::parse;
using orchtest::TempDir;

namespace {

std::vector<std::string> modal(const std::string& division, std::vector<std::string> extra) {
  std::vector<std::string> v = {division, "kvcache",       "run",   "--systemname",
                                "sys",    "--results-dir", "/tmp/r"};
  v.insert(v.end(), extra.begin(), extra.end());
  return v;
}

sub::SequencePlan plan_of(const orchtest::Parsed& p) {
  return sub::build_sequence_plan(p.inv(), "org", "20260101_000000", kv::orchestrator::PlanEnv{});
}

// The usage error of building the plan, "" when it builds.
std::string plan_error(const std::vector<std::string>& argv) {
  auto p = parse(argv);
  EXPECT_TRUE(p.r.ok()) << p.r.err;
  try {
    plan_of(p);
  } catch (const kv::Error& e) {
    EXPECT_EQ(e.code(), kv::ExitCode::kInvalidArguments) << e.what();
    return e.what();
  }
  return "";
}

}  // namespace

TEST(SubmissionCli, ModalRunParsesWithSequenceFlags) {
  auto p = parse(modal("open", {"--trials", "2", "--inter-option-delay", "0", "--settle", "0",
                                "--npernode", "2", "--seed", "7"}));
  ASSERT_TRUE(p.r.ok()) << p.r.err;
  EXPECT_TRUE(p.inv().is_sequence());
  EXPECT_EQ(p.inv().seq.division, "open");
  EXPECT_EQ(p.inv().seq.systemname, "sys");
  EXPECT_EQ(p.inv().seq.trials, 2);
  EXPECT_EQ(p.inv().seq.inter_option_delay, 0);
  EXPECT_EQ(p.inv().seq.settle, 0);
  EXPECT_EQ(p.inv().seq.npernode, 2);
  EXPECT_TRUE(p.inv().seq.was_given("--seed"));
  EXPECT_FALSE(p.inv().seq.was_given("--num-users"));
}

TEST(SubmissionCli, ClassicOnlyFlagsDoNotExistInTheModalForm) {
  for (const char* f : {"--closed", "--open", "--what-if"}) {
    auto p = parse(modal("open", {f}));
    EXPECT_FALSE(p.r.ok()) << f;
    EXPECT_EQ(p.r.exit_code, 2) << f;
  }
}

TEST(SubmissionCli, SystemnameFromEnvironmentAndShortForm) {
  orchtest::ScopedEnv env("MLPERF_SYSTEMNAME", "envsys");
  auto p = parse({"open", "kvcache", "run", "--results-dir", "/tmp/r"});
  ASSERT_TRUE(p.r.ok()) << p.r.err;
  EXPECT_EQ(p.inv().seq.systemname, "envsys");
  auto q = parse({"open", "kvcache", "run", "-sn", "flag", "--results-dir", "/tmp/r"});
  ASSERT_TRUE(q.r.ok()) << q.r.err;
  EXPECT_EQ(q.inv().seq.systemname, "flag");
}

TEST(SubmissionCli, HostsDoNotSwallowAFollowingShortFlag) {
  auto p =
      parse({"open", "kvcache", "run", "--hosts", "h1", "-sn", "sys", "--results-dir", "/tmp/r"});
  ASSERT_TRUE(p.r.ok()) << p.r.err;
  EXPECT_EQ(p.inv().kv.hosts, std::vector<std::string>{"h1"});
  EXPECT_EQ(p.inv().seq.systemname, "sys");
  auto q = parse({"kvcache", "run", "--hosts", "h1", "-x"});
  EXPECT_FALSE(q.r.ok());
  EXPECT_EQ(q.r.exit_code, 2);
}

TEST(SubmissionCli, DockerWithSeveralProcessesIsRefused) {
  auto p = parse({"kvcache", "run", "-et", "docker", "-np", "4"});
  EXPECT_FALSE(p.r.ok());
  EXPECT_EQ(p.r.exit_code, 2);
  EXPECT_NE(p.r.err.find("--num-processes"), std::string::npos) << p.r.err;
  EXPECT_TRUE(parse({"kvcache", "run", "-et", "docker", "-np", "1"}).r.ok());
}

TEST(SubmissionCli, DivisionWithoutCommandShowsHelp) {
  auto p = parse({"closed"});
  EXPECT_FALSE(p.r.ok());
  EXPECT_EQ(p.r.exit_code, 1);
}

TEST(ClosedLocks, EveryLockNamesItsFlagAndMandatedValuesPass) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--seed", "43"}, "--seed"},
      {{"--trials", "2"}, "--trials"},
      {{"--inter-option-delay", "10"}, "--inter-option-delay"},
      {{"--settle", "0"}, "--settle"},
      {{"--config", "x.yaml"}, "--config"},
      {{"--enable-autoscaling"}, "--enable-autoscaling"},
      {{"--num-users", "10"}, "--num-users"},
      {{"--model", "tiny-1b"}, "--model"},
      {{"--duration", "30"}, "--duration"},
      {{"--gpu-mem-gb", "0"}, "--gpu-mem-gb"},
      {{"--cpu-mem-gb", "4"}, "--cpu-mem-gb"},
      {{"--generation-mode", "none"}, "--generation-mode"},
      {{"--enable-rag"}, "--enable-rag"},
      {{"--disable-multi-turn"}, "--disable-multi-turn"},
      {{"--io-engine", "io_uring"}, "--io-engine"},
      {{"--kvcache-params=--foo"}, "--kvcache-params"},
  };
  for (const auto& [flags, name] : cases) {
    const std::string err = plan_error(modal("closed", flags));
    EXPECT_EQ(err.rfind(name + ":", 0), 0u) << name << " → " << err;
    EXPECT_NE(err.find("CLOSED"), std::string::npos) << err;
  }
  EXPECT_EQ(plan_error(modal("closed", {"--seed", "42", "--trials", "3", "--inter-option-delay",
                                        "20", "--settle", "90", "--cache-dir", "/tmp/c", "--hosts",
                                        "a", "b", "--npernode", "2"})),
            "");
}

TEST(ClosedLocks, TableIsEmittedVerbatim) {
  auto p = parse(modal("closed", {"--exec-type", "docker"}));
  ASSERT_TRUE(p.r.ok()) << p.r.err;
  const auto plan = plan_of(p);
  ASSERT_EQ(plan.trials.size(), 9u);
  EXPECT_EQ(plan.settings.trials, 3);
  EXPECT_EQ(plan.settings.seed, 42);
  EXPECT_EQ(plan.settings.settle, 90);
  EXPECT_EQ(plan.settings.inter_option_delay, 20);
  const auto has = [](const std::vector<std::string>& a, const std::string& k,
                      const std::string& v) {
    for (std::size_t i = 0; i + 1 < a.size(); ++i)
      if (a[i] == k && a[i + 1] == v) return true;
    return false;
  };
  const auto& a3 = plan.trials.back().engine_argv;
  EXPECT_TRUE(has(a3, "--model", "llama3.1-70b-instruct"));
  EXPECT_TRUE(has(a3, "--num-users", "70"));
  EXPECT_TRUE(has(a3, "--max-concurrent-allocs", "4"));
  EXPECT_TRUE(has(a3, "--duration", "300"));
  EXPECT_TRUE(has(a3, "--gpu-mem-gb", "0.0"));
  EXPECT_TRUE(has(a3, "--generation-mode", "none"));
  EXPECT_TRUE(has(a3, "--seed", "42"));
  EXPECT_TRUE(has(plan.trials[3].engine_argv, "--cpu-mem-gb", "4.0"));
  EXPECT_NE(plan.run_dir.string().find("/closed/org/results/sys/kv_cache/llama3.1-8b/run/"),
            std::string::npos)
      << plan.run_dir;
}

TEST(OpenSupersede, OnlyTypedFlagsReplaceTheTable) {
  auto p = parse(modal("open", {"--num-users", "5", "--duration", "2"}));
  ASSERT_TRUE(p.r.ok()) << p.r.err;
  for (int o = 1; o <= 3; ++o) {
    const auto op = sub::option_params(p.inv(), o);
    const auto t = sub::table_option(o);
    EXPECT_EQ(op.num_users, 5);
    EXPECT_EQ(op.duration, 2);
    // Not typed: the table's value, never the CLI default (gpu 16, cpu 32, realistic, 8b).
    EXPECT_EQ(op.model, t.model);
    EXPECT_EQ(op.gpu_mem_gb, t.gpu_mem_gb);
    EXPECT_EQ(op.cpu_mem_gb, t.cpu_mem_gb);
    EXPECT_EQ(op.generation_mode, t.generation_mode);
    EXPECT_EQ(op.max_concurrent_allocs, t.max_concurrent_allocs);
  }
  auto q = parse(modal("open", {"--cpu-mem-gb", "1", "--model", "tiny-1b"}));
  ASSERT_TRUE(q.r.ok());
  EXPECT_EQ(sub::option_params(q.inv(), 2).cpu_mem_gb, 1.0);
  EXPECT_EQ(sub::option_params(q.inv(), 3).model, "tiny-1b");
  EXPECT_EQ(sub::option_params(q.inv(), 3).num_users, 70);
}

TEST(OpenSupersede, ConfigFileValuesCountAsSet) {
  TempDir d;
  orchtest::write_file(d.path / "o.yaml", "num_users: 3\n");
  auto p = parse(modal("open", {"--config-file", (d.path / "o.yaml").string()}));
  ASSERT_TRUE(p.r.ok()) << p.r.err;
  EXPECT_EQ(sub::option_params(p.inv(), 1).num_users, 3);
}

TEST(OpenSupersede, MaxConcurrentAllocsAlwaysFromTheTable) {
  const std::string err = plan_error(modal("open", {"--max-concurrent-allocs", "8"}));
  EXPECT_EQ(err.rfind("--max-concurrent-allocs:", 0), 0u) << err;
}

TEST(RankLayout, EveryRowOfTheTable) {
  struct Row {
    int hosts;
    std::optional<int> np, npn;
    int per_host, total;
  };
  for (const Row& r : std::vector<Row>{{1, std::nullopt, std::nullopt, 1, 1},
                                       {3, std::nullopt, std::nullopt, 1, 3},
                                       {2, 4, std::nullopt, 2, 4},
                                       {2, std::nullopt, 3, 3, 6},
                                       {2, 6, 3, 3, 6}}) {
    const auto l = sub::resolve_rank_layout(r.hosts, r.np, r.npn);
    EXPECT_EQ(l.npernode, r.per_host);
    EXPECT_EQ(l.total_ranks, r.total);
    EXPECT_EQ(l.host_count, r.hosts);
  }
  auto error_of = [](int h, std::optional<int> np, std::optional<int> npn) -> std::string {
    try {
      sub::resolve_rank_layout(h, np, npn);
    } catch (const kv::Error& e) {
      EXPECT_EQ(e.code(), kv::ExitCode::kInvalidArguments);
      return e.what();
    }
    return "";
  };
  EXPECT_EQ(error_of(2, 3, std::nullopt).rfind("--num-processes:", 0), 0u);
  EXPECT_EQ(error_of(2, 5, 3).rfind("--npernode:", 0), 0u);
  EXPECT_EQ(error_of(1, 0, std::nullopt).rfind("--num-processes:", 0), 0u);
}

TEST(RankLayout, ManyRanksWithoutALauncherIsAUsageError) {
  const std::string err = plan_error(modal("open", {"--exec-type", "docker", "--npernode", "2"}));
  EXPECT_EQ(err.rfind("--exec-type:", 0), 0u) << err;
}

TEST(RankLayout, OneLauncherPerTrialWithAllRanks) {
  auto p = parse(modal("open", {"--hosts", "a", "b", "--npernode", "2", "--trials", "1"}));
  ASSERT_TRUE(p.r.ok()) << p.r.err;
  const auto plan = plan_of(p);
  ASSERT_EQ(plan.trials.size(), 3u);
  const auto& l = plan.trials[0].launcher_argv;
  ASSERT_GE(l.size(), 5u);
  EXPECT_EQ(l[1], "-n");
  EXPECT_EQ(l[2], "4");
  EXPECT_EQ(l[4], "a:2,b:2");
  const auto& e = plan.trials[0].engine_argv;
  EXPECT_NE(std::find(e.begin(), e.end(), "--per-rank-output"), e.end());
}

// ---- reductions ----

namespace {

void rank_file(const std::filesystem::path& trial, int rank, double rbw, double wbw, double rp95,
               double wp95, int entries, double tput = 10, double stput = 5) {
  Json j = {{"summary",
             {{"avg_throughput_tokens_per_sec", tput},
              {"storage_throughput_tokens_per_sec", stput},
              {"cache_stats",
               {{"tier_storage_read_bandwidth_gbps", rbw},
                {"tier_storage_write_bandwidth_gbps", wbw},
                {"storage_read_device_p95_ms", rp95},
                {"storage_write_device_p95_ms", wp95},
                {"storage_entries", entries}}}}}};
  orchtest::write_file(trial / ("rank_" + std::to_string(rank)) / "kvcache_results_x.json",
                       j.dump());
}

}  // namespace

TEST(RunSummary, SumsWithinTrialsMeanAcrossMaxOfMaxima) {
  TempDir d;
  const auto t0 = d.path / "trial_0", t1 = d.path / "trial_1";
  rank_file(t0, 0, 1.0, 0.5, 3.0, 7.0, 10);
  rank_file(t0, 1, 2.0, 0.5, 4.0, 6.0, 10);
  rank_file(t1, 0, 3.0, 1.5, 9.0, 1.0, 10);
  rank_file(t1, 1, 4.0, 0.5, 2.0, 2.0, 10);
  const Json o = sub::summarize_option(2, {{0, t0, "success"}, {1, t1, "success"}}, 2);
  EXPECT_EQ(o["option"], 2);
  EXPECT_DOUBLE_EQ(o["aggregated_read_bandwidth_gbps"].get<double>(), (3.0 + 7.0) / 2);
  EXPECT_DOUBLE_EQ(o["aggregated_write_bandwidth_gbps"].get<double>(), (1.0 + 2.0) / 2);
  EXPECT_DOUBLE_EQ(o["aggregated_avg_throughput_tokens_per_sec"].get<double>(), 20.0);
  EXPECT_DOUBLE_EQ(o["aggregated_storage_throughput_tokens_per_sec"].get<double>(), 10.0);
  EXPECT_DOUBLE_EQ(o["aggregated_device_read_p95_ms"].get<double>(), 9.0);
  EXPECT_DOUBLE_EQ(o["aggregated_device_write_p95_ms"].get<double>(), 7.0);
  EXPECT_EQ(o["rank_count"], 2);
  EXPECT_EQ(o["trial_count"], 2);
  EXPECT_EQ(o["partial_failure"], false);
  EXPECT_TRUE(o["missing_files"].empty());
  // Ours: per-trial values and their spread (sample stdev of 3 and 7 = 2.828…, cv = /5).
  EXPECT_DOUBLE_EQ(o["per_trial"][1]["read_bandwidth_gbps"].get<double>(), 7.0);
  EXPECT_NEAR(o["trial_spread"]["read_bandwidth_gbps"]["cv"].get<double>(), std::sqrt(8.0) / 5.0,
              1e-12);
  // The reference's keys come first, in order.
  std::vector<std::string> keys;
  for (auto it = o.begin(); it != o.end(); ++it) keys.push_back(it.key());
  const std::vector<std::string> ref = {"option",
                                        "aggregated_read_bandwidth_gbps",
                                        "aggregated_write_bandwidth_gbps",
                                        "aggregated_avg_throughput_tokens_per_sec",
                                        "aggregated_storage_throughput_tokens_per_sec",
                                        "aggregated_device_read_p95_ms",
                                        "aggregated_device_write_p95_ms",
                                        "rank_count",
                                        "trial_count",
                                        "partial_failure",
                                        "missing_files",
                                        "cpu_tier_ranks"};
  EXPECT_TRUE(std::equal(ref.begin(), ref.end(), keys.begin())) << o.dump();
}

TEST(RunSummary, MissingUnreadableAndCpuTierRanks) {
  TempDir d;
  const auto t0 = d.path / "trial_0";
  rank_file(t0, 0, 1.0, 1.0, 5.0, 5.0, 0);  // CPU tier: still counted
  orchtest::write_file(t0 / "rank_1" / "kvcache_results_x.json", "{ not json");
  // rank_2: no directory at all. (The summary lists what it cannot read whatever the trial's
  // status; the sequence records such a trial as failed, see FailedTrialIsListedNotAveraged.)
  const Json o = sub::summarize_option(1, {{0, t0, "success"}}, 3);
  EXPECT_EQ(o["partial_failure"], true);
  ASSERT_EQ(o["missing_files"].size(), 2u);
  EXPECT_NE(o["missing_files"][0].get<std::string>().find("rank_1/kvcache_results_x.json"),
            std::string::npos);
  EXPECT_NE(o["missing_files"][1].get<std::string>().find("rank_2"), std::string::npos);
  ASSERT_EQ(o["cpu_tier_ranks"].size(), 1u);
  EXPECT_NE(o["cpu_tier_ranks"][0].get<std::string>().find("rank_0"), std::string::npos);
  EXPECT_DOUBLE_EQ(o["aggregated_read_bandwidth_gbps"].get<double>(), 1.0);
  EXPECT_TRUE(o["trial_spread"]["read_bandwidth_gbps"]["cv"].is_null());  // one trial
  const Json s = sub::build_run_summary({"dt", 3, 1, 3, 1}, {o});
  EXPECT_EQ(s["partial_failure"], true);
  EXPECT_EQ(s["schema_version"], "1.0");
  EXPECT_TRUE(s["options"].contains("1"));
}

TEST(RunSummary, NoFileReadGivesNullAggregates) {
  TempDir d;
  for (const char* status : {"success", "failed"}) {
    const Json o = sub::summarize_option(3, {{0, d.path / "trial_0", status}}, 1);
    for (const char* k : {"aggregated_read_bandwidth_gbps", "aggregated_write_bandwidth_gbps",
                          "aggregated_avg_throughput_tokens_per_sec",
                          "aggregated_storage_throughput_tokens_per_sec",
                          "aggregated_device_read_p95_ms", "aggregated_device_write_p95_ms"})
      EXPECT_TRUE(o[k].is_null()) << status << " " << k << ": " << o[k];  // never a 0
    EXPECT_EQ(o["partial_failure"], true);
  }
}

TEST(RunSummary, FailedTrialIsListedNotAveraged) {
  TempDir d;
  const auto t0 = d.path / "trial_0", t1 = d.path / "trial_1", t2 = d.path / "trial_2";
  rank_file(t0, 0, 3.0, 1.0, 4.0, 2.0, 10);
  rank_file(t1, 0, 0.0, 0.0, 50.0, 60.0, 10);  // failed (e.g. no request completed)
  rank_file(t2, 0, 5.0, 3.0, 6.0, 1.0, 10);
  const Json o =
      sub::summarize_option(1, {{0, t0, "success"}, {1, t1, "failed"}, {2, t2, "success"}}, 1);
  EXPECT_DOUBLE_EQ(o["aggregated_read_bandwidth_gbps"].get<double>(), 4.0);  // not 8 / 3
  EXPECT_DOUBLE_EQ(o["aggregated_write_bandwidth_gbps"].get<double>(), 2.0);
  EXPECT_DOUBLE_EQ(o["aggregated_device_read_p95_ms"].get<double>(), 6.0);  // not 50
  EXPECT_DOUBLE_EQ(o["aggregated_device_write_p95_ms"].get<double>(), 2.0);
  EXPECT_EQ(o["trial_count"], 2);
  EXPECT_EQ(o["failed_trials"], Json::array({1}));
  EXPECT_EQ(o["partial_failure"], true);
  EXPECT_TRUE(o["missing_files"].empty());
  // The failed trial stays visible with its own values.
  ASSERT_EQ(o["per_trial"].size(), 3u);
  EXPECT_EQ(o["per_trial"][1]["status"], "failed");
  EXPECT_EQ(o["per_trial"][1]["counted"], false);
  EXPECT_DOUBLE_EQ(o["per_trial"][1]["device_read_p95_ms"].get<double>(), 50.0);
  EXPECT_EQ(o["per_trial"][2]["counted"], true);
  // The spread is over the two successful trials: reads 3 and 5 (sample stdev sqrt(2), mean 4).
  EXPECT_NEAR(o["trial_spread"]["read_bandwidth_gbps"]["cv"].get<double>(), std::sqrt(2.0) / 4,
              1e-12);
  EXPECT_NEAR(o["trial_spread"]["device_read_p95_ms"]["mean"].get<double>(), 5.0, 1e-12);
  // Flat metrics for the reference's report generator carry the counted trials.
  const Json m = sub::flat_metrics(sub::build_run_summary({"dt", 1, 1, 1, 3}, {o}));
  EXPECT_EQ(m["option_1_trial_count"], 2);
  EXPECT_EQ(m["partial_failure"], true);
}

TEST(RunSummary, FlatMetricsForTheReferenceReportGenerator) {
  const Json s = {{"total_ranks", 2},
                  {"options",
                   {{"1",
                     {{"aggregated_read_bandwidth_gbps", 1.5},
                      {"aggregated_device_read_p95_ms", nullptr},
                      {"trial_count", 2}}}}},
                  {"partial_failure", false}};
  const Json m = sub::flat_metrics(s);
  EXPECT_EQ(m["option_1_aggregated_read_bandwidth_gbps"], 1.5);
  EXPECT_TRUE(m["option_1_aggregated_device_read_p95_ms"].is_null());
  EXPECT_EQ(m["option_1_trial_count"], 2);
  for (auto it = m.begin(); it != m.end(); ++it) EXPECT_FALSE(it->is_structured()) << it.key();
}

// ---- progress relay ----

TEST(ProgressRelay, ParsesRecordsIgnoringUnknownKeysAndOrder) {
  auto r = sub::parse_progress_line(
      "[1,0]<stderr>: kv-cache progress: rank=1 future=x phase=window duration_s=300 "
      "elapsed_s=143.5 requests=12 read_gibps=3.1 write_gibps=0.5");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->phase, "window");
  EXPECT_DOUBLE_EQ(r->elapsed_s, 143.5);
  EXPECT_EQ(r->duration_s, 300);
  EXPECT_EQ(r->requests, 12);
  EXPECT_DOUBLE_EQ(r->read_gibps, 3.1);
  EXPECT_EQ(r->rank, 1);
  EXPECT_FALSE(sub::parse_progress_line("kv-cache: starting 4 workers"));
  EXPECT_FALSE(sub::parse_progress_line("kv-cache progress: phase=window"));
}

TEST(ProgressRelay, StatusLineFromRecordedLines) {
  std::string console;
  std::vector<std::string> logged;
  double now = 0;
  sub::SequencePosition pos{2, 3, 1, 3, 2300.0};
  sub::ProgressRelay relay(
      pos, /*terminal=*/false, 30.0, [&](std::string_view s) { console += s; },
      [&](const std::string& l) { logged.push_back(l); }, [&] { return now; });
  const std::string rec =
      "engine line one\n"
      "kv-cache progress: phase=window elapsed_s=143.2 duration_s=300 requests=9 "
      "read_gibps=2.0 write_gibps=0.1 rank=0\n"
      "kv-cache progress: phase=window elapsed_s=143.0 duration_s=300 requests=9 "
      "read_gibps=1.1 write_gibps=0.1 rank=1\n";
  // Split mid-line to check the buffering.
  relay.feed(rec.data(), 30);
  relay.feed(rec.data() + 30, rec.size() - 30);
  EXPECT_EQ(console, "engine line one\n");  // progress records are not echoed
  ASSERT_EQ(logged.size(), 1u);             // the second record came within 30 s
  EXPECT_EQ(logged[0], "option 2/3, trial 1/3, 143/300 s, read 2.0 GiB/s, ETA 41 min");
  EXPECT_EQ(relay.last_status(), "option 2/3, trial 1/3, 143/300 s, read 3.1 GiB/s, ETA 41 min");
  now = 31;
  const std::string drain =
      "kv-cache progress: phase=drain elapsed_s=300 duration_s=300 requests=20 read_gibps=0 "
      "write_gibps=0 rank=0\n";
  relay.feed(drain.data(), drain.size());
  ASSERT_EQ(logged.size(), 2u);
  EXPECT_NE(logged[1].find("drain, 300/300 s"), std::string::npos) << logged[1];
}

TEST(ProgressRelay, TerminalRedrawsInPlace) {
  std::string console;
  sub::ProgressRelay relay(
      {1, 3, 1, 2, 10}, /*terminal=*/true, 30.0, [&](std::string_view s) { console += s; },
      [](const std::string&) { FAIL() << "a terminal gets no log lines"; }, [] { return 0.0; });
  const std::string in =
      "kv-cache progress: phase=window elapsed_s=1 duration_s=2 requests=1 read_gibps=0.5 "
      "write_gibps=0 rank=0\nother\n";
  relay.feed(in.data(), in.size());
  relay.finish();
  const std::string status = "option 1/3, trial 1/2, 1/2 s, read 0.5 GiB/s, ETA <1 min";
  EXPECT_EQ(console, "\r\x1b[K" + status + "\r\x1b[Kother\n" + status + "\r\x1b[K");
}

TEST(ProgressRelay, PhasesOutsideTheWindowSayWhatTheyDoAndHowFar) {
  std::vector<std::string> logged;
  double now = 0;
  sub::ProgressRelay relay(
      {1, 3, 1, 3, 600.0}, /*terminal=*/false, 30.0, [](std::string_view) {},
      [&](const std::string& l) { logged.push_back(l); }, [&] { return now; });
  const std::string in =
      "kv-cache progress: phase=prepopulate elapsed_s=3.2 duration_s=300 requests=0 "
      "read_gibps=0 write_gibps=0.25 rank=0 done=12 total=40 unit=entries\n"
      "kv-cache progress: phase=prepopulate elapsed_s=2.9 duration_s=300 requests=0 "
      "read_gibps=0 write_gibps=0.25 rank=1 done=18 total=40 unit=entries\n"
      "kv-cache progress: phase=window elapsed_s=1.0 duration_s=300 requests=0 read_gibps=1.5 "
      "write_gibps=0 rank=0\n"
      "kv-cache progress: phase=cleanup elapsed_s=0.0 duration_s=300 requests=0 read_gibps=0 "
      "write_gibps=0 rank=0 done=0 total=2000 unit=files\n"
      "kv-cache progress: phase=probe elapsed_s=4.0 duration_s=300 requests=0 read_gibps=0.8 "
      "write_gibps=0 rank=0 done=2147483648 total=0 unit=bytes step=read\n"
      "kv-cache progress: phase=gather elapsed_s=1.0 duration_s=300 requests=0 read_gibps=0 "
      "write_gibps=0 rank=0 done=3 total=4 unit=ranks\n"
      "kv-cache progress: phase=gather elapsed_s=1.5 duration_s=300 requests=0 read_gibps=0 "
      "write_gibps=0 rank=0 done=3 total=4 unit=ranks\n"
      "kv-cache progress: phase=gather elapsed_s=2.0 duration_s=300 requests=0 read_gibps=0 "
      "write_gibps=0 rank=0 done=4 total=4 unit=ranks\n";
  relay.feed(in.data(), in.size());
  // A new phase is logged at once (the first record of each), so is a phase's completion; the
  // same phase within 30 s is not.
  ASSERT_EQ(logged.size(), 6u);
  EXPECT_EQ(logged[0],
            "option 1/3, trial 1/3, pre-populating 12/40 entries (30 %), 3 s, write 0.2 GiB/s, "
            "ETA 15 min");  // the window (300 s) and the rest of the sequence (600 s) to come
  EXPECT_EQ(logged[1], "option 1/3, trial 1/3, 1/300 s, read 1.5 GiB/s, ETA 15 min");
  EXPECT_EQ(logged[2],
            "option 1/3, trial 1/3, removing cache files 0/2000 files (0 %), 0 s, ETA 10 min");
  EXPECT_EQ(logged[3],
            "option 1/3, trial 1/3, probing the device (read) 2.00 GiB, 4 s, read 0.8 GiB/s, "
            "ETA 15 min");
  EXPECT_EQ(logged[4],
            "option 1/3, trial 1/3, gathering rank results 3/4 ranks (75 %), 1 s, ETA 10 min");
  EXPECT_EQ(logged[5],
            "option 1/3, trial 1/3, gathering rank results 4/4 ranks (100 %), 2 s, ETA 10 min");
}

TEST(ProgressRelay, RanksInTheSamePhaseAreSummed) {
  std::vector<std::string> logged;
  sub::ProgressRelay relay(
      {1, 3, 1, 3, 0}, /*terminal=*/false, 30.0, [](std::string_view) {},
      [&](const std::string& l) { logged.push_back(l); }, [] { return 0.0; });
  const std::string in =
      "kv-cache progress: phase=prepopulate elapsed_s=3.2 duration_s=60 requests=0 "
      "read_gibps=0 write_gibps=0.25 rank=0 done=12 total=40 unit=entries\n"
      "kv-cache progress: phase=prepopulate elapsed_s=2.9 duration_s=60 requests=0 "
      "read_gibps=0 write_gibps=0.25 rank=1 done=18 total=40 unit=entries\n";
  relay.feed(in.data(), in.size());
  EXPECT_EQ(relay.last_status(),
            "option 1/3, trial 1/3, pre-populating 30/80 entries (38 %), 3 s, write 0.5 GiB/s, "
            "ETA 1 min");
}

TEST(ProgressRelay, ASingleRunHasNoOptionOrTrial) {
  sub::ProgressRecord r;
  r.phase = "window";
  r.elapsed_s = 12;
  r.duration_s = 60;
  r.read_gibps = 2;
  EXPECT_EQ(sub::format_status({1, 0, 1, 0, 0}, r), "12/60 s, read 2.0 GiB/s, ETA <1 min");
}

TEST(ProgressRelay, EtaFormatting) {
  EXPECT_EQ(sub::format_eta(30), "<1 min");
  EXPECT_EQ(sub::format_eta(41 * 60), "41 min");
  EXPECT_EQ(sub::format_eta(73 * 60), "1 h 13 min");
}

// ---- init ----

TEST(Init, CreatesIsIdempotentAndRefusesAnotherOrg) {
  TempDir d;
  const auto dir = d.path / "results";
  EXPECT_NE(sub::init_results_dir("Acme", dir.string()).find("Initialized"), std::string::npos);
  EXPECT_EQ(sub::read_orgname(dir.string()), "Acme");
  EXPECT_NE(sub::init_results_dir("Acme", dir.string()).find("nothing to do"), std::string::npos);
  try {
    sub::init_results_dir("Other", dir.string());
    FAIL() << "re-init with another orgname must fail";
  } catch (const kv::Error& e) {
    EXPECT_EQ(e.code(), kv::ExitCode::kConfigurationError);
  }
}

TEST(Init, RefusesNonEmptyMissingParentAndBadNames) {
  TempDir d;
  orchtest::write_file(d.path / "dirty" / "x", "x");
  EXPECT_THROW(sub::init_results_dir("Acme", (d.path / "dirty").string()), kv::Error);
  EXPECT_THROW(sub::init_results_dir("Acme", (d.path / "no" / "such").string()), kv::Error);
  EXPECT_THROW(sub::init_results_dir("a/b", (d.path / "new").string()), kv::Error);
  try {
    sub::read_orgname((d.path / "dirty").string());
    FAIL();
  } catch (const kv::Error& e) {
    EXPECT_EQ(e.code(), kv::ExitCode::kConfigurationError);
    EXPECT_NE(e.suggestion().find("mlpstorage init"), std::string::npos);
  }
}

// ---- whatif ----

namespace {

std::vector<std::filesystem::path> tree(const std::filesystem::path& root) {
  std::vector<std::filesystem::path> v;
  for (auto& e : std::filesystem::recursive_directory_iterator(root)) v.push_back(e.path());
  std::sort(v.begin(), v.end());
  return v;
}

}  // namespace

TEST(Whatif, PrintsThePlanAndCreatesNothing) {
  TempDir d;
  const auto results = d.path / "results";
  sub::init_results_dir("Acme", results.string());
  const auto before = tree(d.path);
  std::ostringstream out;
  kv::orchestrator::Environment env;
  env.out = &out;
  const int rc = kv::orchestrator::run_cli(
      {"mlpstorage", "whatif", "kvcache", "run", "--systemname", "sys", "--results-dir",
       results.string(), "--cache-dir", (d.path / "cache").string(), "--trials", "2",
       "--history-db", (d.path / "h.db").string(), "--exec-type", "docker"},
      env);
  EXPECT_EQ(rc, 0);
  const std::string s = out.str();
  EXPECT_NE(s.find("Option 3 trial 1:"), std::string::npos) << s;
  EXPECT_NE(s.find("expected wall:"), std::string::npos) << s;
  EXPECT_NE(s.find("disk needed:"), std::string::npos) << s;
  EXPECT_NE(s.find("/kvcache_sequence_report_"), std::string::npos) << s;
  EXPECT_NE(s.find("/option_3/trial_1/kvcache_report_"), std::string::npos) << s;
  EXPECT_NE(s.find("/whatif/Acme/results/sys/kv_cache/llama3.1-8b/run/"), std::string::npos) << s;
  // Nothing new except the history database of this invocation.
  auto after = tree(d.path);
  after.erase(
      std::remove_if(after.begin(), after.end(),
                     [&](const auto& p) { return p.filename().string().rfind("h.db", 0) == 0; }),
      after.end());
  EXPECT_EQ(after, before);
}

TEST(Submission, RunWithoutInitIsAConfigurationError) {
  TempDir d;
  std::ostringstream out;
  kv::orchestrator::Environment env;
  env.out = &out;
  const int rc = kv::orchestrator::run_cli(
      {"mlpstorage", "open", "kvcache", "run", "--systemname", "sys", "--results-dir",
       (d.path / "r").string(), "--history-db", (d.path / "h.db").string()},
      env);
  EXPECT_EQ(rc, 5);
  EXPECT_FALSE(std::filesystem::exists(d.path / "r"));
}

TEST(Submission, MissingSystemnameIsAUsageError) {
  TempDir d;
  ::unsetenv("MLPERF_SYSTEMNAME");
  std::ostringstream out;
  kv::orchestrator::Environment env;
  env.out = &out;
  const int rc = kv::orchestrator::run_cli(
      {"mlpstorage", "open", "kvcache", "run", "--results-dir", (d.path / "r").string(),
       "--history-db", (d.path / "h.db").string()},
      env);
  EXPECT_EQ(rc, 2);
}

TEST(DistributedResults, RequestedHostsAreTheHostsFlag) {
  Json ci = {{"_metadata", {{"requested_hosts", {"node0"}}, {"hosts_collected", {"node0"}}}}};
  kv::orchestrator::set_requested_hosts(ci, {"h1", "h2"});
  EXPECT_EQ(ci["_metadata"]["requested_hosts"], Json({"h1", "h2"}));
  EXPECT_EQ(ci["_metadata"]["hosts_collected"], Json({"node0"}));
}

// ---- reportgen ----

TEST(Reportgen, OneRowPerRunAndPerOptionWithFlatMetrics) {
  TempDir d;
  const auto run = d.path / "open" / "Acme" / "results" / "s" / "kv_cache" / "m" / "run" / "dt";
  orchtest::write_file(run / "kv_cache_dt_metadata.json",
                       Json{{"benchmark_type", "kv_cache"},
                            {"model", "m"},
                            {"command", "run"},
                            {"run_datetime", "dt"},
                            {"num_processes", 2},
                            {"verification", "OPEN"},
                            {"parameters", {{"model", "m"}}},
                            {"metrics", {{"option_1_aggregated_read_bandwidth_gbps", 2.5}}},
                            {"sequence", {{"division", "open"}}}}
                           .dump());
  orchtest::write_file(run / "kvcache_run_summary_dt.json",
                       Json{{"options",
                             {{"1",
                               {{"option", 1},
                                {"aggregated_read_bandwidth_gbps", 2.5},
                                {"trial_count", 2},
                                {"rank_count", 2},
                                {"partial_failure", false}}}}}}
                           .dump());
  const auto ref = d.path / "kv_cache" / "x" / "run" / "dt2";  // the reference's own layout
  orchtest::write_file(ref / "kv_cache_dt2_metadata.json",
                       Json{{"benchmark_type", "kv_cache"},
                            {"model", "x"},
                            {"command", "run"},
                            {"run_datetime", "dt2"},
                            {"kvcache_metrics", {{"total_requests", 7}, {"qos", {{"a", 1}}}}}}
                           .dump());
  orchtest::write_file(d.path / "bad" / "y_metadata.json", "{");
  std::vector<std::string> errors;
  const Json rows = sub::collect_report_rows(d.path, &errors);
  ASSERT_EQ(rows.size(), 3u) << rows.dump(2);
  EXPECT_EQ(errors.size(), 1u);
  std::map<std::string, Json> by_id;
  for (const auto& r : rows) by_id[r["run_id"].get<std::string>()] = r;
  ASSERT_TRUE(by_id.count("kv_cache_run_m_dt"));
  ASSERT_TRUE(by_id.count("kv_cache_run_m_dt_option1"));
  ASSERT_TRUE(by_id.count("kv_cache_run_x_dt2"));
  EXPECT_EQ(by_id["kv_cache_run_m_dt_option1"]["metrics"]["aggregated_read_bandwidth_gbps"], 2.5);
  EXPECT_EQ(by_id["kv_cache_run_x_dt2"]["metrics"], Json({{"total_requests", 7}}));
  const std::string csv = sub::rows_to_csv(rows);
  const std::string header = csv.substr(0, csv.find('\n'));
  EXPECT_NE(header.find("metrics.aggregated_read_bandwidth_gbps"), std::string::npos) << header;
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 4);
}

namespace {
// A sequence run directory `run` (datetime "dt"): trial 0 of option 1 with results, trial 1
// with unreadable results, option 2's trial still pending.
void sequence_tree(const std::filesystem::path& run) {
  orchtest::write_file(
      run / "kv_cache_dt_metadata.json",
      Json{{"run_datetime", "dt"},
           {"status", "interrupted"},
           {"verification", "OPEN"},
           {"verification_issues", Json::array({{{"validation", "OPEN"},
                                                 {"option", 1},
                                                 {"trial", 1},
                                                 {"parameter", "trials"},
                                                 {"message", "trial-two-did-not-finish"}}})},
           {"sequence",
            {{"division", "open"},
             {"trials", Json::array({{{"option", 1}, {"trial", 0}, {"status", "success"}},
                                     {{"option", 1}, {"trial", 1}, {"status", "interrupted"}},
                                     {{"option", 2}, {"trial", 0}, {"status", "pending"}}})}}}}
          .dump());
  const Json results = {{"summary", {{"total_requests", 3}, {"elapsed_time", 2.0}}},
                        {"timeseries", Json::array({{{"t", 0}, {"storage_read_bytes", 1 << 30}},
                                                    {{"t", 1}, {"storage_read_bytes", 1 << 29}}})}};
  orchtest::write_file(run / "option_1" / "trial_0" / "kvcache_results_dt.json", results.dump());
  orchtest::write_file(run / "option_1" / "trial_0" / "kvcache_trial_dt.json",
                       Json{{"status", "success"}, {"command", "kv-cache --seed 42"}}.dump());
  orchtest::write_file(run / "option_1" / "trial_1" / "kvcache_results_dt.json", "{");
}
}  // namespace

TEST(SequenceReports, WrittenFromTheRunDirectoryAlone) {
  TempDir d;
  const auto run = d.path / "dt";
  sequence_tree(run);
  // After option 2's trial 1 (no results): the sequence page, no trial report.
  EXPECT_EQ(sub::write_sequence_reports(run, std::make_pair(2, 0)).trial_reports, 0);
  EXPECT_FALSE(std::filesystem::exists(run / "option_1" / "trial_0" / "kvcache_report_dt.html"));
  EXPECT_TRUE(std::filesystem::exists(run / "kvcache_sequence_report_dt.html"));
  // After option 1's trial 1: its own report, and the sequence page.
  auto r = sub::write_sequence_reports(run, std::make_pair(1, 0));
  EXPECT_EQ(r.sequence_report, run / "kvcache_sequence_report_dt.html");
  EXPECT_EQ(r.trial_reports, 1);
  ASSERT_EQ(r.problems.size(), 1u);  // the unreadable results of trial 2, named
  EXPECT_NE(r.problems[0].find("trial_1"), std::string::npos) << r.problems[0];
  const std::string trial_page =
      orchtest::slurp(run / "option_1" / "trial_0" / "kvcache_report_dt.html");
  EXPECT_NE(trial_page.find("OPEN (the whole sequence&#39;s)"), std::string::npos);
  EXPECT_NE(trial_page.find("kv-cache --seed 42"), std::string::npos);
  EXPECT_EQ(trial_page.find("trial-two-did-not-finish"), std::string::npos);  // another trial's
  const std::string page = orchtest::slurp(r.sequence_report);
  EXPECT_NE(page.find("href=\"option_1/trial_0/kvcache_report_dt.html\""), std::string::npos);
  EXPECT_NE(page.find("href=\"option_1/trial_0/kvcache_results_dt.json\""), std::string::npos);
  EXPECT_EQ(page.find("option_1/trial_1/kvcache_report_dt.html"), std::string::npos);
  EXPECT_NE(page.find("trial-two-did-not-finish"), std::string::npos);
  EXPECT_NE(page.find("<td class=\"st-pending\">pending</td>"), std::string::npos);
  EXPECT_NE(page.find("kv_cache_dt_metadata.json"), std::string::npos);  // files section
  EXPECT_EQ(page.find("href=\"/"), std::string::npos);  // relative links: the tree may move

  // Only trials with results get a report; without sequence metadata nothing is written.
  EXPECT_EQ(sub::write_sequence_reports(run).trial_reports, 1);
  auto none = sub::write_sequence_reports(run / "option_1");
  EXPECT_TRUE(none.sequence_report.empty());
  ASSERT_EQ(none.problems.size(), 1u);
  EXPECT_NE(none.problems[0].find("no sequence metadata"), std::string::npos);
}

TEST(SequenceReports, ReportsHtmlOfASequenceDirectoryRewritesThemInPlace) {
  TempDir d;
  const auto run = d.path / "dt";
  sequence_tree(run);
  std::ostringstream out;
  kv::orchestrator::Environment env;
  env.out = &out;
  EXPECT_EQ(kv::orchestrator::run_cli({"mlpstorage", "reports", "html", run.string()}, env), 0);
  EXPECT_NE(
      out.str().find("HTML report written to " +
                     (run / "kvcache_sequence_report_dt.html").string() + " (1 trial report(s))"),
      std::string::npos)
      << out.str();
  EXPECT_TRUE(std::filesystem::exists(run / "option_1" / "trial_0" / "kvcache_report_dt.html"));
  // -o elsewhere would break the page's relative links: a usage error naming the flag.
  const int rc = kv::orchestrator::run_cli(
      {"mlpstorage", "reports", "html", run.string(), "-o", (d.path / "x.html").string()}, env);
  EXPECT_EQ(rc, 2);
  EXPECT_FALSE(std::filesystem::exists(d.path / "x.html"));
}

TEST(DatasizeMetadata, HasTheKeysOfEveryKvcacheRun) {
  auto p = parse({"kvcache", "datasize", "--model", "tiny-1b"});
  ASSERT_TRUE(p.r.ok()) << p.r.err;
  const Json md =
      kv::orchestrator::build_datasize_metadata(p.inv(), "dt", "/tmp/x", Json::object());
  EXPECT_EQ(md["duration"], 60);
  EXPECT_EQ(md["generation_mode"], "realistic");
  EXPECT_EQ(md["performance_profile"], "latency");
}
