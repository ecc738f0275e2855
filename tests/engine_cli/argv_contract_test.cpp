// The contract between mlpstorage and kv-cache (src/engine_cli/flags.hpp): for a matrix of
// `mlpstorage kvcache run` options, the engine argv the orchestrator builds parses with the
// engine's own parser without an error, uses only the engine's exact flag names, and every value
// arrives as given. And a value mlpstorage accepts for a forwarded flag is one the engine accepts:
// both refuse just outside the engine's limits.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/error.hpp"
#include "engine/config/flags.hpp"
#include "engine_cli/flags.hpp"
#include "model/model.hpp"
#include "orchestrator/cli.hpp"
#include "orchestrator/plan.hpp"
#include "support/temp_dir.hpp"

namespace ec = kv::engine_cli;
namespace eng = kv::engine;
namespace orch = kv::orchestrator;

namespace {

struct Built {
  orch::ParseResult parsed;
  orch::Invocation inv;
  orch::RunPlan plan;
};

// `mlpstorage kvcache run <args> --results-dir <dir>` through the real CLI and run plan.
Built build(const std::vector<std::string>& args, const std::string& results_dir) {
  orch::Cli cli;
  std::vector<std::string> v{"mlpstorage", "kvcache", "run"};
  v.insert(v.end(), args.begin(), args.end());
  v.insert(v.end(), {"--results-dir", results_dir});
  Built b;
  b.parsed = cli.parse(v);
  b.inv = cli.invocation();
  if (b.parsed.ok()) b.plan = orch::build_run_plan(b.inv, "20260124_120000", orch::PlanEnv{});
  return b;
}

eng::EngineConfig engine_parse(const std::vector<std::string>& argv) {
  std::vector<const char*> p;
  for (const auto& a : argv) p.push_back(a.c_str());
  return eng::parse_flags(static_cast<int>(p.size()), p.data()).config;
}

// Every option name in the argv is an engine flag by its exact name (no reliance on the engine's
// prefix matching, which would hide a renamed flag).
void expect_exact_flag_names(const std::vector<std::string>& argv) {
  for (std::size_t i = 1; i < argv.size(); ++i) {
    if (argv[i].rfind("--", 0) != 0) continue;
    EXPECT_NE(eng::find_flag(argv[i]), nullptr) << argv[i] << " is not an engine flag";
  }
}

// The engine's config holds what mlpstorage was given.
void expect_round_trip(const orch::KvcacheOptions& kv, const orch::RunPlan& plan,
                       const eng::EngineConfig& c) {
  EXPECT_EQ(c.model, kv.model);
  EXPECT_EQ(c.num_users, kv.num_users);
  EXPECT_EQ(c.duration, kv.duration);
  EXPECT_DOUBLE_EQ(c.gpu_mem_gb, kv.gpu_mem_gb);
  EXPECT_DOUBLE_EQ(c.cpu_mem_gb, kv.cpu_mem_gb);
  EXPECT_EQ(eng::to_text(c.generation_mode), kv.generation_mode);
  EXPECT_EQ(eng::to_text(c.performance_profile), kv.performance_profile);
  EXPECT_EQ(c.cache_dir, plan.cache_dir.string());
  EXPECT_EQ(c.output, plan.results_json.string());
  EXPECT_EQ(c.disable_multi_turn, kv.disable_multi_turn);
  EXPECT_EQ(c.disable_prefix_caching, kv.disable_prefix_caching);
  EXPECT_EQ(c.enable_rag, kv.enable_rag);
  if (kv.enable_rag) {
    EXPECT_EQ(c.rag_num_docs, kv.rag_num_docs);
  }
  EXPECT_EQ(c.enable_autoscaling, kv.enable_autoscaling);
  if (kv.enable_autoscaling) {
    EXPECT_EQ(eng::to_text(c.autoscaler_mode), kv.autoscaler_mode);
  }
  EXPECT_EQ(c.seed, kv.seed);
  EXPECT_EQ(c.max_concurrent_allocs, kv.max_concurrent_allocs.value_or(0));
  EXPECT_EQ(eng::to_text(c.io_engine),
            kv.io_engine.empty() ? ec::kIoEngine.default_text : kv.io_engine);
  EXPECT_EQ(c.direct_io, kv.direct_io);
  if (kv.io_depth) {
    EXPECT_EQ(c.io_depth, *kv.io_depth);
  }
  if (kv.io_chunk_mib) {
    EXPECT_EQ(c.io_chunk_mib, *kv.io_chunk_mib);
  }
  EXPECT_EQ(eng::to_text(c.gpu_backend),
            kv.gpu_backend.empty() ? ec::kGpuBackend.default_text : kv.gpu_backend);
  EXPECT_EQ(c.keep_cache, kv.keep_cache);
}

std::vector<std::vector<std::string>> option_matrix() {
  std::vector<std::vector<std::string>> m = {
      {},
      {"--num-users", "1", "--duration", "1", "--gpu-mem-gb", "0", "--cpu-mem-gb", "0"},
      {"-nu", "100000", "--duration", "86400", "--gpu-mem-gb", "65536", "--cpu-mem-gb", "131072"},
      {"--gpu-mem-gb", "0.5", "--cpu-mem-gb", "2.25", "--seed", "42"},
      {"--seed", "0", "--max-concurrent-allocs", "0"},
      {"--max-concurrent-allocs", "8", "--disable-multi-turn", "--disable-prefix-caching"},
      {"--enable-rag", "--rag-num-docs", "0"},
      {"--enable-rag", "--rag-num-docs", "25", "--keep-cache"},
      {"--direct-io", "--io-depth", "1", "--io-chunk-mib", "1"},
      {"--io-depth", "4096", "--io-chunk-mib", "512"},
      // --io-chunk-mib above the engine's default in-flight budget needs a bigger budget too.
      {"--io-chunk-mib", "1024", "--kvcache-params=--max-inflight-mib 1024"},
  };
  for (auto t : ec::kGenerationMode.choices) m.push_back({"--generation-mode", std::string(t)});
  for (auto t : ec::kPerformanceProfile.choices)
    m.push_back({"--performance-profile", std::string(t)});
  for (auto t : ec::kAutoscalerMode.choices)
    m.push_back({"--enable-autoscaling", "--autoscaler-mode", std::string(t)});
  for (auto t : ec::kIoEngine.choices) m.push_back({"--io-engine", std::string(t)});
  for (auto t : ec::kGpuBackend.choices) m.push_back({"--gpu-backend", std::string(t)});
  for (const auto& key : kv::model::ModelTable::builtin().keys()) m.push_back({"--model", key});
  return m;
}

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += x + " ";
  return s;
}

}  // namespace

