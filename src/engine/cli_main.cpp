#include "engine/cli_main.hpp"

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "core/error.hpp"
#include "core/log.hpp"
#include "dist/context.hpp"
#include "engine/config/flags.hpp"
#include "engine/config/yaml_config.hpp"
#include "engine/mpi/distributed_run.hpp"
#include "engine/run/run.hpp"
#include "engine/run/storage.hpp"
#include "model/model.hpp"

namespace kv::engine {

namespace {

// `rank`: this process's part of a multi-rank MPI run, or null.
int run_cli(int argc, char** argv, mpi::DistributedRun* rank) {
  ParseResult parsed = parse_flags(argc, argv);
  if (parsed.exit_now) return *parsed.exit_now;
  EngineConfig& cfg = parsed.config;
  log::set_program("kv-cache");
  log::set_level(cfg.log_level);
  for (const auto& w : parsed.warnings) log::warn("{}", w);

  if (cfg.probe_device) return run::run_probe_only(cfg);

  // --config, then the model (validated after the config, as the reference).
  model::ModelTable table = model::ModelTable::builtin();
  YamlSettings yaml;
  if (!cfg.config_path.empty()) {
    yaml = load_yaml_config(cfg.config_path, table);
    apply_models(yaml, table);
  }
  run::RunPlan plan;
  plan.model = table.get(cfg.model, "--model");
  plan.config = cfg;
  plan.yaml = yaml;
  if (cfg.list_users) return run::list_users(plan);
  if (rank != nullptr) rank->prepare(plan);  // MPI: seed, cache subdir; the rank observes the run
  return run::run_benchmark(plan);
}

int run_cli_caught(int argc, char** argv, std::string& error, mpi::DistributedRun* rank) {
  try {
    return run_cli(argc, argv, rank);
  } catch (const Error& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "kv-cache: %s\n", e.describe().c_str());
    error = e.what();
    return to_int(e.code());
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "kv-cache: error: %s\n", e.what());
    error = e.what();
    return to_int(ExitCode::kFailure);
  }
}

}  // namespace

int cli_main(int argc, char** argv) {
  // MPI only when a launcher started more than one rank: then this process is one client of a
  // multi-client run (engine/mpi/distributed_run.hpp). A plain process, or `mpirun -n 1`, runs as
  // before.
  std::string error;
  if (mpi::DistributedRun::launcher_world_size() <= 1)
    return run_cli_caught(argc, argv, error, nullptr);
  std::unique_ptr<mpi::DistributedRun> rank;
  try {
    dist::RankContext& ctx = dist::RankContext::init(&argc, &argv);
    if (ctx.size() > 1) rank = std::make_unique<mpi::DistributedRun>(ctx);
  } catch (const Error& e) {
    std::fprintf(stderr, "kv-cache: %s\n", e.describe().c_str());
    return to_int(e.code());
  }
  const int code = run_cli_caught(argc, argv, error, rank.get());
  if (!rank) return code;
  try {
    return rank->conclude(code, error);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kv-cache: error: %s\n", e.what());
    std::fflush(nullptr);
    std::_Exit(code != 0 ? code : to_int(ExitCode::kFailure));
  }
}

}  // namespace kv::engine
