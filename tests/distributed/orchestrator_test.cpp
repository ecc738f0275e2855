// mlpstorage and multi-rank engine results (docs/distributed.md): the cluster information collected
// inside the MPI job becomes `system_info` and kv_cache_cluster_info.json, the rank/host layout and
// num_processes go to the metadata and the history (NP column), a partial failure makes the run
// fail with exit 6 and the failed ranks' reasons; the graceful stop signal for MPI launches.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "history/history.hpp"
#include "orchestrator/cli_main.hpp"
#include "orchestrator/distributed_results.hpp"
#include "orchestrator/runner.hpp"
#include "support/files.hpp"
#include "support/temp_dir.hpp"

using namespace kv::orchestrator;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using kv::testsupport::slurp;
using kv::testsupport::TempDir;

namespace {

Json host(const std::string& name) {
  return Json{{"hostname", name}, {"memory", {{"total", 1024}}}};
}

// A multi-rank results JSON as rank 0 writes it (only the keys mlpstorage reads).
Json job_results(bool partial) {
  Json r;
  r["summary"] =
      Json{{"total_requests", 30},
           {"total_tokens", 3000},
           {"elapsed_time", 3.0},
           {"cache_stats", {{"tier_storage_read_bandwidth_gbps", 2.5}, {"storage_entries", 9}}}};
  r["rank_count"] = 3;
  r["host_count"] = 2;
  r["partial_failure"] = partial;
  r["failed_ranks"] = partial
                          ? Json::array({Json{{"rank", 2},
                                              {"host", "hostB"},
                                              {"reason", "no result before the job was stopped"}}})
                          : Json::array();
  r["ranks"] =
      Json::array({Json{{"rank", 0}, {"host", "hostA"}, {"status", "ok"}},
                   Json{{"rank", 1}, {"host", "hostA"}, {"status", "ok"}},
                   Json{{"rank", 2}, {"host", "hostB"}, {"status", partial ? "failed" : "ok"}}});
  r["cluster_info"] = Json{{"num_hosts", 2},
                           {"collection_method", "mpi"},
                           {"hosts", Json::array({host("hostA"), host("hostB")})},
                           {"host_consistency_issues", Json::array({"Core count differs"})}};
  r["mlperf_aggregates"] =
      Json{{"aggregated_read_bandwidth_gbps", 2.5}, {"total_ranks", partial ? 2 : 3}};
  return r;
}

struct MlpstorageMultiRank : ::testing::Test {
  TempDir tmp;
  std::ostringstream out;
  Environment env;
  fs::path rd, engine;

  void SetUp() override {
    ::setenv("MLPSTORAGE_HISTORY_DB", (tmp.path / "h.db").c_str(), 1);
    rd = tmp.path / "results";
    env.out = &out;
    env.child_stdout_fd = -1;
    env.child_stderr_fd = -1;
    env.preflight.euid = 1000;
    // Room for the default --cpu-mem-gb on any test machine (resource pre-flight).
    env.preflight.host.mem_available = [] { return std::optional<double>(1e12); };
    env.preflight.host.free_bytes = [](const fs::path&) { return std::optional<double>(1e12); };
    clear_received_signal();
  }
  void TearDown() override { ::unsetenv("MLPSTORAGE_HISTORY_DB"); }

  // A fake engine that writes `results` to its --output.
  void fake_engine(const Json& results) {
    const fs::path json = tmp.path / "canned.json";
    std::ofstream(json) << results.dump();
    engine = tmp.path / "fake-kv-cache";
    std::ofstream(engine) << "#!/bin/sh\nout=\"\"; prev=\"\"\nfor a in \"$@\"; do [ \"$prev\" = "
                             "--output ] && out=\"$a\"; "
                             "prev=\"$a\"; done\ncp "
                          << json.string() << " \"$out\"\n";
    fs::permissions(engine, fs::perms::owner_all);
  }