TEST(EngineArgvContract, EveryRunOptionMatrixEntryParsesWithTheEnginesParser) {
  kv::testsupport::TempDir tmp("argv_contract");
  const auto matrix = option_matrix();
  ASSERT_GT(matrix.size(), 20u);
  for (const auto& args : matrix) {
    SCOPED_TRACE(joined(args));
    const Built b = build(args, tmp.path.string());
    ASSERT_TRUE(b.parsed.ok()) << b.parsed.err;
    expect_exact_flag_names(b.plan.engine_argv);
    eng::EngineConfig c;
    try {
      c = engine_parse(b.plan.engine_argv);
    } catch (const kv::Error& e) {
      ADD_FAILURE() << "the engine refused mlpstorage's argv " << joined(b.plan.engine_argv) << ": "
                    << e.what();
      continue;
    }
    expect_round_trip(b.inv.kv, b.plan, c);
  }
}

// mlpstorage checks a forwarded value against the engine's limits: at the limit both accept, one
// step outside mlpstorage already refuses it (exit 2, naming the flag and the engine's limit).
TEST(EngineArgvContract, MlpstorageRefusesWhatTheEngineWouldRefuse) {
  kv::testsupport::TempDir tmp("argv_contract");
  struct Case {
    const ec::Flag& flag;
    std::string outside;
  };
  const Case cases[] = {
      {ec::kNumUsers, "0"},     {ec::kNumUsers, "100001"},       {ec::kDuration, "0"},
      {ec::kDuration, "86401"}, {ec::kGpuMemGb, "-1"},           {ec::kGpuMemGb, "65537"},
      {ec::kCpuMemGb, "-0.5"},  {ec::kCpuMemGb, "131073"},       {ec::kIoDepth, "0"},
      {ec::kIoDepth, "4097"},   {ec::kIoChunkMib, "0"},          {ec::kIoChunkMib, "1025"},
      {ec::kRagNumDocs, "-1"},  {ec::kMaxConcurrentAllocs, "-1"}};
  for (const auto& c : cases) {
    const std::string name(c.flag.name);
    SCOPED_TRACE(name + " " + c.outside);
    const Built b = build({name, c.outside}, tmp.path.string());
    EXPECT_FALSE(b.parsed.ok());
    EXPECT_EQ(b.parsed.exit_code, 2);
    EXPECT_NE(b.parsed.err.find(name), std::string::npos) << b.parsed.err;
    EXPECT_NE(b.parsed.err.find(ec::range_text(c.flag)), std::string::npos) << b.parsed.err;
    EXPECT_THROW(engine_parse({"kv-cache", name, c.outside}), kv::Error);
  }
  for (const auto& f :
       {ec::kGenerationMode, ec::kPerformanceProfile, ec::kIoEngine, ec::kGpuBackend}) {
    const Built b = build({std::string(f.name), "bogus"}, tmp.path.string());
    EXPECT_FALSE(b.parsed.ok()) << f.name;
    EXPECT_THROW(engine_parse({"kv-cache", std::string(f.name), "bogus"}), kv::Error) << f.name;
  }
}
