#include "orchestrator/preflight.hpp"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>

namespace kv::orchestrator {

namespace stdfs = std::filesystem;

PreflightEnv PreflightEnv::from_process() {
  PreflightEnv e;
  e.euid = ::geteuid();
  if (const char* p = std::getenv("PATH")) e.path_env = p;
  auto is_one = [](const char* name) {
    const char* v = std::getenv(name);
    return v != nullptr && std::string(v) == "1";
  };
  e.ompi_root_env = is_one("OMPI_ALLOW_RUN_AS_ROOT") && is_one("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM");
  return e;
}

std::string creatable_dir_problem(const std::string& path) {
  std::error_code ec;
  stdfs::path p = stdfs::absolute(path, ec).lexically_normal();
  while (true) {
    auto st = stdfs::status(p, ec);
    if (!ec && stdfs::exists(st)) {
      if (!stdfs::is_directory(st)) return "'" + p.string() + "' exists and is not a directory";
      if (::access(p.c_str(), W_OK | X_OK) != 0)
        return "directory '" + p.string() + "' is not writable";
      return {};
    }
    if (!p.has_parent_path() || p.parent_path() == p)
      return "no existing parent directory for '" + path + "'";
    p = p.parent_path();
  }
}

std::vector<PreflightProblem> preflight_checks(const Invocation& inv, const RunPlan& plan,
                                               const PreflightEnv& env) {
  std::vector<PreflightProblem> out;
  const KvcacheOptions& kv = inv.kv;
  if (!plan.engine_found) {
    PreflightProblem p;
    p.code = ExitCode::kFileNotFound;
    p.message = kv.kvcache_bin_path.empty() ? "kv-cache engine not found next to mlpstorage (" +
                                                  plan.engine.string() + ") or on PATH"
                                            : "--kvcache-bin-path: '" + plan.engine.string() +
                                                  "' is not an executable file";
    p.hint = "build it (scripts/build.sh) or point --kvcache-bin-path at the kv-cache binary";
    out.push_back(std::move(p));
  }
  if (plan.use_mpi && !inv.uni.skip_validation) {
    const std::string& launcher = plan.launcher_argv.front();
    if (find_executable(launcher, env.path_env).empty()) {
      PreflightProblem p;
      p.code = ExitCode::kFileNotFound;
      p.message = "--mpi-bin: MPI launcher '" + launcher + "' not found" +
                  (launcher.find('/') == std::string::npos ? " on PATH" : "");
      p.hint =
          "install OpenMPI (apt-get install openmpi-bin), set MPI_RUN_BIN/MPI_EXEC_BIN, or use "
          "--exec-type docker "
          "to run the engine without a launcher";
      out.push_back(std::move(p));
    }
    if (env.euid == 0 && !kv.allow_run_as_root && !env.ompi_root_env) {
      PreflightProblem p;
      p.code = ExitCode::kConfigurationError;
      p.message =
          "running as root: " + launcher + " refuses to start as root without --allow-run-as-root";
      p.hint =
          "add --allow-run-as-root (or set OMPI_ALLOW_RUN_AS_ROOT=1 and "
          "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1)";
      out.push_back(std::move(p));
    }
  }
  if (auto why = creatable_dir_problem(plan.run_dir.string()); !why.empty()) {
    PreflightProblem p;
    p.code = ExitCode::kPermissionDenied;
    p.message =
        "--results-dir: cannot create the run directory " + plan.run_dir.string() + ": " + why;
    p.hint = "choose a writable --results-dir";
    out.push_back(std::move(p));
  }
  if (!plan.cache_dir_default) {
    if (auto why = creatable_dir_problem(plan.cache_dir.string()); !why.empty()) {
      PreflightProblem p;
      p.code = ExitCode::kPermissionDenied;
      p.message = "--cache-dir: cannot create " + plan.cache_dir.string() + ": " + why;
      p.hint = "choose a writable --cache-dir on the storage under test";
      out.push_back(std::move(p));
    }
  }
  return out;
}

}  // namespace kv::orchestrator
