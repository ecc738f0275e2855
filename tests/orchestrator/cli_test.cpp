// The reference's 38 CLI cases (sub-commands, model, cache, run, distributed, MPI,
// datasize without distributed arguments, optional features), plus the universal flags, the
// reference's two-letter short forms, --config-file conversion and the help/usage exit codes.
#include <gtest/gtest.h>

#include <algorithm>

#include "core/error.hpp"
#include "model/model.hpp"
#include "test_util.hpp"

using orchtest::parse;

namespace {

bool has_option(CLI::App* sub, const std::string& name) {
  return sub->get_option_no_throw(name) != nullptr;
}

}  // namespace

// ---- TestKVCacheSubcommands (2) ----
TEST(KVCacheSubcommands, RunParses) {
  auto p = parse({"kvcache", "run"});
  ASSERT_TRUE(p.r.ok()) << p.r.err;
  EXPECT_EQ(p.inv().program, "kvcache");
  EXPECT_EQ(p.inv().command, "run");
}

TEST(KVCacheSubcommands, DatasizeParses) {
  auto p = parse({"kvcache", "datasize"});
  ASSERT_TRUE(p.r.ok()) << p.r.err;
  EXPECT_EQ(p.inv().command, "datasize");
}

// ---- TestKVCacheModelArguments (4) ----
TEST(KVCacheModelArguments, DefaultModelIsLlama31_8b) {
  auto p = parse({"kvcache", "run"});
  EXPECT_EQ(p.inv().kv.model, "llama3.1-8b");
}

TEST(KVCacheModelArguments, EveryModelOfTheTableIsAccepted) {
  for (const auto& key : kv::model::ModelTable::builtin().keys()) {
    for (const char* flag : {"--model", "-m"}) {
      auto p = parse({"kvcache", "run", flag, key});
      ASSERT_TRUE(p.r.ok()) << key << ": " << p.r.err;
      EXPECT_EQ(p.inv().kv.model, key);
    }
  }
}

TEST(KVCacheModelArguments, UnknownModelIsAUsageErrorNamingTheFlag) {
  auto p = parse({"kvcache", "run", "--model", "gpt-17"});
  EXPECT_FALSE(p.r.ok());
  EXPECT_EQ(p.r.exit_code, 2);
  EXPECT_NE(p.r.err.find("--model"), std::string::npos) << p.r.err;
}

TEST(KVCacheModelArguments, NumUsersDefaultLongAndShort) {
  EXPECT_EQ(parse({"kvcache", "run"}).inv().kv.num_users, 100);
  EXPECT_EQ(parse({"kvcache", "run", "--num-users", "7"}).inv().kv.num_users, 7);
  EXPECT_EQ(parse({"kvcache", "datasize", "-nu", "9"}).inv().kv.num_users, 9);
  EXPECT_EQ(parse({"kvcache", "run", "-nu=11"}).inv().kv.num_users, 11);
  auto bad = parse({"kvcache", "run", "--num-users", "0"});
  EXPECT_EQ(bad.r.exit_code, 2);
  EXPECT_NE(bad.r.err.find("--num-users"), std::string::npos);
}

// ---- TestKVCacheCacheArguments (3) ----
TEST(KVCacheCacheArguments, GpuMemDefaultAndCustom) {
  EXPECT_DOUBLE_EQ(parse({"kvcache", "run"}).inv().kv.gpu_mem_gb, 16.0);
  EXPECT_DOUBLE_EQ(parse({"kvcache", "run", "--gpu-mem-gb", "0"}).inv().kv.gpu_mem_gb, 0.0);
  EXPECT_DOUBLE_EQ(parse({"kvcache", "datasize", "--gpu-mem-gb", "2.5"}).inv().kv.gpu_mem_gb, 2.5);
}

TEST(KVCacheCacheArguments, CpuMemDefaultAndCustom) {
  EXPECT_DOUBLE_EQ(parse({"kvcache", "run"}).inv().kv.cpu_mem_gb, 32.0);
  EXPECT_DOUBLE_EQ(parse({"kvcache", "run", "--cpu-mem-gb", "4"}).inv().kv.cpu_mem_gb, 4.0);
  EXPECT_EQ(parse({"kvcache", "run", "--cpu-mem-gb", "-1"}).r.exit_code, 2);
}

