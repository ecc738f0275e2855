// The reference's 12 MPI execution cases (local and docker get no wrapper; mpi adds it;
// empty hosts no wrapper; np defaults to the host count; oversubscribe, allow-run-as-root, mpiexec;
// cluster collection for run only; num_processes stored or null), plus the prefix rules and the
// engine argv (docs/mlpstorage.md#the-engine-command).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "orchestrator/cli_main.hpp"
#include "orchestrator/metadata.hpp"
#include "orchestrator/mpi.hpp"
#include "orchestrator/plan.hpp"
#include "test_util.hpp"

using namespace kv::orchestrator;
using orchtest::parse;

namespace {

struct Fixture : ::testing::Test {
  orchtest::TempDir tmp;
  PlanEnv env;
  void SetUp() override {
    orchtest::write_file(tmp.path / "bin" / "kv-cache", "#!/bin/sh\nexit 0\n", true);
    env.self_dir = tmp.path / "bin";
    env.path_env = "/usr/bin:/bin";
  }
  RunPlan plan_for(const std::vector<std::string>& args) {
    auto p = parse(args);
    EXPECT_TRUE(p.r.ok()) << p.r.err;
    return build_run_plan(p.inv(), "20260124_120000", env);
  }
  std::string engine() const { return (tmp.path / "bin" / "kv-cache").string(); }
};

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.rfind(prefix, 0) == 0;
}

}  // namespace

using MpiExec = Fixture;

// 1. local execution (no exec type at all, as a programmatic caller would build it) → no wrapper
TEST_F(MpiExec, LocalExecutionNoMpiWrapper) {
  auto p = parse({"kvcache", "run"});
  Invocation inv = p.inv();
  inv.kv.exec_type.clear();
  RunPlan plan = build_run_plan(inv, "20260124_120000", env);
  EXPECT_FALSE(plan.use_mpi);
  EXPECT_TRUE(plan.launcher_argv.empty());
  EXPECT_EQ(plan.argv().front(), engine());
  EXPECT_EQ(plan.command_line().find("mpirun"), std::string::npos);
}

// 2. docker → no wrapper
TEST_F(MpiExec, DockerExecutionNoMpiWrapper) {
  RunPlan plan = plan_for({"kvcache", "run", "--exec-type", "docker", "--hosts", "host1", "host2"});
  EXPECT_FALSE(plan.use_mpi);
  EXPECT_EQ(plan.command_line().find("mpirun"), std::string::npos);
  EXPECT_EQ(plan.command_line().find("mpiexec"), std::string::npos);
  EXPECT_EQ(plan.num_processes, 1);
}

// 3. mpi with two hosts and np 4 → the 03-02 example, verbatim
TEST_F(MpiExec, MpiExecutionAddsWrapperVerbatim) {
  RunPlan plan = plan_for({"kvcache", "run", "--hosts", "host1", "host2", "--num-processes", "4"});
  EXPECT_TRUE(plan.use_mpi);
  const std::string cmd = plan.command_line();
  EXPECT_TRUE(starts_with(cmd, "mpirun -n 4 -host host1:2,host2:2 --bind-to none --map-by node " +
                                   engine() + " --model llama3.1-8b "))
      << cmd;
  EXPECT_EQ(plan.launcher_argv,
            (std::vector<std::string>{"mpirun", "-n", "4", "-host", "host1:2,host2:2", "--bind-to",
                                      "none", "--map-by", "node"}));
}

// 4. mpi with an empty host list → no wrapper
TEST_F(MpiExec, MpiExecutionEmptyHostsNoWrapper) {
  RunPlan plan = plan_for({"kvcache", "run", "--exec-type", "mpi", "--hosts", ""});
  EXPECT_FALSE(plan.use_mpi);
  EXPECT_TRUE(plan.launcher_argv.empty());
}

