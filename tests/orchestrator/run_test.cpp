// `kvcache run` end to end inside the test process with a FAKE engine (a shell script that records
// its argv and writes a results JSON) and a fake MPI launcher: result tree, logs, metadata,
// statuses and exit codes, pre-flight failures, verification gate, interrupts, and the history.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <thread>

#include "history/history.hpp"
#include "orchestrator/cli_main.hpp"
#include "orchestrator/runner.hpp"
#include "test_util.hpp"

using namespace kv::orchestrator;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

struct RunFixture : ::testing::Test {
  orchtest::TempDir tmp;
  std::unique_ptr<orchtest::ScopedEnv> db_env;
  fs::path fake;
  fs::path rd;
  std::ostringstream out;
  Environment env;

  void SetUp() override {
    db_env = std::make_unique<orchtest::ScopedEnv>("MLPSTORAGE_HISTORY_DB",
                                                   (tmp.path / "history.db").string());
    fake = orchtest::make_fake_engine(tmp.path);
    rd = tmp.path / "results";
    env.out = &out;
    env.child_stdout_fd = -1;
    env.child_stderr_fd = -1;
    env.preflight.euid = 1000;  // not root unless a test says so
    env.preflight.host = orchtest::roomy_host();
    clear_received_signal();
  }

  int run(std::vector<std::string> args) {
    std::vector<std::string> argv{"mlpstorage"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_cli(argv, env);
  }

  std::vector<std::string> base(std::vector<std::string> extra = {}) {
    std::vector<std::string> a = {"kvcache",     "run",     "--kvcache-bin-path",
                                  fake.string(), "-rd",     rd.string(),
                                  "--model",     "tiny-1b", "-nu",
                                  "2",           "-d",      "3",
                                  "--exec-type", "docker"};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }

  // The single run dir under rd (fails the test if there is not exactly one).
  fs::path only_run_dir(const std::string& model = "tiny-1b") {
    const fs::path parent = rd / "kv_cache" / model / "run";
    std::vector<fs::path> dirs;
    if (fs::exists(parent)) {
      for (const auto& e : fs::directory_iterator(parent)) dirs.push_back(e.path());
    }
    EXPECT_EQ(dirs.size(), 1u);
    return dirs.empty() ? fs::path() : dirs.front();
  }

  Json metadata_of(const fs::path& run_dir) {
    const std::string dt = run_dir.filename().string();
    return Json::parse(orchtest::slurp(run_dir / ("kv_cache_" + dt + "_metadata.json")));
  }

  kv::history::Db history() { return kv::history::Db(tmp.path / "history.db"); }
};

}  // namespace

using KvcacheRun = RunFixture;

