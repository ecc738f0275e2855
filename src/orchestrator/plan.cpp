#include "orchestrator/plan.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <ctime>

#include "core/error.hpp"
#include "engine_cli/flags.hpp"
#include "history/history.hpp"

namespace kv::orchestrator {

namespace stdfs = std::filesystem;

PlanEnv PlanEnv::from_process() {
  PlanEnv e;
  std::error_code ec;
  auto self = stdfs::read_symlink("/proc/self/exe", ec);
  if (!ec) e.self_dir = self.parent_path();
  if (const char* p = std::getenv("PATH")) e.path_env = p;
  e.mpi = MpiEnv::from_process();
  return e;
}

std::vector<std::string> RunPlan::argv() const {
  std::vector<std::string> v = launcher_argv;
  v.insert(v.end(), engine_argv.begin(), engine_argv.end());
  return v;
}

std::string RunPlan::command_line() const {
  return kv::history::display_command(argv());
}

std::string format_float(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  std::string s = fmt::format("{}", v);
  if (s.find_first_of(".en") == std::string::npos) s += ".0";
  return s;
}

std::string datetime_now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d_%H%M%S", &tm);
  return buf;
}

static void check_component(const std::string& part, const std::string& flag) {
  if (part.empty() || part == "." || part == ".." || part.find('/') != std::string::npos ||
      part.find('\0') != std::string::npos) {
    throw usage_error(flag, "'" + part + "' cannot be used as a results path component");
  }
}

stdfs::path run_dir_for(const std::string& results_dir, const std::string& model,
                        const std::string& command, const std::string& datetime) {
  check_component(model, "--model");
  check_component(command, "command");
  check_component(datetime, "datetime");
  return stdfs::path(results_dir) / "kv_cache" / model / command / datetime;
}

static bool is_executable_file(const stdfs::path& p) {
  std::error_code ec;
  return stdfs::is_regular_file(p, ec) && ::access(p.c_str(), X_OK) == 0;
}