TEST(KVCacheCacheArguments, CacheDirDefaultEmptyAndCustom) {
  EXPECT_TRUE(parse({"kvcache", "run"}).inv().kv.cache_dir.empty());
  EXPECT_EQ(parse({"kvcache", "run", "--cache-dir", "/mnt/nvme"}).inv().kv.cache_dir, "/mnt/nvme");
  EXPECT_EQ(parse({"kvcache", "datasize", "--cache-dir", "/x"}).inv().kv.cache_dir, "/x");
}

// ---- TestKVCacheRunArguments (4) ----
TEST(KVCacheRunArguments, DurationDefaultLongAndShort) {
  EXPECT_EQ(parse({"kvcache", "run"}).inv().kv.duration, 60);
  EXPECT_EQ(parse({"kvcache", "run", "--duration", "300"}).inv().kv.duration, 300);
  EXPECT_EQ(parse({"kvcache", "run", "-d", "5"}).inv().kv.duration, 5);
}

TEST(KVCacheRunArguments, GenerationModeChoices) {
  EXPECT_EQ(parse({"kvcache", "run"}).inv().kv.generation_mode, "realistic");
  for (const char* m : {"none", "fast", "realistic"}) {
    EXPECT_EQ(parse({"kvcache", "run", "--generation-mode", m}).inv().kv.generation_mode, m);
  }
  EXPECT_EQ(parse({"kvcache", "run", "--generation-mode", "slow"}).r.exit_code, 2);
}

TEST(KVCacheRunArguments, PerformanceProfileChoices) {
  EXPECT_EQ(parse({"kvcache", "run"}).inv().kv.performance_profile, "latency");
  EXPECT_EQ(
      parse({"kvcache", "run", "--performance-profile", "throughput"}).inv().kv.performance_profile,
      "throughput");
  EXPECT_EQ(parse({"kvcache", "run", "--performance-profile", "fast"}).r.exit_code, 2);
}

TEST(KVCacheRunArguments, SeedAndBinPathOptional) {
  auto d = parse({"kvcache", "run"});
  EXPECT_FALSE(d.inv().kv.seed.has_value());
  EXPECT_TRUE(d.inv().kv.kvcache_bin_path.empty());
  auto p = parse({"kvcache", "run", "--seed", "42", "--kvcache-bin-path", "/opt/kv-cache"});
  ASSERT_TRUE(p.inv().kv.seed.has_value());
  EXPECT_EQ(*p.inv().kv.seed, 42);
  EXPECT_EQ(p.inv().kv.kvcache_bin_path, "/opt/kv-cache");
}

// ---- TestKVCacheDistributedArguments (10) ----
TEST(KVCacheDistributedArguments, HostsDefaultIsLocalhost) {
  EXPECT_EQ(parse({"kvcache", "run"}).inv().kv.hosts, std::vector<std::string>{"127.0.0.1"});
}

TEST(KVCacheDistributedArguments, HostsSpaceSeparated) {
  auto p = parse({"kvcache", "run", "--hosts", "host1", "host2", "host3"});
  EXPECT_EQ(p.inv().kv.hosts, (std::vector<std::string>{"host1", "host2", "host3"}));
}

TEST(KVCacheDistributedArguments, HostsCommaSeparated) {
  auto p = parse({"kvcache", "run", "--hosts", "host1,host2"});
  EXPECT_EQ(p.inv().kv.hosts, (std::vector<std::string>{"host1", "host2"}));
}

TEST(KVCacheDistributedArguments, HostsShortFormAndSlots) {
  auto p = parse({"kvcache", "run", "-s", "a:2", "b:2"});
  EXPECT_EQ(p.inv().kv.hosts, (std::vector<std::string>{"a:2", "b:2"}));
}

TEST(KVCacheDistributedArguments, ExecTypeDefaultMpi) {
  EXPECT_EQ(parse({"kvcache", "run"}).inv().kv.exec_type, "mpi");
}

TEST(KVCacheDistributedArguments, ExecTypeDocker) {
  EXPECT_EQ(parse({"kvcache", "run", "--exec-type", "docker"}).inv().kv.exec_type, "docker");
}

