// Lifecycle of `mlpstorage kvcache run|datasize` (docs/mlpstorage.md):
//   run:      plan → verification gate → (what-if: print plan + command, create nothing) →
//             pre-flight checks → run dir + cache dir → cluster info (local host) → engine child
//             (live output, logs, signal forwarding) → metrics from the results JSON → metadata
//             (atomic, also on failure/interrupt).
//   datasize: estimate from the model table and user templates, printed; a run dir with metadata
//             only when --results-dir was given explicitly (never in what-if).
// --loops N repeats the command with a fresh datetime each time and stops at the first failure.
//
// Exit codes: 0 success / what-if; 1 verification aborted the run; 2 usage (incl. slots);
// 3/4/5 pre-flight problems (see preflight.hpp); the engine's own exit code when it is one of
// ours (1–8), otherwise 6; 8 when SIGINT/SIGTERM interrupted the run.
#pragma once

#include <chrono>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>

#include "orchestrator/options.hpp"
#include "orchestrator/plan.hpp"
#include "orchestrator/preflight.hpp"

namespace kv::orchestrator {

struct Environment {
  PlanEnv plan = PlanEnv::from_process();
  PreflightEnv preflight = PreflightEnv::from_process();
  std::ostream* out = &std::cout;  // what-if plan, datasize table, --verbose metadata
  int child_stdout_fd = 1;         // engine output echo (-1: silent)
  int child_stderr_fd = 2;
  std::chrono::milliseconds grace{5000};
};

struct BenchmarkResult {
  int exit_code = 0;
  std::string status;  // success | failed | interrupted | error | aborted | what_if
  std::string verification;  // CLOSED | OPEN | INVALID for a kvcache run, else empty
  std::string result_dir;
  std::string metadata_path;
  std::optional<double> read_gibps;
  std::optional<double> write_gibps;
  Json metrics = Json::object();  // key metrics for the history
};

// Maps how the engine ended to (status, mlpstorage exit code).
struct ChildOutcome {
  std::string status;
  int exit_code;
};
ChildOutcome classify_child(bool started, int exit_code, int term_signal, int forwarded_signal);

// Creates `p` (and parents); kv::Error naming `flag` (kPermissionDenied / kFileNotFound) if it
// cannot.
void create_dir(const std::filesystem::path& p, const std::string& flag);

BenchmarkResult kvcache_run_once(const Invocation& inv, const std::string& datetime,
                                 const Environment& env);
BenchmarkResult kvcache_datasize_once(const Invocation& inv, const std::string& datetime,
                                      const Environment& env);
// Dispatches on inv.command and applies --loops; `first_datetime` is used by the first iteration.
BenchmarkResult run_kvcache_command(const Invocation& inv, const std::string& first_datetime,
                                    const Environment& env);

}  // namespace kv::orchestrator