TEST_F(KvcacheRun, SuccessLeavesTheResultTree) {
  ASSERT_EQ(run(base({"--seed", "5"})), 0);
  const fs::path dir = only_run_dir();
  const std::string dt = dir.filename().string();
  EXPECT_TRUE(fs::is_directory(dir / "kvcache_data"));
  EXPECT_EQ(orchtest::slurp(dir / ("kvcache_" + dt + ".stdout.log")), "fake engine stdout line\n");
  EXPECT_EQ(orchtest::slurp(dir / ("kvcache_" + dt + ".stderr.log")), "fake engine stderr line\n");
  EXPECT_TRUE(fs::exists(dir / ("kvcache_results_" + dt + ".json")));
  EXPECT_TRUE(fs::exists(dir / "kv_cache_cluster_info.json"));
  EXPECT_TRUE(fs::exists(dir / ("mlpstorage_" + dt + ".log")));
  // The engine got exactly the planned argv, no shell in between.
  auto argv = orchtest::lines_of(orchtest::slurp(dir / "fake_argv.txt"));
  const std::vector<std::string> expected = {"--model",
                                             "tiny-1b",
                                             "--num-users",
                                             "2",
                                             "--duration",
                                             "3",
                                             "--gpu-mem-gb",
                                             "16.0",
                                             "--cpu-mem-gb",
                                             "32.0",
                                             "--generation-mode",
                                             "realistic",
                                             "--performance-profile",
                                             "latency",
                                             "--cache-dir",
                                             (dir / "kvcache_data").string(),
                                             "--output",
                                             (dir / ("kvcache_results_" + dt + ".json")).string(),
                                             "--seed",
                                             "5"};
  EXPECT_EQ(argv, expected);

  Json md = metadata_of(dir);
  EXPECT_EQ(md["status"], "success");
  EXPECT_EQ(md["exit_code"], 0);
  EXPECT_EQ(md["child_exit_code"], 0);
  EXPECT_EQ(md["result_dir"], dir.string());
  EXPECT_EQ(md["kvcache_metrics"]["total_requests"], 42);  // summary.*, not the decoy top-level key
  EXPECT_DOUBLE_EQ(md["kvcache_metrics"]["tier_storage_read_bandwidth_gbps"].get<double>(), 1.25);
  EXPECT_EQ(md["kvcache_metrics"]["overall_passed"], true);
  EXPECT_GT(md["runtime"].get<double>(), 0.0);
  EXPECT_EQ(md["exec_type"], "docker");
  ASSERT_EQ(md["command_output_files"].size(), 1u);
  EXPECT_EQ(md["command_output_files"][0]["stdout"],
            (dir / ("kvcache_" + dt + ".stdout.log")).string());
  EXPECT_TRUE(md["system_info"]["hosts"].is_array());
  // No temp files left by the atomic writes.
  for (const auto& e : fs::directory_iterator(dir)) {
    EXPECT_EQ(e.path().filename().string().find(".tmp."), std::string::npos) << e.path();
  }

  auto rows = history().list();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].status, "success");
  EXPECT_EQ(rows[0].exit_code, 0);
  EXPECT_EQ(rows[0].result_dir, dir.string());
  EXPECT_EQ(rows[0].benchmark, "kv_cache");
  EXPECT_EQ(rows[0].model, "tiny-1b");
  EXPECT_EQ(rows[0].num_users, 2);
  EXPECT_EQ(rows[0].duration, 3);
  ASSERT_TRUE(rows[0].read_gibps.has_value());
  EXPECT_DOUBLE_EQ(*rows[0].read_gibps, 1.25);
  EXPECT_DOUBLE_EQ(*rows[0].write_gibps, 0.5);
  EXPECT_EQ(rows[0].argv.back(), "5");
  EXPECT_EQ(rows[0].argv.front(), "mlpstorage");
}

TEST_F(KvcacheRun, ThroughAFakeMpiLauncher) {
  // The fake launcher records its own argv and runs the engine (everything after the prefix).
  const fs::path launcher = tmp.path / "fake-mpirun";
  orchtest::write_file(launcher,
                       "#!/bin/sh\nprintf '%s\\n' \"$@\" > " +
                           (tmp.path / "launcher_argv.txt").string() + "\nwhile [ \"$1\" != \"" +
                           fake.string() + "\" ]; do shift; done\nexec \"$@\"\n",
                       true);
  env.plan.mpi.run_bin = launcher.string();
  env.plan.path_env = "/usr/bin:/bin";
  auto a = base({"--exec-type", "mpi", "--hosts", "127.0.0.1", "--allow-run-as-root",
                 "--mpi-params", "--mca btl self"});
  ASSERT_EQ(run(a), 0);
  auto largv = orchtest::lines_of(orchtest::slurp(tmp.path / "launcher_argv.txt"));
  ASSERT_GE(largv.size(), 13u);
  EXPECT_EQ(std::vector<std::string>(largv.begin(), largv.begin() + 13),
            (std::vector<std::string>{"-n", "1", "-host", "127.0.0.1:1", "--bind-to", "none",
                                      "--map-by", "socket", "--allow-run-as-root", "--mca", "btl",
                                      "self", fake.string()}));
  Json md = metadata_of(only_run_dir());
  EXPECT_EQ(md["status"], "success");
  EXPECT_EQ(md["executed_argv"][0], launcher.string());
  EXPECT_EQ(md["hosts"], (std::vector<std::string>{"127.0.0.1"}));
}