TEST(KVCacheDistributedArguments, ExecTypeShortForm) {
  EXPECT_EQ(parse({"kvcache", "run", "-et", "docker"}).inv().kv.exec_type, "docker");
}

TEST(KVCacheDistributedArguments, ExecTypeInvalidRejected) {
  auto p = parse({"kvcache", "run", "--exec-type", "slurm"});
  EXPECT_EQ(p.r.exit_code, 2);
  EXPECT_NE(p.r.err.find("--exec-type"), std::string::npos) << p.r.err;
}

TEST(KVCacheDistributedArguments, NumProcessesLongAndShort) {
  EXPECT_EQ(parse({"kvcache", "run", "--num-processes", "8"}).inv().kv.num_processes, 8);
  EXPECT_EQ(parse({"kvcache", "run", "-np", "4"}).inv().kv.num_processes, 4);
  EXPECT_EQ(parse({"kvcache", "run", "-np", "0"}).r.exit_code, 2);
}

TEST(KVCacheDistributedArguments, NumProcessesDefaultsToNone) {
  EXPECT_FALSE(parse({"kvcache", "run"}).inv().kv.num_processes.has_value());
}

// ---- TestKVCacheMPIArguments (5) ----
TEST(KVCacheMPIArguments, MpiBinDefaultMpirun) {
  EXPECT_EQ(parse({"kvcache", "run"}).inv().kv.mpi_bin, "mpirun");
}

TEST(KVCacheMPIArguments, MpiBinMpiexecAndInvalid) {
  EXPECT_EQ(parse({"kvcache", "run", "--mpi-bin", "mpiexec"}).inv().kv.mpi_bin, "mpiexec");
  EXPECT_EQ(parse({"kvcache", "run", "--mpi-bin", "srun"}).r.exit_code, 2);
}

TEST(KVCacheMPIArguments, Oversubscribe) {
  EXPECT_FALSE(parse({"kvcache", "run"}).inv().kv.oversubscribe);
  EXPECT_TRUE(parse({"kvcache", "run", "--oversubscribe"}).inv().kv.oversubscribe);
}

TEST(KVCacheMPIArguments, AllowRunAsRoot) {
  EXPECT_FALSE(parse({"kvcache", "run"}).inv().kv.allow_run_as_root);
  EXPECT_TRUE(parse({"kvcache", "run", "--allow-run-as-root"}).inv().kv.allow_run_as_root);
}

TEST(KVCacheMPIArguments, MpiParamsRepeatedAreFlattenedIntoTokens) {
  auto p = parse(
      {"kvcache", "run", "--mpi-params", "--mca btl tcp,self", "--mpi-params", "-x", "FOO=1"});
  ASSERT_TRUE(p.r.ok()) << p.r.err;
  EXPECT_EQ(p.inv().kv.mpi_params,
            (std::vector<std::string>{"--mca", "btl", "tcp,self", "-x", "FOO=1"}));
  EXPECT_TRUE(parse({"kvcache", "run"}).inv().kv.mpi_params.empty());
}

// ---- TestKVCacheDatasizeNoDistributedArgs (5) ----
class DatasizeLacks : public ::testing::TestWithParam<std::string> {};

TEST_P(DatasizeLacks, OptionAbsentOnDatasizeButPresentOnRun) {
  orchtest::Parsed p;
  EXPECT_FALSE(has_option(p.cli->kvcache_datasize(), GetParam()));
  EXPECT_TRUE(has_option(p.cli->kvcache_run(), GetParam()));
  auto r = parse({"kvcache", "datasize", GetParam()});
  EXPECT_EQ(r.r.exit_code, 2) << GetParam();
}

INSTANTIATE_TEST_SUITE_P(Distributed, DatasizeLacks,
                         ::testing::Values("--hosts", "--exec-type", "--num-processes", "--mpi-bin",
                                           "--oversubscribe", "--allow-run-as-root",
                                           "--mpi-params"),
                         [](const auto& info) {
                           std::string s = info.param.substr(2);
                           std::replace(s.begin(), s.end(), '-', '_');
                           return s;
                         });