// 5. np defaults to the number of hosts
TEST_F(MpiExec, NumProcessesDefaultsToHostCount) {
  RunPlan plan = plan_for({"kvcache", "run", "--hosts", "a", "b", "c"});
  EXPECT_EQ(plan.num_processes, 3);
  EXPECT_TRUE(starts_with(plan.command_line(), "mpirun -n 3 -host a:1,b:1,c:1 "))
      << plan.command_line();
}

// 6. --oversubscribe passes through
TEST_F(MpiExec, OversubscribeFlag) {
  RunPlan plan = plan_for({"kvcache", "run", "--hosts", "a", "b", "--oversubscribe"});
  EXPECT_NE(plan.command_line().find(" --map-by node --oversubscribe " + engine()),
            std::string::npos)
      << plan.command_line();
}

// 7. --allow-run-as-root passes through
TEST_F(MpiExec, AllowRunAsRootFlag) {
  RunPlan plan = plan_for({"kvcache", "run", "--allow-run-as-root"});
  EXPECT_EQ(plan.launcher_argv,
            (std::vector<std::string>{"mpirun", "-n", "1", "-host", "127.0.0.1:1", "--bind-to",
                                      "none", "--map-by", "socket", "--allow-run-as-root"}));
}

// 8. --mpi-bin mpiexec
TEST_F(MpiExec, UsesMpiexec) {
  RunPlan plan = plan_for({"kvcache", "run", "--mpi-bin", "mpiexec", "--hosts", "a", "b"});
  EXPECT_TRUE(starts_with(plan.command_line(), "mpiexec -n 2 ")) << plan.command_line();
}

// 9./10. Cluster information is collected for `run` (system_info + kv_cache_cluster_info.json) and
// not for `datasize`.
namespace {
struct ClusterRun {
  orchtest::TempDir t;
  orchtest::ScopedEnv db{"MLPSTORAGE_HISTORY_DB", (t.path / "h.db").string()};
  std::ostringstream out;
  Environment env;
  std::string rd = (t.path / "results").string();
  ClusterRun() {
    env.out = &out;
    env.child_stdout_fd = env.child_stderr_fd = -1;
    env.preflight.host = orchtest::roomy_host();
  }
  // The metadata of the only run of `command`, and whether its dir has kv_cache_cluster_info.json.
  std::pair<nlohmann::json, bool> only(const std::string& command) {
    for (const auto& e : std::filesystem::recursive_directory_iterator(rd)) {
      if (!e.path().filename().string().ends_with("_metadata.json")) continue;
      auto md = nlohmann::json::parse(orchtest::slurp(e.path()));
      if (md["command"] == command) {
        return {md, std::filesystem::exists(e.path().parent_path() / "kv_cache_cluster_info.json")};
      }
    }
    ADD_FAILURE() << "no " << command << " metadata";
    return {};
  }
};
}  // namespace

TEST(MpiExecCluster, CollectedForRunCommand) {
  ClusterRun c;
  const auto fake = orchtest::make_fake_engine(c.t.path);
  ASSERT_EQ(run_cli({"mlpstorage", "kvcache", "run", "--exec-type", "docker", "--kvcache-bin-path",
                     fake.string(), "-rd", c.rd, "--duration", "1"},
                    c.env),
            0);
  auto [md, cluster_file] = c.only("run");
  ASSERT_TRUE(md["system_info"].is_object());
  EXPECT_EQ(md["system_info"]["num_hosts"], 1);
  EXPECT_GT(md["system_info"]["total_memory_bytes"].get<std::uint64_t>(), 0u);
  EXPECT_TRUE(cluster_file);
}

TEST(MpiExecCluster, NotCollectedForDatasizeCommand) {
  ClusterRun c;
  ASSERT_EQ(run_cli({"mlpstorage", "kvcache", "datasize", "-rd", c.rd}, c.env), 0);
  auto [md, cluster_file] = c.only("datasize");
  EXPECT_TRUE(md["system_info"].is_null());
  EXPECT_FALSE(cluster_file);
}