TEST_F(KvcacheRun, EngineFailureIsPropagatedAndRecorded) {
  orchtest::ScopedEnv fail("FAKE_KV_EXIT", "3");
  EXPECT_EQ(run(base()), 3);
  Json md = metadata_of(only_run_dir());
  EXPECT_EQ(md["status"], "failed");
  EXPECT_EQ(md["exit_code"], 3);
  EXPECT_EQ(md["child_exit_code"], 3);
  EXPECT_NE(md["error"].get<std::string>().find("status 3"), std::string::npos);
  auto rows = history().list();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].status, "failed");
  EXPECT_EQ(rows[0].exit_code, 3);
}

TEST_F(KvcacheRun, UnknownEngineExitCodeBecomesFailure) {
  orchtest::ScopedEnv fail("FAKE_KV_EXIT", "42");
  EXPECT_EQ(run(base()), 6);
  EXPECT_EQ(metadata_of(only_run_dir())["child_exit_code"], 42);
}

TEST_F(KvcacheRun, MissingResultsFileStillWritesMetadata) {
  orchtest::ScopedEnv none("FAKE_KV_NO_RESULTS", "1");
  EXPECT_EQ(run(base()), 0);
  Json md = metadata_of(only_run_dir());
  EXPECT_EQ(md["status"], "success");
  EXPECT_FALSE(md.contains("kvcache_metrics"));
}

TEST_F(KvcacheRun, InterruptForwardsAndRecordsInterrupted) {
  orchtest::ScopedEnv slow("FAKE_KV_SLEEP", "20");
  std::thread killer([&] {
    // Press "Ctrl-C" once the engine runs (it has written its argv file).
    for (int i = 0; i < 1000; ++i) {
      bool started = false;
      const fs::path parent = rd / "kv_cache" / "tiny-1b" / "run";
      if (fs::exists(parent)) {
        for (const auto& e : fs::directory_iterator(parent))
          started = started || fs::exists(e.path() / "fake_argv.txt");
      }
      if (started) break;
      std::this_thread::sleep_for(10ms);
    }
    std::this_thread::sleep_for(100ms);
    ::kill(::getpid(), SIGINT);
  });
  const auto t0 = std::chrono::steady_clock::now();
  const int rc = run(base());
  killer.join();
  EXPECT_EQ(rc, 8);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 10.0);
  Json md = metadata_of(only_run_dir());
  EXPECT_EQ(md["status"], "interrupted");
  EXPECT_EQ(md["exit_code"], 8);
  EXPECT_EQ(history().list()[0].status, "interrupted");
  clear_received_signal();
}

TEST_F(KvcacheRun, WhatIfCreatesNothingAndIsRecordedAsWhatIf) {
  ASSERT_EQ(run(base({"--exec-type", "mpi", "--hosts", "host1", "host2", "-np", "4", "--what-if"})),
            0);
  EXPECT_FALSE(fs::exists(rd));
  EXPECT_NE(
      out.str().find("Command: mpirun -n 4 -host host1:2,host2:2 --bind-to none --map-by node " +
                     fake.string() + " --model tiny-1b"),
      std::string::npos)
      << out.str();
  auto rows = history().list();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].status, "what_if");
}

TEST_F(KvcacheRun, PreflightRootWithoutAllowRunAsRoot) {
  env.preflight.euid = 0;
  env.plan.path_env = "/usr/bin:/bin";
  env.plan.mpi.run_bin = "/bin/true";  // exists: only the root rule is broken
  EXPECT_EQ(run(base({"--exec-type", "mpi"})), 5);
  EXPECT_FALSE(fs::exists(rd));
  EXPECT_EQ(history().list()[0].status, "error");
  // Allowed either by the flag or by OpenMPI's two variables.
  env.preflight.ompi_root_env = true;
  env.plan.mpi.run_bin = "/bin/false";
  EXPECT_NE(run(base({"--exec-type", "mpi"})), 5);
}

