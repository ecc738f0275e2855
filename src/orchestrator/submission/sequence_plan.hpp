// The plan of one modal submission run (`mlpstorage <closed|open|whatif> kvcache run`), built
// before anything is created (docs/mlpstorage.md, "Submission flow"):
//
//   * Table KVCache-1 (the three options; verify.hpp's official_options() is the one copy).
//   * CLOSED locks (check_closed_locks): seed ≠ 42, trials ≠ 3, inter-option-delay ≠ 20,
//     settle ≠ 90, any --config, and every workload/engine flag (the table is emitted verbatim) are
//     usage errors naming the flag; nothing has run yet.
//   * OPEN supersede (option_params): a workload flag the user set (SequenceOptions::given)
//     replaces the option's value key by key; a default never does. --max-concurrent-allocs always
//     comes from the table (setting it is a usage error in every division).
//   * Rank layout (resolve_rank_layout), H hosts:
//       only --num-processes N → N/H per host (N a positive multiple of H), N ranks
//       only --npernode K      → K per host, K×H ranks
//       both                   → K per host, N ranks; N must equal K×H
//       neither                → 1 per host, H ranks
//   * Files: <results-dir>/<division>/<orgname>/results/<systemname>/kv_cache/<model>/run/<dt>/
//       option_<O>/trial_<T>/rank_<N>/kvcache_results_<dt>.json   each client's own results
//       option_<O>/trial_<T>/kvcache_results_<dt>.json            the trial's merged results
//                                                                  (pooled percentiles)
//       option_<O>/trial_<T>/kvcache_trial_<dt>.json              the trial record
//       kvcache_opt<O>_trial<T>_<dt>.stdout.log / .stderr.log      launcher output
//       kvcache_run_summary_<dt>.json, kv_cache_<dt>_metadata.json, mlpstorage_<dt>.log
//     and each client's cache in <cache-dir>/rank_<N>/ (default cache dir <run>/kvcache_cache).
//   * One launcher invocation per trial runs every client: mpirun -n <ranks> … kv-cache … (the
//     engine sets seed = base + rank and <cache-dir>/rank_<r>; rank 0 gathers the results over MPI
//     and writes every rank's file, so no shared results filesystem is needed).
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "orchestrator/options.hpp"
#include "orchestrator/plan.hpp"

namespace kv::orchestrator::submission {

inline constexpr int kClosedTrials = 3;
inline constexpr int kClosedInterOptionDelay = 20;
inline constexpr int kClosedSettle = 90;
inline constexpr std::int64_t kClosedBaseSeed = 42;
inline constexpr int kNumOptions = 3;

// One row of Table KVCache-1 (or its OPEN-superseded form).
struct OptionParams {
  int option = 0;
  std::string name;
  std::string model;
  int num_users = 0;  // per client (rank)
  int duration = 0;
  double gpu_mem_gb = 0;
  double cpu_mem_gb = 0;
  int max_concurrent_allocs = 0;
  std::string generation_mode;
};
OptionParams table_option(int option);  // 1..3, verbatim

struct RankLayout {
  int host_count = 1;
  int npernode = 1;
  int total_ranks = 1;
};
// Throws kv::Error(kInvalidArguments) naming --num-processes or --npernode.
RankLayout resolve_rank_layout(int host_count, std::optional<int> num_processes,
                               std::optional<int> npernode);

// Throws kv::Error(kInvalidArguments) naming the first locked flag that was set.
void check_closed_locks(const Invocation& inv);
// Usage errors every division shares (e.g. --max-concurrent-allocs, docker with several ranks).
void check_sequence_flags(const Invocation& inv);

OptionParams option_params(const Invocation& inv, int option);

struct SequenceSettings {
  int trials = 3;
  int inter_option_delay = 20;
  int settle = 90;
  std::int64_t seed = 42;
};
SequenceSettings effective_settings(const Invocation& inv);

// The engine flags of one option: its parameters on top of the user's other flags (OPEN) or the
// defaults (CLOSED, where nothing else may be set), with the base seed.
KvcacheOptions option_engine_options(const Invocation& inv, const OptionParams& o,
                                     std::int64_t seed);

struct TrialPlan {
  int option = 0;
  int trial = 0;                         // 0-based
  std::filesystem::path dir;             // <run>/option_<O>/trial_<T>
  std::filesystem::path merged_results;  // dir/kvcache_results_<dt>.json (the engine's --output)
  std::filesystem::path record;          // dir/kvcache_trial_<dt>.json
  std::filesystem::path stdout_log;
  std::filesystem::path stderr_log;
  std::vector<std::string> launcher_argv;
  std::vector<std::string> engine_argv;
  std::vector<std::string> argv() const;
  std::filesystem::path rank_dir(int rank) const;
  std::filesystem::path rank_results(int rank, const std::string& datetime) const;
};

struct SequencePlan {
  std::string division;
  std::string orgname;
  std::string systemname;
  std::string datetime;
  std::filesystem::path run_dir;
  std::filesystem::path metadata_file;
  std::filesystem::path summary_file;
  std::filesystem::path report_file;  // the sequence report (sequence_report.hpp)
  std::filesystem::path log_file;
  std::filesystem::path cluster_info_file;
  std::filesystem::path engine;
  bool engine_found = false;
  std::filesystem::path cache_dir;
  bool cache_dir_default = true;
  bool use_mpi = false;
  RankLayout layout;
  SequenceSettings settings;
  std::array<OptionParams, kNumOptions> options;
  std::vector<TrialPlan> trials;  // option-major, trial-minor
  double expected_wall_s = 0;
  double footprint_bytes_per_host = 0;  // largest option: npernode × datasize total (1x floor)
  double cpu_tier_gib_per_host = 0;     // largest option: npernode × cpu-mem-gb
  double footprint_bytes_per_rank = 0;  // largest option: datasize total
  double footprint_bytes_per_user = 0;  // that option's mean per-user working set
  double cpu_tier_gib_per_rank = 0;     // largest option's --cpu-mem-gb
};

// <results-dir>/<division>/<orgname>/results/<systemname>/kv_cache/<model>/run/<dt>
std::filesystem::path canonical_run_dir(const std::string& results_dir, const std::string& division,
                                        const std::string& orgname, const std::string& systemname,
                                        const std::string& model, const std::string& datetime);

// The whole plan; touches nothing on disk except looking binaries up. Throws usage errors.
SequencePlan build_sequence_plan(const Invocation& inv, const std::string& orgname,
                                 const std::string& datetime, const PlanEnv& env);

// Human-readable plan (what `whatif` prints).
std::string render_plan(const SequencePlan& plan);

}  // namespace kv::orchestrator::submission