TEST(KVCacheDatasizeNoDistributedArgs, NoRunOnlyWorkloadFlags) {
  orchtest::Parsed p;
  for (const char* o : {"--duration", "--generation-mode", "--performance-profile", "--seed",
                        "--kvcache-bin-path"}) {
    EXPECT_FALSE(has_option(p.cli->kvcache_datasize(), o)) << o;
  }
}

// ---- TestKVCacheOptionalFeatures (5) ----
TEST(KVCacheOptionalFeatures, DefaultsAreOff) {
  const auto k = parse({"kvcache", "run"}).inv().kv;
  EXPECT_FALSE(k.disable_multi_turn);
  EXPECT_FALSE(k.disable_prefix_caching);
  EXPECT_FALSE(k.enable_rag);
  EXPECT_EQ(k.rag_num_docs, 10);
  EXPECT_FALSE(k.enable_autoscaling);
  EXPECT_EQ(k.autoscaler_mode, "qos");
}

TEST(KVCacheOptionalFeatures, DisableMultiTurn) {
  EXPECT_TRUE(parse({"kvcache", "run", "--disable-multi-turn"}).inv().kv.disable_multi_turn);
}

TEST(KVCacheOptionalFeatures, DisablePrefixCaching) {
  EXPECT_TRUE(
      parse({"kvcache", "run", "--disable-prefix-caching"}).inv().kv.disable_prefix_caching);
}

TEST(KVCacheOptionalFeatures, RagWithDocs) {
  const auto k = parse({"kvcache", "run", "--enable-rag", "--rag-num-docs", "25"}).inv().kv;
  EXPECT_TRUE(k.enable_rag);
  EXPECT_EQ(k.rag_num_docs, 25);
}

TEST(KVCacheOptionalFeatures, AutoscalingModesAreTheEngines) {
  const auto k =
      parse({"kvcache", "run", "--enable-autoscaling", "--autoscaler-mode", "capacity"}).inv().kv;
  EXPECT_TRUE(k.enable_autoscaling);
  EXPECT_EQ(k.autoscaler_mode, "capacity");
  // The reference offered "predictive", which the engine rejects.
  EXPECT_EQ(parse({"kvcache", "run", "--autoscaler-mode", "predictive"}).r.exit_code, 2);
}

// ---- universal flags, help and usage behaviour ----
TEST(Universal, NoArgumentsPrintsHelpToStderrExit1) {
  auto p = parse({});
  EXPECT_FALSE(p.r.ok());
  EXPECT_EQ(p.r.exit_code, 1);
  EXPECT_NE(p.r.err.find("kvcache"), std::string::npos);
  EXPECT_NE(p.r.err.find("history"), std::string::npos);
}

TEST(Universal, ProgramWithoutCommandPrintsItsHelpExit1) {
  auto k = parse({"kvcache"});
  EXPECT_EQ(k.r.exit_code, 1);
  EXPECT_NE(k.r.err.find("datasize"), std::string::npos) << k.r.err;
  auto h = parse({"history"});
  EXPECT_EQ(h.r.exit_code, 1);
  EXPECT_NE(h.r.err.find("rerun"), std::string::npos) << h.r.err;
}

TEST(Universal, HelpExitsZeroWithGroups) {
  auto p = parse({"kvcache", "run", "--help"});
  EXPECT_FALSE(p.r.ok());
  EXPECT_EQ(p.r.exit_code, 0);
  for (const char* g : {"Model Configuration", "Cache Configuration", "Run Configuration",
                        "Optional Features", "Distributed Execution", "MPI", "Standard Arguments",
                        "Output Control", "View Only", "Validation"}) {
    EXPECT_NE(p.r.out.find(g), std::string::npos) << g;
  }
}

TEST(Universal, UnknownFlagExit2NamesIt) {
  auto p = parse({"kvcache", "run", "--no-such-flag"});
  EXPECT_EQ(p.r.exit_code, 2);
  EXPECT_NE(p.r.err.find("--no-such-flag"), std::string::npos);
}