TEST_F(KvcacheRun, PreflightLauncherMissing) {
  env.plan.mpi.run_bin = (tmp.path / "no-mpirun").string();
  EXPECT_EQ(run(base({"--exec-type", "mpi", "--allow-run-as-root"})), 3);
  EXPECT_FALSE(fs::exists(rd));
  // --skip-validation drops the launcher check; the exec then fails and is recorded.
  EXPECT_EQ(run(base({"--exec-type", "mpi", "--allow-run-as-root", "--skip-validation"})), 3);
  EXPECT_EQ(metadata_of(only_run_dir())["status"], "error");
}

TEST_F(KvcacheRun, PreflightEngineMissing) {
  auto a = base();
  a[3] = (tmp.path / "no-engine").string();
  EXPECT_EQ(run(a), 3);
  EXPECT_FALSE(fs::exists(rd));
}

TEST_F(KvcacheRun, PreflightCacheDirNotCreatable) {
  orchtest::write_file(tmp.path / "plainfile", "x");
  EXPECT_EQ(run(base({"--cache-dir", (tmp.path / "plainfile" / "cache").string()})), 4);
  EXPECT_FALSE(fs::exists(rd));
}

TEST_F(KvcacheRun, TooFewSlotsIsAUsageError) {
  EXPECT_EQ(run(base({"--exec-type", "mpi", "--hosts", "a:1,b:1", "-np", "4"})), 2);
  EXPECT_FALSE(fs::exists(rd));
}

TEST_F(KvcacheRun, ClosedGateAbortsOpenConfigurations) {
  EXPECT_EQ(run(base({"--closed"})), 1);
  EXPECT_FALSE(fs::exists(rd));
  EXPECT_EQ(history().list()[0].status, "aborted");
  // --open with an INVALID configuration (duration 3 < 30) aborts unless -aip.
  EXPECT_EQ(run(base({"--open"})), 1);
  EXPECT_EQ(run(base({"--open", "-aip"})), 0);
  EXPECT_EQ(metadata_of(only_run_dir())["verification"], "INVALID");
}

TEST_F(KvcacheRun, ClosedOfficialOptionRunsAndIsRecordedClosed) {
  auto a = std::vector<std::string>{"kvcache",
                                    "run",
                                    "--kvcache-bin-path",
                                    fake.string(),
                                    "-rd",
                                    rd.string(),
                                    "--exec-type",
                                    "docker",
                                    "--closed",
                                    "--model",
                                    "llama3.1-8b",
                                    "-nu",
                                    "100",
                                    "--duration",
                                    "300",
                                    "--gpu-mem-gb",
                                    "0",
                                    "--cpu-mem-gb",
                                    "4",
                                    "--generation-mode",
                                    "none",
                                    "--seed",
                                    "42",
                                    "--max-concurrent-allocs",
                                    "16"};
  ASSERT_EQ(run(a), 0);
  Json md = metadata_of(only_run_dir("llama3.1-8b"));
  EXPECT_EQ(md["verification"], "CLOSED");
  EXPECT_EQ(md["matched_option"], 2);
  auto argv = orchtest::lines_of(orchtest::slurp(only_run_dir("llama3.1-8b") / "fake_argv.txt"));
  EXPECT_NE(std::find(argv.begin(), argv.end(), "--max-concurrent-allocs"), argv.end());
}

TEST_F(KvcacheRun, LoopsGetSeparateRunDirs) {
  ASSERT_EQ(run(base({"--loops", "2"})), 0);
  int n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(rd / "kv_cache" / "tiny-1b" / "run"))
    ++n;
  EXPECT_EQ(n, 2);
}

TEST_F(KvcacheRun, LoopsStopAtTheFirstFailure) {
  orchtest::ScopedEnv fail("FAKE_KV_EXIT", "6");
  EXPECT_EQ(run(base({"--loops", "3"})), 6);
  EXPECT_EQ(fs::exists(rd)
                ? std::distance(fs::directory_iterator(rd / "kv_cache" / "tiny-1b" / "run"),
                                fs::directory_iterator())
                : 0,
            1);
}