stdfs::path find_executable(const std::string& name, const std::string& path_env) {
  if (name.empty()) return {};
  if (name.find('/') != std::string::npos)
    return is_executable_file(name) ? stdfs::path(name) : stdfs::path();
  std::size_t start = 0;
  while (start <= path_env.size()) {
    auto colon = path_env.find(':', start);
    std::string dir =
        path_env.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    if (dir.empty()) dir = ".";
    stdfs::path cand = stdfs::path(dir) / name;
    if (is_executable_file(cand)) return cand;
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return {};
}

stdfs::path resolve_engine(const KvcacheOptions& kv, const PlanEnv& env, bool* found) {
  if (!kv.kvcache_bin_path.empty()) {
    stdfs::path p = stdfs::absolute(kv.kvcache_bin_path).lexically_normal();
    *found = is_executable_file(p);
    return p;
  }
  if (!env.self_dir.empty()) {
    stdfs::path next = env.self_dir / "kv-cache";
    if (is_executable_file(next)) {
      *found = true;
      return next;
    }
  }
  if (auto p = find_executable("kv-cache", env.path_env); !p.empty()) {
    *found = true;
    return stdfs::absolute(p);
  }
  *found = false;
  return env.self_dir.empty() ? stdfs::path("kv-cache") : env.self_dir / "kv-cache";
}

namespace {

namespace ec = kv::engine_cli;

// One engine flag with its value, or a switch, under the engine's own flag name.
void add(std::vector<std::string>& a, const ec::Flag& f, std::string value) {
  a.emplace_back(f.name);
  a.push_back(std::move(value));
}
void add_switch(std::vector<std::string>& a, const ec::Flag& f, bool on) {
  if (on) a.emplace_back(f.name);
}

}  // namespace

std::vector<std::string> engine_argv(const KvcacheOptions& kv, const std::string& engine,
                                     const std::string& cache_dir, const std::string& output) {
  std::vector<std::string> a = {engine};
  add(a, ec::kModel, kv.model);
  add(a, ec::kNumUsers, std::to_string(kv.num_users));
  add(a, ec::kDuration, std::to_string(kv.duration));
  add(a, ec::kGpuMemGb, format_float(kv.gpu_mem_gb));
  add(a, ec::kCpuMemGb, format_float(kv.cpu_mem_gb));
  add(a, ec::kGenerationMode, kv.generation_mode);
  add(a, ec::kPerformanceProfile, kv.performance_profile);
  add(a, ec::kCacheDir, cache_dir);
  add(a, ec::kOutput, output);
  add_switch(a, ec::kDisableMultiTurn, kv.disable_multi_turn);
  add_switch(a, ec::kDisablePrefixCaching, kv.disable_prefix_caching);
  if (kv.enable_rag) {
    add_switch(a, ec::kEnableRag, true);
    add(a, ec::kRagNumDocs, std::to_string(kv.rag_num_docs));
  }
  if (kv.enable_autoscaling) {
    add_switch(a, ec::kEnableAutoscaling, true);
    add(a, ec::kAutoscalerMode, kv.autoscaler_mode);
  }
  if (kv.seed) add(a, ec::kSeed, std::to_string(*kv.seed));
  if (kv.max_concurrent_allocs)
    add(a, ec::kMaxConcurrentAllocs, std::to_string(*kv.max_concurrent_allocs));
  if (!kv.io_engine.empty()) add(a, ec::kIoEngine, kv.io_engine);
  add_switch(a, ec::kDirectIo, kv.direct_io);
  if (kv.io_depth) add(a, ec::kIoDepth, std::to_string(*kv.io_depth));
  if (kv.io_chunk_mib) add(a, ec::kIoChunkMib, std::to_string(*kv.io_chunk_mib));
  if (!kv.gpu_backend.empty()) add(a, ec::kGpuBackend, kv.gpu_backend);
  add_switch(a, ec::kKeepCache, kv.keep_cache);
  a.insert(a.end(), kv.kvcache_params.begin(), kv.kvcache_params.end());
  return a;
}

RunPlan build_run_plan(const Invocation& inv, const std::string& datetime, const PlanEnv& env) {
  const KvcacheOptions& kv = inv.kv;
  RunPlan p;
  p.datetime = datetime;
  p.run_dir = run_dir_for(inv.uni.results_dir, kv.model, inv.command, datetime);
  p.engine = resolve_engine(kv, env, &p.engine_found);
  p.cache_dir_default = kv.cache_dir.empty();
  p.cache_dir = p.cache_dir_default ? p.run_dir / "kvcache_data"
                                    : stdfs::absolute(kv.cache_dir).lexically_normal();
  p.results_json = p.run_dir / ("kvcache_results_" + datetime + ".json");
  p.stdout_log = p.run_dir / ("kvcache_" + datetime + ".stdout.log");
  p.stderr_log = p.run_dir / ("kvcache_" + datetime + ".stderr.log");
  p.metadata_file = p.run_dir / ("kv_cache_" + datetime + "_metadata.json");
  p.cluster_info_file = p.run_dir / "kv_cache_cluster_info.json";
  p.log_file = p.run_dir / ("mlpstorage_" + datetime + ".log");
  p.engine_argv = engine_argv(kv, p.engine.string(), p.cache_dir.string(), p.results_json.string());
  p.use_mpi = kv.exec_type == "mpi" && !kv.hosts.empty();
  if (p.use_mpi) {
    MpiRequest req;
    req.mpi_bin = kv.mpi_bin;
    req.hosts = kv.hosts;
    req.num_processes = kv.num_processes.value_or(static_cast<int>(kv.hosts.size()));
    req.oversubscribe = kv.oversubscribe;
    req.allow_run_as_root = kv.allow_run_as_root;
    req.params = kv.mpi_params;
    p.launcher_argv = mpi_prefix(req, env.mpi);
    p.num_processes = req.num_processes;
  }
  return p;
}

}  // namespace kv::orchestrator
