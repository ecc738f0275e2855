// What a run is given: the parsed configuration, the --config YAML settings, the model, the
// observers from outside the run (an MPI rank adds itself here) and the clock.
#pragma once

#include <vector>

#include "core/clock.hpp"
#include "engine/config/config.hpp"
#include "engine/config/yaml_config.hpp"
#include "model/model.hpp"

namespace kv::engine::run {

class RunObserver;

struct RunPlan {
  EngineConfig config;
  YamlSettings yaml;
  model::ModelConfig model;
  std::vector<RunObserver*> observers;  // not owned; outlive the run
  int rank = 0;                         // MPI rank (0 in a single-process run)
  int ranks = 1;                        // MPI ranks in the job (1 in a single-process run)
  const Clock* clock = &real_clock();
};

}  // namespace kv::engine::run
