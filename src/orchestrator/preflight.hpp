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
#pragma once

#include <sys/types.h>

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

struct PreflightEnv {
  uid_t euid = 0;
  std::string path_env;
  bool ompi_root_env = false;  // both OMPI_ALLOW_RUN_AS_ROOT* variables set to 1
  static PreflightEnv from_process();
};

std::vector<PreflightProblem> preflight_checks(const Invocation& inv, const RunPlan& plan,
                                               const PreflightEnv& env);

// The nearest existing ancestor of `p` must be a writable directory; "" when fine, else why not.
std::string creatable_dir_problem(const std::string& p);

}  // namespace kv::orchestrator
