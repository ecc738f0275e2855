#include "engine/cli_main.hpp"

#include <cstdio>

#include "core/error.hpp"
#include "core/log.hpp"
#include "engine/flags.hpp"
#include "engine/runner.hpp"
#include "engine/yaml_config.hpp"
#include "model/model.hpp"

namespace kv::engine {

namespace {

int run_cli(int argc, char** argv) {
  ParseResult parsed = parse_flags(argc, argv);
  if (parsed.exit_now) return *parsed.exit_now;
  EngineConfig& cfg = parsed.config;
  log::set_program("kv-cache");
  log::set_level(log::parse_level(cfg.log_level));
  for (const auto& w : parsed.warnings) log::warn("{}", w);

  if (cfg.probe_device) return run_probe_only(cfg);

  // --config, then the model (validated after the config, as the reference).
  model::ModelTable table = model::ModelTable::builtin();
  YamlSettings yaml;
  if (!cfg.config_path.empty()) {
    yaml = load_yaml_config(cfg.config_path, table);
    apply_models(yaml, table);
  }
  RunPlan plan;
  plan.model = table.get(cfg.model, "--model");
  plan.config = cfg;
  plan.yaml = yaml;
  return run_benchmark(plan);
}

}  // namespace

int cli_main(int argc, char** argv) {
  try {
    return run_cli(argc, argv);
  } catch (const Error& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "kv-cache: %s\n", e.describe().c_str());
    return to_int(e.code());
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "kv-cache: error: %s\n", e.what());
    return to_int(ExitCode::kFailure);
  }
}

}  // namespace kv::engine
