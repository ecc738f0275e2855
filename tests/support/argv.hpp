// Argv builders for e2e tests. Name only what a test changes (designated initializers):
//   run(engine_argv({.cache = dir / "cache", .output = dir / "r.json", .users = 6}));
//   run(mlpstorage_run_argv({.results_dir = dir / "results", .duration = 60}), env);
// Every member has an initializer ({} included), so an initializer list may leave any of them out
// (-Wmissing-field-initializers).
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/process.hpp"

namespace kv::testsupport {

// A small kv-cache run: tiny-1b, storage only (no GPU or CPU tier), no generation sleep, quiet,
// a fixed seed.
struct SmallRun {
  std::filesystem::path cache{};   // --cache-dir
  std::filesystem::path output{};  // --output
  std::string model = "tiny-1b";
  int users = 4;
  int duration = 3;
  std::string seed = "7";  // "" leaves the engine's default
  std::string gpu_mem_gb = "0";
  std::string cpu_mem_gb = "0";
  std::string generation_mode = "none";  // "" leaves the engine's default
  bool quiet = true;
  std::vector<std::string> extra{};  // appended last
};

inline std::vector<std::string> engine_argv(const SmallRun& r) {
  std::vector<std::string> a = {bin("kv-cache"),
                                "--model",
                                r.model,
                                "--num-users",
                                std::to_string(r.users),
                                "--duration",
                                std::to_string(r.duration),
                                "--gpu-mem-gb",
                                r.gpu_mem_gb,
                                "--cpu-mem-gb",
                                r.cpu_mem_gb};
  if (!r.generation_mode.empty()) a.insert(a.end(), {"--generation-mode", r.generation_mode});
  if (!r.seed.empty()) a.insert(a.end(), {"--seed", r.seed});
  a.insert(a.end(), {"--cache-dir", r.cache.string(), "--output", r.output.string()});
  if (r.quiet) a.push_back("--quiet");
  a.insert(a.end(), r.extra.begin(), r.extra.end());
  return a;
}

// A small `mlpstorage kvcache run` of the same shape (tiny-1b, 2 users, storage only, no
// generation sleep, --allow-run-as-root); `launch` goes right after "run" (e.g. {"--hosts",
// "127.0.0.1", "-np", "2", "--oversubscribe"}).
struct SmallMlpstorageRun {
  std::filesystem::path results_dir{};  // --results-dir
  int duration = 3;
  std::vector<std::string> launch{};
  std::vector<std::string> extra{};  // appended last
};

inline std::vector<std::string> mlpstorage_run_argv(const SmallMlpstorageRun& r) {
  std::vector<std::string> a = {bin("mlpstorage"), "kvcache", "run"};
  a.insert(a.end(), r.launch.begin(), r.launch.end());
  a.insert(a.end(), {"--allow-run-as-root", "--model", "tiny-1b", "--num-users", "2", "--duration",
                     std::to_string(r.duration), "--gpu-mem-gb", "0", "--cpu-mem-gb", "0",
                     "--generation-mode", "none", "--results-dir", r.results_dir.string()});
  a.insert(a.end(), r.extra.begin(), r.extra.end());
  return a;
}

// A run that completes no request fails (exit 6, docs/safety.md), so a test that needs a completed
// run must not count on a short window being long enough on a loaded machine: `a` (an engine argv)
// then stops after `n` completed requests, with a window long enough for them (later flags win).
inline std::vector<std::string> until_requests(std::vector<std::string> a, int n,
                                               int window_s = 60) {
  a.insert(a.end(), {"--duration", std::to_string(window_s), "--max-requests", std::to_string(n)});
  return a;
}

// For a test whose subject is not the measurement (console layout, progress records) and that
// needs a fixed window: the run went to its end, with exit 0, or with exit 6 because no request
// completed in the window on a loaded machine (its results file says so).
inline ::testing::AssertionResult ran_to_the_end(const ProcessResult& r,
                                                 const std::filesystem::path& results) {
  if (r.exit_code == 0) return ::testing::AssertionSuccess();
  std::ifstream in(results);
  const auto j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (r.exit_code == 6 && j.is_object() && j.value("requests_completed", -1) == 0 &&
      r.err.find("no request completed in the") != std::string::npos)
    return ::testing::AssertionSuccess() << "no request completed (exit 6)";
  return ::testing::AssertionFailure() << "exit " << r.exit_code << "\n" << r.err;
}

// `a` followed by `b`.
inline std::vector<std::string> concat(std::vector<std::string> a,
                                       const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// rtc_hwloc_vmhole none: orted does not export its hwloc topology to shared memory (that path
// crashed orted in hwloc_shmem_topology_write now and then; mlpstorage sets the same, as
// OMPI_MCA_rtc_hwloc_vmhole, for its launches).
inline std::vector<std::string> mpirun_args(int n, const std::vector<std::string>& extra = {}) {
  std::vector<std::string> a = {"/usr/bin/env",
                                "mpirun",
                                "--allow-run-as-root",
                                "--oversubscribe",
                                "--mca",
                                "rtc_hwloc_vmhole",
                                "none",
                                "-n",
                                std::to_string(n)};
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}

}  // namespace kv::testsupport