TEST(Universal, DefaultsAndShortForms) {
  auto d = parse({"kvcache", "run"});
  EXPECT_EQ(d.inv().uni.loops, 1);
  EXPECT_FALSE(d.inv().uni.results_dir_given);
  EXPECT_NE(d.inv().uni.results_dir.find("mlperf_storage_results"), std::string::npos);
  EXPECT_EQ(d.inv().uni.stream_log_level, "INFO");
  auto p = parse({"kvcache", "run", "-rd", "/tmp/r", "-aip", "--loops", "3", "--what-if", "--debug",
                  "--verbose", "--stream-log-level", "debug"});
  ASSERT_TRUE(p.r.ok()) << p.r.err;
  EXPECT_EQ(p.inv().uni.results_dir, "/tmp/r");
  EXPECT_TRUE(p.inv().uni.results_dir_given);
  EXPECT_TRUE(p.inv().uni.allow_invalid_params);
  EXPECT_EQ(p.inv().uni.loops, 3);
  EXPECT_TRUE(p.inv().uni.what_if);
  EXPECT_EQ(p.inv().uni.stream_log_level, "DEBUG");
}

TEST(Universal, OpenAndClosedAreMutuallyExclusive) {
  EXPECT_TRUE(parse({"kvcache", "run", "--open"}).inv().uni.open);
  EXPECT_TRUE(parse({"kvcache", "run", "--closed"}).inv().uni.closed);
  EXPECT_EQ(parse({"kvcache", "run", "--open", "--closed"}).r.exit_code, 2);
}

TEST(Universal, RelativeResultsDirBecomesAbsolute) {
  auto p = parse({"kvcache", "run", "--results-dir", "rel/dir"});
  EXPECT_TRUE(std::filesystem::path(p.inv().uni.results_dir).is_absolute());
}

TEST(Hosts, MixedFormsAndZeroSlotsAreUsageErrors) {
  auto mixed = parse({"kvcache", "run", "--hosts", "a:2", "b"});
  EXPECT_EQ(mixed.r.exit_code, 2);
  EXPECT_NE(mixed.r.err.find("--hosts"), std::string::npos);
  EXPECT_EQ(parse({"kvcache", "run", "--hosts", "a:0"}).r.exit_code, 2);
  EXPECT_EQ(parse({"kvcache", "run", "--hosts", "a:x"}).r.exit_code, 2);
  // An empty host list is allowed: it means "no launcher".
  EXPECT_TRUE(parse({"kvcache", "run", "--hosts", ""}).inv().kv.hosts.empty());
}

TEST(History, SubcommandsParse) {
  auto l = parse(
      {"history", "list", "-b", "kvcache", "-m", "tiny-1b", "--status", "success", "-n", "5"});
  ASSERT_TRUE(l.r.ok()) << l.r.err;
  EXPECT_EQ(l.inv().hist.benchmark, "kvcache");
  EXPECT_EQ(l.inv().hist.limit, 5);
  auto s = parse({"history", "show", "-i", "3"});
  ASSERT_TRUE(s.inv().hist.id.has_value());
  EXPECT_EQ(*s.inv().hist.id, 3);
  EXPECT_FALSE(parse({"history", "show", "-n", "2"}).inv().hist.id.has_value());
  EXPECT_EQ(parse({"history", "rerun", "7"}).inv().hist.rerun_id, 7);
  EXPECT_EQ(parse({"history", "rerun"}).r.exit_code, 2);
  EXPECT_EQ(parse({"history", "import", "/a", "/b"}).inv().hist.import_paths,
            (std::vector<std::string>{"/a", "/b"}));
}

// ---- --config-file ----
TEST(ConfigFile, ValuesAreConvertedThroughEachFlagsType) {
  orchtest::TempDir t;
  const auto cfg = t.path / "c.yaml";
  orchtest::write_file(cfg,
                       "num_users: 42\n"
                       "gpu_mem_gb: 0\n"
                       "exec_type: docker\n"
                       "hosts: h1,h2\n"
                       "oversubscribe: true\n"
                       "mpi_params: ['--mca btl self']\n"
                       "seed: 7\n"
                       "duration: ~\n"
                       "no_such_key: 1\n");
  auto p = parse({"kvcache", "run", "--num-users", "5", "-c", cfg.string()});
  ASSERT_TRUE(p.r.ok()) << p.r.err;
  const auto& k = p.inv().kv;
  EXPECT_EQ(k.num_users, 42);  // YAML overrides the command line, as in the reference
  EXPECT_DOUBLE_EQ(k.gpu_mem_gb, 0.0);
  EXPECT_EQ(k.exec_type, "docker");
  EXPECT_EQ(k.hosts, (std::vector<std::string>{"h1", "h2"}));
  EXPECT_TRUE(k.oversubscribe);
  EXPECT_EQ(k.mpi_params, (std::vector<std::string>{"--mca", "btl", "self"}));
  ASSERT_TRUE(k.seed.has_value());
  EXPECT_EQ(*k.seed, 7);
  EXPECT_EQ(k.duration, 60);  // null is skipped
  ASSERT_EQ(p.r.warnings.size(), 1u);
  EXPECT_NE(p.r.warnings[0].find("no_such_key"), std::string::npos);
}