// 11./12. num_processes is stored from the arguments, and null when not given.
namespace {
Json metadata_for(const std::vector<std::string>& args, const PlanEnv& env) {
  auto p = parse(args);
  EXPECT_TRUE(p.r.ok()) << p.r.err;
  RunRecord rec;
  rec.status = "success";
  return build_run_metadata(p.inv(), build_run_plan(p.inv(), "20260124_120000", env),
                            Verification{}, rec);
}
}  // namespace

TEST_F(MpiExec, NumProcessesStoredFromArgs) {
  auto md = metadata_for({"kvcache", "run", "--hosts", "a", "b", "-np", "4"}, env);
  EXPECT_EQ(md["num_processes"], 4);
  EXPECT_EQ(md["num_ranks"], 4);
}

TEST_F(MpiExec, NumProcessesNullWhenNotProvided) {
  auto md = metadata_for({"kvcache", "run", "--hosts", "a", "b"}, env);
  ASSERT_TRUE(md.contains("num_processes"));
  EXPECT_TRUE(md["num_processes"].is_null());
  EXPECT_EQ(md["num_ranks"], 2);  // what was launched: one per host
}

// ---- prefix rules ----
TEST(MpiPrefix, EvenSpreadRemainderOnFirstHosts) {
  EXPECT_EQ(host_slots({"a", "b"}, 8, false), (std::vector<std::string>{"a:4", "b:4"}));
  EXPECT_EQ(host_slots({"a", "b", "c"}, 4, false), (std::vector<std::string>{"a:2", "b:1", "c:1"}));
  EXPECT_EQ(host_slots({"a", "b", "c"}, 5, false), (std::vector<std::string>{"a:2", "b:2", "c:1"}));
}