TEST_F(KvcacheRun, ConfigFileDrivesTheRun) {
  orchtest::write_file(tmp.path / "cfg.yaml", "num_users: 3\nexec_type: docker\nseed: 9\n");
  auto a = base({"-c", (tmp.path / "cfg.yaml").string()});
  ASSERT_EQ(run(a), 0);
  auto argv = orchtest::lines_of(orchtest::slurp(only_run_dir() / "fake_argv.txt"));
  EXPECT_EQ(argv[3], "3");
  EXPECT_EQ(argv.back(), "9");
}

TEST_F(KvcacheRun, HistoryListShowRerunImport) {
  ASSERT_EQ(run(base()), 0);
  out.str("");
  ASSERT_EQ(run({"history", "list"}), 0);
  const std::string table = out.str();
  EXPECT_NE(table.find("RESULT DIR"), std::string::npos);
  EXPECT_NE(table.find("tiny-1b"), std::string::npos);
  EXPECT_NE(table.find("success"), std::string::npos);
  EXPECT_NE(table.find("1.250"), std::string::npos) << table;
  EXPECT_NE(table.find(only_run_dir().string()), std::string::npos);

  // The verification of the run (a 3 s run is INVALID) is a column of the list.
  EXPECT_NE(table.find("VERIF."), std::string::npos);
  EXPECT_NE(table.find("INVALID"), std::string::npos) << table;

  out.str("");
  ASSERT_EQ(run({"history", "show", "-i", "1"}), 0);
  EXPECT_NE(out.str().find("1: mlpstorage kvcache run"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("verification: INVALID"), std::string::npos) << out.str();
  // Metrics one per line, not one JSON line.
  EXPECT_NE(out.str().find("\n    total_requests:"), std::string::npos) << out.str();
  EXPECT_EQ(out.str().find("{\""), std::string::npos) << out.str();
  EXPECT_EQ(run({"history", "show", "-i", "99"}), 2);

  // rerun repeats the exact argv as a new recorded run with a new run dir
  ASSERT_EQ(run({"history", "rerun", "1"}), 0);
  auto rows = history().list();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].argv, rows[1].argv);
  ASSERT_TRUE(rows[0].rerun_of.has_value());
  EXPECT_EQ(*rows[0].rerun_of, 1);
  EXPECT_NE(rows[0].result_dir, rows[1].result_dir);
  EXPECT_EQ(run({"history", "rerun", "42"}), 2);

  out.str("");
  ASSERT_EQ(run({"history", "show", "-n", "1"}), 0);
  EXPECT_EQ(out.str().rfind("2 : ", 0), 0u) << out.str();

  // A run made elsewhere (only its metadata is here) is imported once.
  const fs::path foreign =
      tmp.path / "elsewhere" / "kv_cache" / "mistral-7b" / "run" / "20250101_000000";
  orchtest::write_file(foreign / "kv_cache_20250101_000000_metadata.json",
                       R"({"benchmark_type": "kv_cache", "model": "mistral-7b", "command": "run",
                           "run_datetime": "20250101_000000", "num_users": 50, "duration": 60,
                           "kvcache_metrics": {"tier_storage_read_bandwidth_gbps": 3.5}})");
  out.str("");
  ASSERT_EQ(run({"history", "import", (tmp.path / "elsewhere").string(), rd.string()}), 0);
  EXPECT_NE(out.str().find("Imported 1 run from " + (tmp.path / "elsewhere").string()),
            std::string::npos)
      << out.str();
  EXPECT_NE(out.str().find("Imported 0 runs from " + rd.string() + " (2 already known)"),
            std::string::npos)
      << out.str();
  out.str("");
  ASSERT_EQ(run({"history", "list", "-m", "mistral-7b"}), 0);
  EXPECT_NE(out.str().find("3.500"), std::string::npos) << out.str();
  EXPECT_EQ(history().list().size(), 3u);
}

