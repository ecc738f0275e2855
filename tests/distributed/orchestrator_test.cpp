// mlpstorage and multi-rank engine results (docs/distributed.md): the cluster information collected
// inside the MPI job becomes `system_info` and kv_cache_cluster_info.json, the rank/host layout and
// num_processes go to the metadata and the history (NP column), a partial failure makes the run
// fail with exit 6 and the failed ranks' reasons; when rank 0 died, the ranks' own results files
// are found and recorded and the run fails; the graceful stop signal for MPI launches.
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

  // The engine job as it ends when rank 0 dies: no --output, rank 1's own file beside it and its
  // line on stderr, rank 2's line naming a path on its own host; mpirun's exit 137.
  void rank0_gone_engine() {
    engine = tmp.path / "fake-kv-cache";
    kv::testsupport::write_file(
        engine,
        "#!/bin/sh\n[ \"$1\" = --version ] && { echo 'kv-cache 0.1.0'; exit 0; }\n"
        "out=\"\"; prev=\"\"\nfor a in \"$@\"; do [ \"$prev\" = --output ] && "
        "out=\"$a\"; prev=\"$a\"; done\nr1=\"${out%.json}_rank1.json\"\n"
        "echo '{\"requests_completed\": 3}' > \"$r1\"\n"
        "echo \"kv-cache: rank 1 (hostA): rank 0 (hostA, pid 42) is gone (its process exited); "
        "this rank's results are in $r1\" >&2\n"
        "echo \"kv-cache: rank 2 (hostB): rank 0 (hostA, pid 42) has sent nothing for 10.2 s; "
        "this rank's results are in /far/r_rank2.json\" >&2\nexit 137\n");
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

// Rank 0 died: no merged results, the other ranks kept their own (docs/distributed.md, "Rank 0's
// liveness"). mlpstorage finds them by the ranks' lines and beside the results file.
TEST(KeptRankResults, FoundByTheRanksLinesAndBesideTheResults) {
  TempDir t;
  const fs::path results = t.path / "kvcache_results_x.json";
  const fs::path r1 = t.path / "kvcache_results_x_rank1.json";
  const fs::path r3 = t.path / "kvcache_results_x_rank3.json";
  kv::testsupport::write_file(r1, "{}");
  kv::testsupport::write_file(r3, "{}");  // no line from rank 3: found beside the results
  const std::string err =
      "kv-cache progress: phase=window elapsed_s=1.0 rank=1\n"
      "[1,1]<stderr>:kv-cache: rank 1 (hostA): rank 0 (hostA, pid 42) is gone (its process "
      "exited); this rank's results are in " +
      r1.string() +
      "\n"
      "kv-cache: rank 2 (hostB): rank 0 (hostA, pid 42) is unreachable while the launcher is "
      "stopping the job: this rank's MPI communication has been stuck for 0.8 s and the last "
      "message from it came 1.8 s ago (it sends one every 1 s); it is probably gone; this rank's "
      "results are in /elsewhere/kvcache_results_x_rank2.json\r\n"
      "kv-cache: rank 4 (hostC): rank 0 (hostA, pid 42) is gone (its process exited); this rank "
      "has no results (it ended before its window did)\n"
      "kv-cache: rank x (junk\n";
  const KeptRankResults k = kept_rank_results(results, err, 5);
  ASSERT_EQ(k.files.size(), 4u);
  EXPECT_EQ(k.files[0].rank, 1);
  EXPECT_EQ(k.files[0].host, "hostA");
  EXPECT_EQ(k.files[0].path, r1.string());
  EXPECT_EQ(k.files[0].reason, "is gone (its process exited)");
  EXPECT_TRUE(k.files[0].on_this_host);
  EXPECT_EQ(k.files[1].rank, 2);
  EXPECT_EQ(k.files[1].path, "/elsewhere/kvcache_results_x_rank2.json");
  EXPECT_NE(k.files[1].reason.find("; it is probably gone"), std::string::npos);
  EXPECT_FALSE(k.files[1].on_this_host);  // a path on rank 2's host
  EXPECT_EQ(k.files[2].rank, 3);
  EXPECT_EQ(k.files[2].path, r3.string());
  EXPECT_TRUE(k.files[2].host.empty());
  EXPECT_EQ(k.files[3].rank, 4);
  EXPECT_TRUE(k.files[3].path.empty());

  const Json j = kept_rank_results_json(k);
  EXPECT_EQ(j["ranks"], Json::array({1, 2, 3}));  // the ranks with results
  EXPECT_EQ(j["files"][1]["on_this_host"], false);
  EXPECT_TRUE(j["files"][3]["path"].is_null());
  EXPECT_EQ(kept_rank_results_message(k),
            "no merged results (rank 0 is gone); the ranks kept their own: rank 1 (hostA): " +
                r1.string() +
                "; rank 2 (hostB): /elsewhere/kvcache_results_x_rank2.json (on that host); rank "
                "3: " +
                r3.string() + "; rank 4 (hostC): nothing saved");
}

TEST(KeptRankResults, NothingWithoutLinesOrFiles) {
  TempDir t;
  EXPECT_TRUE(kept_rank_results(t.path / "r.json", "kv-cache: rank 1 (h): done\n", 3).empty());
  EXPECT_TRUE(kept_rank_results(t.path / "r.json", "", 1).empty());
}

TEST_F(MlpstorageMultiRank, Rank0GoneFailsTheRunAndRecordsTheRanksOwnResults) {
  rank0_gone_engine();
  EXPECT_EQ(run({}), 6);
  const Json md = metadata();
  EXPECT_EQ(md["status"], "failed");
  EXPECT_EQ(md["exit_code"], 6);
  const fs::path r1 =
      run_dir() / ("kvcache_results_" + run_dir().filename().string() + "_rank1.json");
  ASSERT_TRUE(md.contains("rank_results")) << md.dump(2);
  EXPECT_EQ(md["rank_results"]["ranks"], Json::array({1, 2}));
  EXPECT_EQ(md["rank_results"]["files"][0]["path"], r1.string());
  EXPECT_EQ(md["rank_results"]["files"][0]["on_this_host"], true);
  EXPECT_EQ(md["rank_results"]["files"][1]["host"], "hostB");
  EXPECT_EQ(md["rank_results"]["files"][1]["on_this_host"], false);
  EXPECT_NE(md["error"].get<std::string>().find("rank 1 (hostA): " + r1.string()),
            std::string::npos)
      << md["error"];
  EXPECT_NE(md["error"].get<std::string>().find("rank 2 (hostB): /far/r_rank2.json (on that host)"),
            std::string::npos)
      << md["error"];
  kv::history::Db db(tmp.path / "h.db");
  EXPECT_EQ(db.list()[0].status, "failed");
}

// The submission flow's trial gather: a trial whose rank 0 died fails, and its record says where
// the other ranks' own results are (rank 1's, on this host, moved into rank_1/ like every rank
// file; rank 2's on its own host).
TEST_F(MlpstorageMultiRank, SequenceTrialWithoutRank0RecordsTheRanksOwnResults) {
  ASSERT_EQ(run_cli({"mlpstorage", "init", "Acme", rd.string()}, env), 0);
  rank0_gone_engine();
  // Two ranks through a stand-in for mpirun that runs the engine command once.
  const fs::path mpirun = tmp.path / "fake-mpirun";
  kv::testsupport::write_file(mpirun, "#!/bin/sh\nwhile [ \"$1\" != \"" + engine.string() +
                                          "\" ]; do shift; done\nexec \"$@\"\n");
  fs::permissions(mpirun, fs::perms::owner_all);
  env.plan.mpi.run_bin = mpirun.string();
  // clang-format off
  const std::vector<std::string> argv = {"mlpstorage", "open", "kvcache", "run", "--systemname",
      "sys1", "--results-dir", rd.string(), "--cache-dir", (tmp.path / "cache").string(),
      "--model", "tiny-1b", "--num-users", "2", "--duration", "2", "--trials", "1",
      "--inter-option-delay", "0", "--settle", "0", "--gpu-mem-gb", "0", "--cpu-mem-gb", "0",
      "--allow-invalid-params", "--kvcache-bin-path", engine.string(), "--hosts", "127.0.0.1",
      "--npernode", "2"};
  // clang-format on
  const int code = run_cli(argv, env);
  EXPECT_EQ(code, 6);
  const fs::path base = rd / "open" / "Acme" / "results" / "sys1" / "kv_cache" / "tiny-1b" / "run";
  const fs::path dir = fs::directory_iterator(base)->path();
  const std::string dt = dir.filename().string();
  const fs::path trial = dir / "option_1" / "trial_0";
  const Json rec = Json::parse(slurp(trial / ("kvcache_trial_" + dt + ".json")));
  EXPECT_EQ(rec["status"], "failed");
  EXPECT_EQ(rec["exit_code"], 6);
  ASSERT_TRUE(rec.contains("rank_results")) << rec.dump(2);
  EXPECT_EQ(rec["rank_results"]["ranks"], Json::array({1, 2}));
  const std::string moved = rec["rank_results"]["files"][0]["path"].get<std::string>();
  EXPECT_TRUE(fs::exists(moved)) << moved;  // in rank_1/, where the trial's rank files go
  EXPECT_NE(moved.find("rank_1"), std::string::npos) << moved;
  EXPECT_EQ(rec["rank_results"]["files"][1]["on_this_host"], false);
  EXPECT_NE(
      rec["error"].get<std::string>().find("rank 2 (hostB): /far/r_rank2.json (on that host)"),
      std::string::npos)
      << rec["error"];
}