TEST(MpiPrefix, UserSlotsVerbatimAndChecked) {
  EXPECT_EQ(host_slots({"a:2", "b:2"}, 4, false), (std::vector<std::string>{"a:2", "b:2"}));
  EXPECT_EQ(host_slots({"a:3", "b:2"}, 4, false), (std::vector<std::string>{"a:3", "b:2"}));
  try {
    host_slots({"a:1", "b:1"}, 4, false);
    FAIL() << "too few slots accepted";
  } catch (const kv::Error& e) {
    EXPECT_EQ(e.code(), kv::ExitCode::kInvalidArguments);
    EXPECT_NE(std::string(e.what()).find("--num-processes"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("not sufficient"), std::string::npos);
  }
  EXPECT_EQ(host_slots({"a:1", "b:1"}, 4, true), (std::vector<std::string>{"a:1", "b:1"}));
}

TEST(MpiPrefix, FewerProcessesThanHostsAndMixedFormsRejected) {
  EXPECT_THROW(host_slots({"a", "b", "c"}, 2, false), kv::Error);
  EXPECT_THROW(host_slots({"a:1", "b"}, 2, false), kv::Error);
  EXPECT_THROW(host_slots({"a:0"}, 1, false), kv::Error);
}

TEST(MpiPrefix, PlacementByUniqueHostNames) {
  MpiEnv env;
  MpiRequest one;
  one.hosts = {"127.0.0.1"};
  EXPECT_EQ(mpi_prefix(one, env),
            (std::vector<std::string>{"mpirun", "-n", "1", "-host", "127.0.0.1:1", "--bind-to",
                                      "none", "--map-by", "socket"}));
  MpiRequest same;  // the same host twice is still one node
  same.hosts = {"a:1", "a:1"};
  same.num_processes = 2;
  EXPECT_EQ(mpi_prefix(same, env).back(), "socket");
}

TEST(MpiPrefix, EnvironmentOverridesAndParamsLast) {
  MpiEnv env;
  env.run_bin = "/opt/ompi/bin/mpirun";
  env.exec_bin = "/opt/ompi/bin/mpiexec";
  MpiRequest r;
  r.hosts = {"a", "b"};
  r.num_processes = 2;
  r.oversubscribe = true;
  r.allow_run_as_root = true;
  r.params = {"--mca", "btl", "tcp,self"};
  EXPECT_EQ(mpi_prefix(r, env),
            (std::vector<std::string>{"/opt/ompi/bin/mpirun", "-n", "2", "-host", "a:1,b:1",
                                      "--bind-to", "none", "--map-by", "node", "--oversubscribe",
                                      "--allow-run-as-root", "--mca", "btl", "tcp,self"}));
  r.mpi_bin = "mpiexec";
  EXPECT_EQ(mpi_prefix(r, env).front(), "/opt/ompi/bin/mpiexec");
  EXPECT_EQ(launcher_binary("mpirun", MpiEnv{}), "mpirun");
  EXPECT_THROW(launcher_binary("srun", MpiEnv{}), kv::Error);
}

TEST(MpiPrefix, FromProcessReadsEnvironment) {
  orchtest::ScopedEnv a("MPI_RUN_BIN", "/x/mpirun");
  orchtest::ScopedEnv b("MPI_EXEC_BIN", "/y/mpiexec");
  auto e = MpiEnv::from_process();
  EXPECT_EQ(e.run_bin, "/x/mpirun");
  EXPECT_EQ(e.exec_bin, "/y/mpiexec");
}

// ---- engine argv ----
TEST_F(MpiExec, EngineArgvInReferenceOrderWithConditionalFlags) {
  RunPlan plan = plan_for({"kvcache",
                           "run",
                           "--exec-type",
                           "docker",
                           "-rd",
                           "/r",
                           "--model",
                           "tiny-1b",
                           "-nu",
                           "2",
                           "-d",
                           "3",
                           "--gpu-mem-gb",
                           "0",
                           "--cpu-mem-gb",
                           "0.5",
                           "--generation-mode",
                           "none",
                           "--performance-profile",
                           "throughput",
                           "--disable-multi-turn",
                           "--disable-prefix-caching",
                           "--enable-rag",
                           "--rag-num-docs",
                           "4",
                           "--enable-autoscaling",
                           "--autoscaler-mode",
                           "capacity",
                           "--seed",
                           "42",
                           "--max-concurrent-allocs",
                           "16",
                           "--io-engine",
                           "io_uring",
                           "--direct-io",
                           "--io-depth",
                           "32",
                           "--io-chunk-mib",
                           "4",
                           "--gpu-backend",
                           "simulated",
                           "--keep-cache",
                           "--kvcache-params=--storage-capacity-gb 100"});
  const std::string run = "/r/kv_cache/tiny-1b/run/20260124_120000";
  EXPECT_EQ(plan.engine_argv,
            (std::vector<std::string>{engine(),
                                      "--model",
                                      "tiny-1b",
                                      "--num-users",
                                      "2",
                                      "--duration",
                                      "3",
                                      "--gpu-mem-gb",
                                      "0.0",
                                      "--cpu-mem-gb",
                                      "0.5",
                                      "--generation-mode",
                                      "none",
                                      "--performance-profile",
                                      "throughput",
                                      "--cache-dir",
                                      run + "/kvcache_data",
                                      "--output",
                                      run + "/kvcache_results_20260124_120000.json",
                                      "--disable-multi-turn",
                                      "--disable-prefix-caching",
                                      "--enable-rag",
                                      "--rag-num-docs",
                                      "4",
                                      "--enable-autoscaling",
                                      "--autoscaler-mode",
                                      "capacity",
                                      "--seed",
                                      "42",
                                      "--max-concurrent-allocs",
                                      "16",
                                      "--io-engine",
                                      "io_uring",
                                      "--direct-io",
                                      "--io-depth",
                                      "32",
                                      "--io-chunk-mib",
                                      "4",
                                      "--gpu-backend",
                                      "simulated",
                                      "--keep-cache",
                                      "--storage-capacity-gb",
                                      "100"}));
}

TEST_F(MpiExec, DefaultsGiveTheReferenceCommand) {
  RunPlan plan = plan_for({"kvcache", "run", "-rd", "/r"});
  const std::string run = "/r/kv_cache/llama3.1-8b/run/20260124_120000";
  EXPECT_EQ(plan.command_line(),
            "mpirun -n 1 -host 127.0.0.1:1 --bind-to none --map-by socket " + engine() +
                " --model llama3.1-8b --num-users 100 --duration 60 --gpu-mem-gb 16.0"
                " --cpu-mem-gb 32.0 --generation-mode realistic --performance-profile latency"
                " --cache-dir " +
                run + "/kvcache_data --output " + run + "/kvcache_results_20260124_120000.json");
  EXPECT_EQ(plan.stdout_log, run + "/kvcache_20260124_120000.stdout.log");
  EXPECT_EQ(plan.stderr_log, run + "/kvcache_20260124_120000.stderr.log");
  EXPECT_EQ(plan.metadata_file, run + "/kv_cache_20260124_120000_metadata.json");
  EXPECT_EQ(plan.cluster_info_file, run + "/kv_cache_cluster_info.json");
}

TEST_F(MpiExec, UserCacheDirIsUsedAndRagDocsOnlyWithRag) {
  RunPlan plan = plan_for({"kvcache", "run", "--cache-dir", "/mnt/nvme/kv", "--rag-num-docs", "4",
                           "--autoscaler-mode", "capacity"});
  EXPECT_FALSE(plan.cache_dir_default);
  const std::string cmd = plan.command_line();
  EXPECT_NE(cmd.find("--cache-dir /mnt/nvme/kv "), std::string::npos);
  EXPECT_EQ(cmd.find("--rag-num-docs"), std::string::npos);
  EXPECT_EQ(cmd.find("--autoscaler-mode"), std::string::npos);
  EXPECT_EQ(cmd.find("--seed"), std::string::npos);
}

TEST_F(MpiExec, EngineResolution) {
  bool found = false;
  KvcacheOptions kv;
  EXPECT_EQ(resolve_engine(kv, env, &found), tmp.path / "bin" / "kv-cache");
  EXPECT_TRUE(found);
  kv.kvcache_bin_path = (tmp.path / "nope").string();
  resolve_engine(kv, env, &found);
  EXPECT_FALSE(found);
  PlanEnv empty;
  empty.self_dir = tmp.path / "elsewhere";
  empty.path_env = (tmp.path / "bin").string();
  EXPECT_EQ(resolve_engine(KvcacheOptions{}, empty, &found),
            tmp.path / "bin" / "kv-cache");  // via PATH
  EXPECT_TRUE(found);
}

TEST(Plan, FloatsLikePythonStr) {
  EXPECT_EQ(format_float(16.0), "16.0");
  EXPECT_EQ(format_float(0.0), "0.0");
  EXPECT_EQ(format_float(0.5), "0.5");
  EXPECT_EQ(format_float(2.25), "2.25");
  EXPECT_EQ(format_float(1e-05), "1e-05");
}

TEST(Plan, RunDirLayoutAndUnsafeComponents) {
  EXPECT_EQ(run_dir_for("/res", "tiny-1b", "run", "20260101_000000"),
            "/res/kv_cache/tiny-1b/run/20260101_000000");
  EXPECT_THROW(run_dir_for("/res", "../x", "run", "20260101_000000"), kv::Error);
  EXPECT_THROW(run_dir_for("/res", "..", "run", "20260101_000000"), kv::Error);
  EXPECT_THROW(run_dir_for("/res", "", "run", "20260101_000000"), kv::Error);
  const std::string dt = datetime_now();
  ASSERT_EQ(dt.size(), 15u);
  EXPECT_EQ(dt[8], '_');
}