  int run(std::vector<std::string> args) {
    std::vector<std::string> argv{"mlpstorage",
                                  "kvcache",
                                  "run",
                                  "--kvcache-bin-path",
                                  engine.string(),
                                  "-rd",
                                  rd.string(),
                                  "--model",
                                  "tiny-1b",
                                  "-nu",
                                  "2",
                                  "-d",
                                  "3",
                                  "--exec-type",
                                  "docker"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_cli(argv, env);
  }

  fs::path run_dir() { return fs::directory_iterator(rd / "kv_cache" / "tiny-1b" / "run")->path(); }
  Json metadata() {
    const fs::path d = run_dir();
    return Json::parse(slurp(d / ("kv_cache_" + d.filename().string() + "_metadata.json")));
  }
};

}  // namespace

TEST(DistributedResults, SingleProcessResultsAreNotDistributed) {
  EXPECT_FALSE(distributed_results(Json{{"summary", Json::object()}}).has_value());
  EXPECT_FALSE(distributed_results(Json{{"rank_count", 1}}).has_value());
  EXPECT_FALSE(distributed_results(Json::array()).has_value());
}

TEST(DistributedResults, LayoutFailuresAndMessage) {
  const auto d = distributed_results(job_results(true));
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->rank_count, 3);
  EXPECT_EQ(d->host_count, 2);
  EXPECT_TRUE(d->partial_failure);
  ASSERT_EQ(d->failures.size(), 1u);
  EXPECT_EQ(partial_failure_message(*d),
            "partial failure: rank 2 (hostB): no result before the job was stopped");
  ASSERT_EQ(d->layout["hosts"].size(), 2u);
  EXPECT_EQ(d->layout["hosts"][0]["hostname"], "hostA");
  EXPECT_EQ(d->layout["hosts"][0]["ranks"], Json::array({0, 1}));
  EXPECT_EQ(d->layout["hosts"][1]["ranks"], Json::array({2}));
  ASSERT_TRUE(d->cluster_info.has_value());
  EXPECT_EQ((*d->cluster_info)["collection_method"], "mpi");
}

TEST_F(MlpstorageMultiRank, MultiRankResultsGoToMetadataClusterInfoAndHistory) {
  fake_engine(job_results(false));
  ASSERT_EQ(run({}), 0);
  const Json md = metadata();
  EXPECT_EQ(md["status"], "success");
  EXPECT_EQ(md["system_info"]["collection_method"], "mpi");
  EXPECT_EQ(md["system_info"]["num_hosts"], 2);
  EXPECT_EQ(md["rank_layout"]["rank_count"], 3);
  EXPECT_EQ(md["rank_layout"]["hosts"][1]["hostname"], "hostB");
  EXPECT_EQ(md["kvcache_metrics"]["num_processes"], 3);
  EXPECT_EQ(md["kvcache_metrics"]["mlperf_aggregates"]["total_ranks"], 3);
  const Json ci = Json::parse(slurp(run_dir() / "kv_cache_cluster_info.json"));
  EXPECT_EQ(ci, md["system_info"]);

  out.str("");
  ASSERT_EQ(run_cli({"mlpstorage", "history", "list"}, env), 0);
  std::istringstream table(out.str());
  std::string header, row;
  std::getline(table, header);
  std::getline(table, row);
  const auto col = header.find(" NP ");
  ASSERT_NE(col, std::string::npos) << header;
  // The NP cell is right-aligned under its header.
  EXPECT_EQ(row.substr(col + 1, 2), " 3") << header << "\n" << row;
}

TEST_F(MlpstorageMultiRank, PartialFailureFailsTheRunWithTheReason) {
  fake_engine(job_results(true));
  EXPECT_EQ(run({}), 6);
  const Json md = metadata();
  EXPECT_EQ(md["status"], "failed");
  EXPECT_EQ(md["exit_code"], 6);
  EXPECT_NE(md["error"].get<std::string>().find("partial failure: rank 2 (hostB)"),
            std::string::npos)
      << md["error"];
  EXPECT_TRUE(md["kvcache_metrics"]["partial_failure"].get<bool>());
  kv::history::Db db(tmp.path / "h.db");
  EXPECT_EQ(db.list()[0].status, "failed");
  EXPECT_EQ(db.list()[0].exit_code, 6);
}

TEST(SoftStop, FirstSignalIsTheSoftOneThenTerm) {
  TempDir t;
  install_signal_handlers();
  clear_received_signal();
  ChildSpec s;
  s.stdout_log = t.path / "out.log";
  s.echo_stdout_fd = -1;
  s.echo_stderr_fd = -1;
  s.soft_stop_signal = SIGUSR1;
  s.soft_grace = 300ms;
  s.grace = 2000ms;
  // Traps USR1 (notes it, keeps running), exits 143 on TERM.
  s.argv = {"/bin/sh", "-c",
            "trap 'echo got-usr1' USR1; trap 'echo got-term; exit 143' TERM; echo ready; "
            "while :; do sleep 0.05; done"};
  std::thread killer([&] {
    for (int i = 0; i < 500 && slurp(t.path / "out.log").find("ready") == std::string::npos; ++i)
      std::this_thread::sleep_for(10ms);
    ::kill(::getpid(), SIGINT);
  });
  auto r = run_child(s);
  killer.join();
  EXPECT_EQ(r.forwarded_signal, SIGINT);
  EXPECT_EQ(r.exit_code, 143);
  EXPECT_FALSE(r.killed_after_grace);
  const std::string log = slurp(t.path / "out.log");
  const auto u = log.find("got-usr1"), term = log.find("got-term");
  ASSERT_NE(u, std::string::npos) << log;
  ASSERT_NE(term, std::string::npos) << log;
  EXPECT_LT(u, term);
  EXPECT_GE(r.runtime_s, 0.3);  // SIGTERM only after the soft grace
  clear_received_signal();
}