TEST(ConfigFile, BadValueOrMissingFileIsUsageErrorOrNotFound) {
  orchtest::TempDir t;
  orchtest::write_file(t.path / "bad.yaml", "exec_type: slurm\n");
  auto bad = parse({"kvcache", "run", "-c", (t.path / "bad.yaml").string()});
  EXPECT_EQ(bad.r.exit_code, 2);
  EXPECT_NE(bad.r.err.find("--exec-type"), std::string::npos) << bad.r.err;
  orchtest::write_file(t.path / "users.yaml", "num_users: lots\n");
  EXPECT_EQ(parse({"kvcache", "run", "-c", (t.path / "users.yaml").string()}).r.exit_code, 2);
  auto missing = parse({"kvcache", "run", "-c", (t.path / "none.yaml").string()});
  EXPECT_EQ(missing.r.exit_code, 3);  // README: 3 = file not found
  EXPECT_NE(missing.r.err.find("--config-file"), std::string::npos);
  // A directory (used to abort) and an endless file are refused, naming the flag.
  auto dir = parse({"kvcache", "run", "-c", t.path.string()});
  EXPECT_EQ(dir.r.exit_code, 2);
  EXPECT_NE(dir.r.err.find("--config-file"), std::string::npos) << dir.r.err;
  auto zero = parse({"kvcache", "run", "-c", "/dev/zero"});
  EXPECT_EQ(zero.r.exit_code, 2);
  EXPECT_NE(zero.r.err.find("--config-file"), std::string::npos) << zero.r.err;
  orchtest::write_file(t.path / "syntax.yaml", "a: [1, 2\n");
  EXPECT_EQ(parse({"kvcache", "run", "-c", (t.path / "syntax.yaml").string()}).r.exit_code, 2);
}

TEST(ConfigFile, DatasizeIgnoresRunOnlyKeysWithAWarning) {
  orchtest::TempDir t;
  orchtest::write_file(t.path / "c.yaml", "hosts: a\nmodel: tiny-1b\n");
  auto p = parse({"kvcache", "datasize", "-c", (t.path / "c.yaml").string()});
  ASSERT_TRUE(p.r.ok()) << p.r.err;
  EXPECT_EQ(p.inv().kv.model, "tiny-1b");
  ASSERT_EQ(p.r.warnings.size(), 1u);
  EXPECT_NE(p.r.warnings[0].find("hosts"), std::string::npos);
}

TEST(Argv, NormaliseMapsTwoLetterShortsOnly) {
  using kv::orchestrator::normalise_argv;
  EXPECT_EQ(normalise_argv({"m", "-rd", "x", "-np=3", "-m", "tiny-1b", "-aip"}),
            (std::vector<std::string>{"m", "--results-dir", "x", "--num-processes=3", "-m",
                                      "tiny-1b", "--allow-invalid-params"}));
  EXPECT_EQ(normalise_argv({"m", "--mpi-params", "-x", "A=1"}),
            (std::vector<std::string>{"m", "--mpi-params=-x", "A=1"}));
}

TEST(Argv, ShellSplitHonoursQuotes) {
  using kv::orchestrator::shell_split;
  EXPECT_EQ(shell_split("a 'b c' \"d e\" f\\ g", "--x"),
            (std::vector<std::string>{"a", "b c", "d e", "f g"}));
  EXPECT_TRUE(shell_split("   ", "--x").empty());
  EXPECT_THROW(shell_split("'open", "--x"), kv::Error);
}