// A run that completed no request failed (docs/safety.md): the engine exits 6 and says why; an
// engine that exits 0 without a completed request fails the same way.
TEST_F(KvcacheRun, ZeroCompletedRequestsIsNotMeasuredNeverPassedAndFailed) {
  orchtest::ScopedEnv zero("FAKE_KV_ZERO_REQUESTS", "1");
  for (const char* engine_exit : {"6", "0"}) {
    orchtest::ScopedEnv code("FAKE_KV_EXIT", engine_exit);
    ASSERT_EQ(run(base()), 6) << engine_exit;
    const fs::path dir = only_run_dir();
    const std::string log =
        orchtest::slurp(dir / ("mlpstorage_" + dir.filename().string() + ".log"));
    EXPECT_EQ(log.find("passed"), std::string::npos) << log;
    EXPECT_NE(log.find("NOT MEASURED (0 requests completed)"), std::string::npos) << log;
    EXPECT_NE(log.find("WARNING"), std::string::npos) << log;
    EXPECT_NE(log.find("Storage read device P95: — (no sample)"), std::string::npos) << log;
    EXPECT_NE(log.find("ERROR: Run failed: no request completed in the 3.0 s window: no request "
                       "was issued"),
              std::string::npos)
        << log;
    const Json md = metadata_of(dir);
    EXPECT_EQ(md["status"], "failed");
    EXPECT_EQ(md["exit_code"], 6);
    EXPECT_EQ(md["child_exit_code"], std::stoi(engine_exit));
    EXPECT_EQ(md["error"].get<std::string>().rfind("no request completed in the 3.0 s window", 0),
              0u);
    const Json m = md["kvcache_metrics"];
    EXPECT_EQ(m["measured"], false);
    EXPECT_EQ(m["overall_passed"], false);  // storage_health said PASS: informational only
    const auto rows = history().list();
    EXPECT_EQ(rows[0].status, "failed");
    EXPECT_EQ(rows[0].exit_code.value_or(-1), 6);
    EXPECT_EQ(rows[0].metrics["measured"], false);
    fs::remove_all(dir);
  }
}

TEST_F(KvcacheRun, MeasuredRunLabelsStorageHealthInformational) {
  ASSERT_EQ(run(base()), 0);
  const fs::path dir = only_run_dir();
  const std::string log = orchtest::slurp(dir / ("mlpstorage_" + dir.filename().string() + ".log"));
  EXPECT_EQ(log.find("Benchmark passed"), std::string::npos) << log;
  EXPECT_NE(log.find("Storage health (informational, not an MLPerf verdict): PASS"),
            std::string::npos)
      << log;
  EXPECT_EQ(metadata_of(dir)["kvcache_metrics"]["measured"], true);
}

TEST_F(KvcacheRun, HistoryListNeverCreatesTheDatabase) {
  const fs::path db = tmp.path / "none" / "h.db";
  ASSERT_EQ(run({"history", "list", "--history-db", db.string()}), 0);
  EXPECT_NE(out.str().find("No history entries found"), std::string::npos);
  EXPECT_EQ(run({"history", "show", "--history-db", db.string()}), 2);
  EXPECT_FALSE(fs::exists(tmp.path / "none"));
}

TEST_F(KvcacheRun, HistoryDatabaseProblemsOnlyWarn) {
  orchtest::write_file(tmp.path / "notadir", "x");
  ASSERT_EQ(run(base({"--history-db", (tmp.path / "notadir" / "h.db").string()})), 0);
  EXPECT_EQ(metadata_of(only_run_dir())["status"], "success");
}

// The resource pre-flight (preflight.hpp) stops the run before anything is created; --what-if lists
// the checks; --skip-validation downgrades the problem to a warning and the (fake) engine runs.
TEST_F(KvcacheRun, ResourcePreflightStopsBeforeCreatingAnything) {
  env.preflight.host.mem_available = [] { return std::optional<double>(2.0 * (1 << 30)); };
  EXPECT_EQ(run(base({"--cpu-mem-gb", "4"})), 2);
  EXPECT_FALSE(fs::exists(rd));
  EXPECT_EQ(run(base({"--cpu-mem-gb", "4", "--what-if"})), 0);
  EXPECT_NE(out.str().find("CPU tier memory: PROBLEM"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("cache-dir space: ok"), std::string::npos) << out.str();
  EXPECT_FALSE(fs::exists(rd));
  EXPECT_EQ(run(base({"--cpu-mem-gb", "4", "--skip-validation"})), 0);
  EXPECT_TRUE(fs::exists(only_run_dir()));
}
