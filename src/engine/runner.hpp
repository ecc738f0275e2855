// The benchmark run (kv-cache-engine.md §5.1, §5.5, §9.1 item 19): builds the tiers (GPU per
// --gpu-backend, CPU if its limit > 0, storage through io::make_backend in an owned cache dir) and the
// MultiTierCache; starts min(users, 500) workers and the open-loop arrival scheduler; stops at
// --duration, --max-requests or SIGINT/SIGTERM; drops queued requests, gives in-flight ones a bounded
// join (2 s) and never counts them; writes the results JSON atomically (also when interrupted, then
// with "interrupted": true and exit 8); prints the console summary; removes its files unless
// --keep-cache. If workers are still busy after the bounded join (a long in-flight I/O), results are
// written from what completed, our files are removed, and the process exits without waiting for them.
#pragma once

#include <string>

#include "engine/config.hpp"
#include "engine/run_hooks.hpp"
#include "engine/yaml_config.hpp"
#include "model/model.hpp"

namespace kv::engine {

struct RunPlan {
  EngineConfig config;
  YamlSettings yaml;
  model::ModelConfig model;
  RunHooks* hooks = nullptr;  // MPI multi-client run (engine/distributed.hpp); null = single process
};

// Returns the process exit code (0, 6 when nothing completed and operations failed, 8 when
// interrupted). Throws kv::Error for set-up problems (before any I/O is measured).
int run_benchmark(const RunPlan& plan);

// --probe-device: probes the cache directory's device with the configured backend, prints, returns the
// exit code.
int run_probe_only(const EngineConfig& c);

// Bytes of MemAvailable in /proc/meminfo (0 if unknown).
std::uint64_t mem_available_bytes();

}  // namespace kv::engine
