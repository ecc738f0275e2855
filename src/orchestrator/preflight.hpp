// Pre-flight checks of `kvcache run`, all collected before anything is created
// (docs/mlpstorage.md#pre-flight-checks). Each problem names the flag to change:
//   engine binary missing / not executable        → kFileNotFound      (--kvcache-bin-path)
//   MPI launcher not on PATH                       → kFileNotFound      (--mpi-bin,
//   $MPI_RUN_BIN/$MPI_EXEC_BIN) running as root without --allow-run-as-root    →
//   kConfigurationError (OpenMPI refuses; also accepted:
//                                                    OMPI_ALLOW_RUN_AS_ROOT=1 +
//                                                    OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1)
//   results dir or cache dir cannot be created     → kPermissionDenied / kFileNotFound
//   (--results-dir / --cache-dir)
// Too few slots is found earlier, when the plan is built (plan.hpp). --skip-validation drops the
// launcher and root checks; --what-if prints the problems as warnings instead of failing.
//
// Resources of the launching host (check_resources; docs/mlpstorage.md "Pre-flight checks"):
//   CPU tier: --cpu-mem-gb x the ranks on this host above MemAvailable → kInvalidArguments naming
//             --cpu-mem-gb, with the largest value that fits (80 % of MemAvailable / ranks, the
//             engine's own rule) and, where a flag sets ranks per host, the ranks that fit;
//   storage:  free space of --cache-dir (its nearest existing ancestor) below the KV footprint the
//             run writes (1x the datasize estimate per rank on this host) → kInvalidArguments
//             naming --cache-dir, with the --num-users that fits and the space needed.
// Remote hosts cannot be queried before the launch: they are listed as "not checked" (the engine
// checks its own rank's memory and capacity when it starts). --skip-validation turns these two
// problems into warnings.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "orchestrator/options.hpp"
#include "orchestrator/plan.hpp"

namespace kv::orchestrator {

struct PreflightProblem {
  ExitCode code = ExitCode::kConfigurationError;
  std::string message;
  std::string hint;
};

// What the launching host offers; every probe can be replaced in tests.
struct HostProbe {
  std::function<std::optional<double>()> mem_available;  // bytes (MemAvailable)
  // Free bytes for an unprivileged writer on the filesystem of `p` (its nearest existing ancestor).
  std::function<std::optional<double>(const std::filesystem::path& p)> free_bytes;
  // True when `host` (a --hosts name without ":slots") is this machine: localhost, 127.x, ::1,
  // this host's name (long or short) or an address of one of its interfaces. No DNS look-up.
  std::function<bool(const std::string& host)> is_local;
  static HostProbe from_process();
};

struct PreflightEnv {
  uid_t euid = 0;
  std::string path_env;
  bool ompi_root_env = false;  // both OMPI_ALLOW_RUN_AS_ROOT* variables set to 1
  HostProbe host = HostProbe::from_process();
  static PreflightEnv from_process();
};

// What a run needs from the launching host.
struct ResourceDemand {
  double cpu_gib_per_rank = 0;            // --cpu-mem-gb (the largest option of a sequence)
  bool cpu_tier_in_memory = true;         // false under the engine's --io-trace-log (no real tier)
  bool cpu_flag_locked = false;           // CLOSED: --cpu-mem-gb cannot be changed
  double storage_bytes_per_rank = 0;      // 1x KV footprint (datasize total)
  double storage_bytes_per_user = 0;      // > 0: suggest the --num-users that fits
  std::string ranks_flag;                 // e.g. "--npernode": suggest the ranks per host that fit
  int ranks_per_host = 1;                 // value of ranks_flag
  int local_ranks = 1;                    // ranks that run on this host
  std::vector<std::string> remote_hosts;  // hosts that are not this one (not checked)
  std::filesystem::path cache_dir;        // the storage tier directory (may not exist yet)
};

struct ResourceCheck {
  enum class Result { kOk, kProblem, kNotChecked };
  std::string what;  // "CPU tier memory" | "cache-dir space" | "remote hosts"
  Result result = Result::kOk;
  std::string detail;
};

struct ResourceReport {
  std::vector<ResourceCheck> checks;       // what --what-if shows
  std::vector<PreflightProblem> problems;  // one per kProblem check
};

ResourceReport check_resources(const ResourceDemand& d, const HostProbe& probe);

// Appends the report's problems to `out`; with --skip-validation (`downgrade`) they are logged as
// warnings instead.
void add_resource_problems(const ResourceReport& r, bool downgrade,
                           std::vector<PreflightProblem>& out);

// The checks as indented lines for --what-if ("  pre-flight: CPU tier memory: ok, ...").
std::string render_resource_checks(const std::vector<ResourceCheck>& checks);

// The demand of a single `kvcache run` (ranks on this host from the MPI host slots).
ResourceDemand run_demand(const Invocation& inv, const RunPlan& plan, const HostProbe& probe);

// Sets d.local_ranks / d.remote_hosts from the MPI host slots of `num_processes` ranks (without
// MPI: one local rank).
void place_ranks(const KvcacheOptions& kv, bool use_mpi, int num_processes, const HostProbe& probe,
                 ResourceDemand& d);

// Local hosts of a --hosts list ("name" or "name:slots" entries), split from the remote ones.
struct HostSplit {
  std::vector<std::string> local;   // entries as given
  std::vector<std::string> remote;  // names without slots
};
HostSplit split_local_hosts(const std::vector<std::string>& hosts, const HostProbe& probe);

std::vector<PreflightProblem> preflight_checks(const Invocation& inv, const RunPlan& plan,
                                               const PreflightEnv& env);

// The nearest existing ancestor of `p` (itself when it exists).
std::filesystem::path existing_ancestor(std::filesystem::path p);

// The nearest existing ancestor of `p` must be a writable directory; "" when fine, else why not.
std::string creatable_dir_problem(const std::string& p);

}  // namespace kv::orchestrator
