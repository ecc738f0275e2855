// The run plan of `mlpstorage kvcache run` (docs/mlpstorage.md#the-engine-command): where
// the run goes, which engine binary runs, and the exact argv (an argv vector, never a shell
// string). Building a plan touches nothing on disk except reading PATH/executable bits to find
// binaries.
//
// Engine argv, in the reference order:
//   <engine> --model M --num-users N --duration D --gpu-mem-gb G --cpu-mem-gb C
//            --generation-mode X --performance-profile P --cache-dir <dir> --output
//            <run>/kvcache_results_<dt>.json
//            [--disable-multi-turn] [--disable-prefix-caching] [--enable-rag --rag-num-docs K]
//            [--enable-autoscaling --autoscaler-mode A] [--seed S]
//            [--max-concurrent-allocs K] [--io-engine E] [--direct-io] [--io-depth Q]
//            [--io-chunk-mib M]
//            [--gpu-backend B] [--keep-cache] [--kvcache-params tokens…]
// Floats are written like Python's str() ("16.0", "0.5"). With exec type mpi and non-empty hosts
// the MPI prefix of mpi.hpp goes in front (N = --num-processes or the number of hosts); docker or
// an empty host list means no prefix.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "orchestrator/mpi.hpp"
#include "orchestrator/options.hpp"

namespace kv::orchestrator {

// Where binaries are looked up; from_process() uses /proc/self/exe and $PATH.
struct PlanEnv {
  std::filesystem::path self_dir;  // directory of the running mlpstorage binary
  std::string path_env;            // $PATH
  MpiEnv mpi;
  static PlanEnv from_process();
};

struct RunPlan {
  std::string datetime;                     // YYYYMMDD_HHMMSS
  std::filesystem::path run_dir;            // <results>/kv_cache/<model>/<command>/<dt>
  std::filesystem::path engine;             // resolved engine binary
  bool engine_found = false;                // exists and is executable
  std::filesystem::path cache_dir;          // effective storage-tier directory
  bool cache_dir_default = true;            // true: <run dir>/kvcache_data
  std::filesystem::path results_json;       // <run dir>/kvcache_results_<dt>.json
  std::filesystem::path stdout_log;         // <run dir>/kvcache_<dt>.stdout.log
  std::filesystem::path stderr_log;         // <run dir>/kvcache_<dt>.stderr.log
  std::filesystem::path metadata_file;      // <run dir>/kv_cache_<dt>_metadata.json
  std::filesystem::path cluster_info_file;  // <run dir>/kv_cache_cluster_info.json
  std::filesystem::path log_file;           // <run dir>/mlpstorage_<dt>.log
  std::vector<std::string> engine_argv;     // engine path first
  std::vector<std::string> launcher_argv;   // MPI prefix; empty when run locally
  bool use_mpi = false;
  int num_processes = 1;  // ranks actually launched (1 without MPI)

  std::vector<std::string> argv() const;  // launcher_argv + engine_argv
  std::string command_line() const;       // argv() joined with shell quoting where needed
};

// Python str() of a float: "16.0", "0.5", "1e-05".
std::string format_float(double v);

// "YYYYMMDD_HHMMSS" in local time.
std::string datetime_now();

// <results_dir>/kv_cache/<model>/<command>/<dt>; every added component must be a plain name (no
// '/', not "." or "..", not empty), else kv::Error(kInvalidArguments) naming the flag it came from.
std::filesystem::path run_dir_for(const std::string& results_dir, const std::string& model,
                                  const std::string& command, const std::string& datetime);

// --kvcache-bin-path if given (absolute), else `kv-cache` next to mlpstorage, else on PATH,
// else the next-to-mlpstorage path (reported missing by the pre-flight check).
std::filesystem::path resolve_engine(const KvcacheOptions& kv, const PlanEnv& env, bool* found);

// Looks `name` up like execvp would ("a/b" is taken as a path). Empty when not found.
std::filesystem::path find_executable(const std::string& name, const std::string& path_env);

std::vector<std::string> engine_argv(const KvcacheOptions& kv, const std::string& engine,
                                     const std::string& cache_dir, const std::string& output);

// The whole plan for `kvcache run`. Throws kv::Error(kInvalidArguments) naming --hosts or
// --num-processes for slot problems (too few slots, N < hosts, mixed host forms).
RunPlan build_run_plan(const Invocation& inv, const std::string& datetime, const PlanEnv& env);

}  // namespace kv::orchestrator
