// mlpstorage end to end with the real binaries: exit codes, the 03-02 what-if command, datasize,
// a real `kvcache run` of the real engine through a real `mpirun -n 1` (as root with
// --allow-run-as-root), its result tree and history entry, and Ctrl-C forwarding.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "support/argv.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

using namespace kv::testsupport;

using Json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

bool engine_is_real() {
  auto r = run({bin("kv-cache"), "--help"});
  return (r.out + r.err).find("--num-users") != std::string::npos;
}

bool on_path(const std::string& name) {
  return !find_on_path(name).empty();
}

fs::path only_run_dir(const fs::path& rd, const std::string& model) {
  const fs::path parent = rd / "kv_cache" / model / "run";
  if (!fs::exists(parent)) return {};
  auto it = fs::directory_iterator(parent);
  return it == fs::directory_iterator() ? fs::path() : it->path();
}

Json metadata_of(const fs::path& dir) {
  const std::string dt = dir.filename().string();
  return Json::parse(slurp(dir / ("kv_cache_" + dt + "_metadata.json")));
}

}  // namespace

TEST(MlpstorageE2E, HelpAndUsageExitCodes) {
  auto none = run({bin("mlpstorage")});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_NE(none.err.find("kvcache"), std::string::npos);
  auto program = run({bin("mlpstorage"), "kvcache"});
  EXPECT_EQ(program.exit_code, 1);
  EXPECT_NE(program.err.find("datasize"), std::string::npos);
  auto bad = run({bin("mlpstorage"), "kvcache", "run", "--num-users", "zero"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--num-users"), std::string::npos);
  auto help = run({bin("mlpstorage"), "kvcache", "run", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("--allow-run-as-root"), std::string::npos);
}

// Help through the real binary with stdout a file (not a terminal): 80 columns, so no line reaches
// column 80; with COLUMNS=60 none reaches 60. Unknown and abbreviated flags as argparse.
TEST(MlpstorageE2E, HelpFitsTheWidthAndFlagsMatchAsArgparse) {
  const std::vector<std::vector<std::string>> commands = {{},
                                                          {"kvcache", "run"},
                                                          {"kvcache", "datasize"},
                                                          {"history", "list"},
                                                          {"history", "show"},
                                                          {"reports", "reportgen"},
                                                          {"closed", "kvcache", "run"},
                                                          {"init"}};
  for (const std::string cols : {"", "60"}) {
    const std::size_t width = cols.empty() ? 80 : 60;
    for (const auto& c : commands) {
      std::vector<std::string> argv = {bin("mlpstorage")};
      argv.insert(argv.end(), c.begin(), c.end());
      argv.push_back("--help");
      auto r = run(argv, {cols.empty() ? "COLUMNS=" : "COLUMNS=" + cols});
      EXPECT_EQ(r.exit_code, 0) << argv.size();
      std::istringstream in(r.out);
      int n = 0;
      for (std::string line; std::getline(in, line); ++n)
        EXPECT_LT(line.size(), width) << cols << " " << line;
      EXPECT_GT(n, 5);
      EXPECT_NE(r.out.find("Examples:"), std::string::npos) << r.out;
    }
  }
  auto ds = run({bin("mlpstorage"), "kvcache", "datasize", "--help"});
  EXPECT_EQ(ds.out.find("--loops"), std::string::npos) << ds.out;
  EXPECT_EQ(ds.out.find("-np"), std::string::npos) << ds.out;

  auto typo = run({bin("mlpstorage"), "kvcache", "run", "--nmu-users", "3"});
  EXPECT_EQ(typo.exit_code, 2);
  EXPECT_NE(typo.err.find("did you mean --num-users?"), std::string::npos) << typo.err;
  auto ambiguous = run({bin("mlpstorage"), "kvcache", "run", "--c", "3"});
  EXPECT_EQ(ambiguous.exit_code, 2);
  EXPECT_NE(ambiguous.err.find("--cache-dir"), std::string::npos) << ambiguous.err;
  TempDir t;
  auto prefix =
      run({bin("mlpstorage"), "kvcache", "datasize", "--num-user", "3", "--mod", "tiny-1b"},
          {"MLPSTORAGE_HISTORY_DB=" + (t.path / "h.db").string()});
  EXPECT_EQ(prefix.exit_code, 0) << prefix.err;
  EXPECT_NE(prefix.out.find("tiny-1b"), std::string::npos) << prefix.out;
}

TEST(MlpstorageE2E, WhatIfShowsThe0302CommandAndCreatesNothing) {
  TempDir t;
  const fs::path rd = t.path / "results";
  auto r = run({bin("mlpstorage"), "kvcache", "run", "--hosts", "host1", "host2", "--num-processes",
                "4", "--what-if", "--results-dir", rd.string()},
               {"MLPSTORAGE_HISTORY_DB=" + (t.path / "h.db").string(), "MPI_RUN_BIN=mpirun"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const std::string expected = "mpirun -n 4 -host host1:2,host2:2 --bind-to none --map-by node " +
                               bin("kv-cache") + " --model llama3.1-8b ";
  EXPECT_NE(r.out.find(expected), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(rd));
}

// A CPU tier larger than this machine's memory stops both run forms before the launcher starts:
// exit 2 naming --cpu-mem-gb with the value that fits, and no directory is created.
TEST(MlpstorageE2E, CpuTierLargerThanThisMachineFailsBeforeTheLauncher) {
  TempDir t;
  std::ifstream meminfo("/proc/meminfo");
  std::string key, unit;
  long long kb = 0;
  while (meminfo >> key >> kb >> unit && key != "MemTotal:") {
  }
  ASSERT_EQ(key, "MemTotal:");
  const std::string too_big = std::to_string(kb / (1024 * 1024) + 8);  // GiB above MemTotal
  // A launcher that only leaves a mark: if it ever runs, the check came too late.
  const fs::path marker = t.path / "launcher_ran";
  const fs::path fake = t.path / "fake-mpirun";
  std::ofstream(fake) << "#!/bin/sh\ntouch '" << marker.string() << "'\nexit 0\n";
  fs::permissions(fake, fs::perms::owner_all);
  const std::vector<std::string> env = {"MLPSTORAGE_HISTORY_DB=" + (t.path / "h.db").string(),
                                        "MPI_RUN_BIN=" + fake.string()};
  const fs::path rd = t.path / "results";
  auto r = run(
      {bin("mlpstorage"), "kvcache", "run", "--model", "tiny-1b", "--num-users", "2", "--hosts",
       "127.0.0.1", "--allow-run-as-root", "--cpu-mem-gb", too_big, "--results-dir", rd.string()},
      env);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("--cpu-mem-gb: the CPU tier needs " + too_big), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("or less"), std::string::npos) << r.err;  // the value that fits
  EXPECT_FALSE(fs::exists(marker));
  EXPECT_FALSE(fs::exists(rd));

  // The submission flow, OPEN (CLOSED would lock --cpu-mem-gb).
  ASSERT_EQ(run({bin("mlpstorage"), "init", "Acme", rd.string()}, env).exit_code, 0);
  auto s = run({bin("mlpstorage"), "open", "kvcache", "run", "--systemname", "sys", "--results-dir",
                rd.string(), "--hosts", "127.0.0.1", "--allow-run-as-root", "--cpu-mem-gb", too_big,
                "--trials", "1"},
               env);
  EXPECT_EQ(s.exit_code, 2) << s.err;
  EXPECT_NE(s.err.find("--cpu-mem-gb: the CPU tier needs " + too_big), std::string::npos) << s.err;
  EXPECT_FALSE(fs::exists(marker));
  EXPECT_FALSE(fs::exists(rd / "open"));
}

TEST(MlpstorageE2E, DatasizePrintsEstimates) {
  TempDir t;
  auto r = run(
      {bin("mlpstorage"), "kvcache", "datasize", "--model", "llama3.1-70b-instruct", "-nu", "70"},
      {"MLPSTORAGE_HISTORY_DB=" + (t.path / "h.db").string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Per-token cache: 327680 bytes"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Recommended tier sizes"), std::string::npos);
}

TEST(MlpstorageE2E, RealRunThroughMpirunAndHistory) {
  if (!engine_is_real())
    GTEST_SKIP() << "kv-cache --help has no --num-users: the real engine is not built yet";
  if (!on_path("mpirun")) GTEST_SKIP() << "mpirun is not installed (apt-get install openmpi-bin)";
  TempDir t;
  const fs::path rd = t.path / "results";
  const std::vector<std::string> env = {"MLPSTORAGE_HISTORY_DB=" + (t.path / "h.db").string()};
  // Enough work whatever the load (a run that completes no request fails): 3 requests, 60 s at
  // most.
  auto r =
      run(mlpstorage_run_argv(
              {.results_dir = rd, .duration = 60, .extra = {"--kvcache-params=--max-requests 3"}}),
          env);
  ASSERT_EQ(r.exit_code, 0) << r.err;

  const fs::path dir = only_run_dir(rd, "tiny-1b");
  ASSERT_FALSE(dir.empty());
  const std::string dt = dir.filename().string();
  EXPECT_GT(fs::file_size(dir / ("kvcache_" + dt + ".stdout.log")), 0u);
  EXPECT_TRUE(fs::exists(dir / ("kvcache_" + dt + ".stderr.log")));
  // The engine's progress records stay in its stderr log; mlpstorage shows them as its own status
  // lines (a new phase at once), never as raw records (docs/engine.md "Progress on stderr").
  EXPECT_NE(slurp(dir / ("kvcache_" + dt + ".stderr.log")).find("phase=cleanup"),
            std::string::npos);
  EXPECT_EQ((r.out + r.err).find("kv-cache progress:"), std::string::npos) << r.err;
  EXPECT_NE((r.out + r.err).find("removing cache files"), std::string::npos) << r.out << r.err;
  Json results = Json::parse(slurp(dir / ("kvcache_results_" + dt + ".json")));
  ASSERT_TRUE(results.contains("summary"));
  Json md = metadata_of(dir);
  EXPECT_EQ(md["status"], "success");
  EXPECT_EQ(md["benchmark_type"], "kv_cache");
  EXPECT_EQ(md["executed_argv"][0], "mpirun");
  EXPECT_EQ(md["executed_command"].get<std::string>().rfind(
                "mpirun -n 1 -host 127.0.0.1:1 --bind-to none", 0),
            0u);
  ASSERT_TRUE(md.contains("kvcache_metrics"));
  EXPECT_TRUE(md["kvcache_metrics"].contains("tier_storage_read_bandwidth_gbps"));
  EXPECT_EQ(md["kvcache_metrics"]["total_requests"], results["summary"]["total_requests"]);
  Json cluster = Json::parse(slurp(dir / "kv_cache_cluster_info.json"));
  EXPECT_EQ(cluster["num_hosts"], 1);
  EXPECT_EQ(md["system_info"]["num_hosts"], 1);
  // The run directory's HTML report, with the verification from the metadata (docs/reports.md).
  const std::string report = slurp(dir / ("kvcache_report_" + dt + ".html"));
  EXPECT_NE(report.find("<svg class=\"chart\""), std::string::npos);
  // The engine's gauges made it through the MPI merge (one rank) into the run report.
  EXPECT_TRUE(results["timeseries"].back().contains("storage_used_bytes"));
  EXPECT_NE(report.find("Queue depth and work in flight"), std::string::npos);
  EXPECT_NE(report.find("Tier occupancy"), std::string::npos);
  EXPECT_NE(report.find(md["verification"].get<std::string>()), std::string::npos);

  auto list = run({bin("mlpstorage"), "history", "list"}, env);
  EXPECT_EQ(list.exit_code, 0);
  EXPECT_NE(list.out.find(dir.string()), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("success"), std::string::npos);
  EXPECT_NE(list.out.find("tiny-1b"), std::string::npos);
}

TEST(MlpstorageE2E, CtrlCStopsTheEngineAndRecordsInterrupted) {
  if (!engine_is_real())
    GTEST_SKIP() << "kv-cache --help has no --num-users: the real engine is not built yet";
  if (!on_path("mpirun")) GTEST_SKIP() << "mpirun is not installed";
  TempDir t;
  const fs::path rd = t.path / "results";
  const std::string db = "MLPSTORAGE_HISTORY_DB=" + (t.path / "h.db").string();
  Background job(mlpstorage_run_argv({.results_dir = rd, .duration = 60}), t.path, {db});
  // Wait until the engine is running (its output file exists), then press "Ctrl-C".
  const auto t0 = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - t0 < std::chrono::seconds(20)) {
    fs::path dir = only_run_dir(rd, "tiny-1b");
    if (!dir.empty() && fs::exists(dir / ("kvcache_" + dir.filename().string() + ".stdout.log")) &&
        fs::file_size(dir / ("kvcache_" + dir.filename().string() + ".stdout.log")) > 0) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  job.signal(SIGINT);
  const auto code = job.wait(60);
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(code.has_value()) << "still running 60 s after SIGINT";
  EXPECT_EQ(*code, 8);
  EXPECT_LT(took, 40.0);  // far less than the 60 s duration
  const fs::path dir = only_run_dir(rd, "tiny-1b");
  ASSERT_FALSE(dir.empty());
  Json md = metadata_of(dir);
  EXPECT_EQ(md["status"], "interrupted");
  EXPECT_EQ(md["exit_code"], 8);
}
