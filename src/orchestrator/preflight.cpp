#include "orchestrator/preflight.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "core/units.hpp"
#include "model/model.hpp"
#include "orchestrator/datasize.hpp"
#include "orchestrator/logger.hpp"

namespace kv::orchestrator {

namespace stdfs = std::filesystem;

namespace {

std::optional<double> read_mem_available() {
  std::ifstream in("/proc/meminfo");
  std::string key, unit;
  long long kb = 0;
  while (in >> key >> kb) {
    std::getline(in, unit);
    if (key == "MemAvailable:") return static_cast<double>(kb) * 1024.0;
  }
  return std::nullopt;
}

std::optional<double> statvfs_free(const stdfs::path& p) {
  struct statvfs v {};
  if (::statvfs(existing_ancestor(p).c_str(), &v) != 0) return std::nullopt;
  return static_cast<double>(v.f_bavail) * static_cast<double>(v.f_frsize);
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool host_is_this_machine(const std::string& host_in) {
  const std::string host = lower(host_in);
  if (host == "localhost" || host == "localhost.localdomain" || host == "::1" ||
      host.rfind("127.", 0) == 0)
    return true;
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) == 0) {
    const std::string full = lower(name);
    if (host == full || host == full.substr(0, full.find('.'))) return true;
  }
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return false;
  bool found = false;
  for (ifaddrs* a = list; a != nullptr && !found; a = a->ifa_next) {
    if (a->ifa_addr == nullptr) continue;
    char buf[INET6_ADDRSTRLEN] = {};
    const int fam = a->ifa_addr->sa_family;
    const void* src =
        fam == AF_INET
            ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr)
        : fam == AF_INET6
            ? static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(a->ifa_addr)->sin6_addr)
            : nullptr;
    if (src != nullptr && ::inet_ntop(fam, src, buf, sizeof buf) != nullptr) found = host == buf;
  }
  ::freeifaddrs(list);
  return found;
}

std::string gib_text(double bytes) {
  return fmt::format("{:.1f} GiB", bytes / kv::kGiB);
}

std::string ranks_text(int n) {
  return fmt::format("{} rank{}", n, n == 1 ? "" : "s");
}

// "use A, B or C" from the non-empty alternatives.
std::string alternatives(const std::vector<std::string>& alts) {
  std::string s;
  for (std::size_t i = 0; i < alts.size(); ++i)
    s += (i == 0 ? "" : i + 1 == alts.size() ? ", or " : ", ") + alts[i];
  return "use " + s;
}

ResourceCheck check_memory(const ResourceDemand& d, const HostProbe& probe,
                           std::vector<PreflightProblem>& problems) {
  ResourceCheck c{"CPU tier memory", ResourceCheck::Result::kOk, {}};
  if (d.cpu_gib_per_rank <= 0) {
    c.detail = "no CPU tier (--cpu-mem-gb 0)";
    return c;
  }
  if (!d.cpu_tier_in_memory) {
    c.detail = "not allocated (the engine's --io-trace-log runs without real tiers)";
    return c;
  }
  if (d.local_ranks <= 0) {
    c.result = ResourceCheck::Result::kNotChecked;
    c.detail = "no rank runs on this host";
    return c;
  }
  const auto avail = probe.mem_available ? probe.mem_available() : std::nullopt;
  const double need = d.cpu_gib_per_rank * kv::kGiB * d.local_ranks;
  const std::string need_text = fmt::format("{} ({} GiB x {})", gib_text(need), d.cpu_gib_per_rank,
                                            ranks_text(d.local_ranks));
  if (!avail) {
    c.result = ResourceCheck::Result::kNotChecked;
    c.detail = "needs " + need_text + "; MemAvailable is unknown on this host";
    return c;
  }
  if (need <= *avail) {
    c.detail = need_text + " of " + gib_text(*avail) + " MemAvailable";
    return c;
  }
  c.result = ResourceCheck::Result::kProblem;
  // The engine's rule for the value to suggest: 80 % of MemAvailable, rounded down to 0.1 GiB.
  const double fit = std::floor(*avail * 0.8 / d.local_ranks / kv::kGiB * 10) / 10;
  std::vector<std::string> alts;
  if (!d.cpu_flag_locked)
    alts.push_back(fit >= 0.1 ? fmt::format("--cpu-mem-gb {} or less", fit)
                              : std::string("--cpu-mem-gb 0 (no CPU tier)"));
  const int ranks_fit =
      static_cast<int>(std::floor(*avail * 0.8 / (d.cpu_gib_per_rank * kv::kGiB)));
  if (!d.ranks_flag.empty() && ranks_fit >= 1 && d.local_ranks == d.ranks_per_host)
    alts.push_back(fmt::format("{} {} or fewer", d.ranks_flag, ranks_fit));
  alts.push_back("a host with more free memory");
  c.detail = fmt::format("needs {} but only {} is available", need_text, gib_text(*avail));
  problems.push_back(PreflightProblem{
      ExitCode::kInvalidArguments,
      fmt::format("--cpu-mem-gb: the CPU tier needs {} on this host but only {} is available "
                  "(MemAvailable)",
                  need_text, gib_text(*avail)),
      alternatives(alts)});
  return c;
}

ResourceCheck check_storage(const ResourceDemand& d, const HostProbe& probe,
                            std::vector<PreflightProblem>& problems) {
  ResourceCheck c{"cache-dir space", ResourceCheck::Result::kOk, {}};
  if (d.local_ranks <= 0) {
    c.result = ResourceCheck::Result::kNotChecked;
    c.detail = "no rank runs on this host";
    return c;
  }
  const double need = d.storage_bytes_per_rank * d.local_ranks;
  const std::string need_text =
      fmt::format("{} (1x KV footprint: {} x {})", human_bytes(need),
                  human_bytes(d.storage_bytes_per_rank), ranks_text(d.local_ranks));
  const auto free = probe.free_bytes ? probe.free_bytes(d.cache_dir) : std::nullopt;
  const std::string where = existing_ancestor(d.cache_dir).string();
  if (!free) {
    c.result = ResourceCheck::Result::kNotChecked;
    c.detail = "needs " + need_text + "; free space of " + where + " is unknown";
    return c;
  }
  if (need <= *free) {
    c.detail = need_text + " of " + human_bytes(*free) + " free on " + where;
    return c;
  }
  c.result = ResourceCheck::Result::kProblem;
  std::vector<std::string> alts;
  if (d.storage_bytes_per_user > 0) {
    const auto users =
        static_cast<long long>(std::floor(*free / (d.storage_bytes_per_user * d.local_ranks)));
    if (users >= 1) alts.push_back(fmt::format("--num-users {} or fewer", users));
  }
  const auto ranks_fit = static_cast<int>(std::floor(*free / d.storage_bytes_per_rank));
  if (!d.ranks_flag.empty() && ranks_fit >= 1 && d.local_ranks == d.ranks_per_host)
    alts.push_back(fmt::format("{} {} or fewer", d.ranks_flag, ranks_fit));
  alts.push_back(fmt::format("a --cache-dir with at least {} free", human_bytes(need)));
  c.detail =
      fmt::format("needs {} but only {} is free on {}", need_text, human_bytes(*free), where);
  problems.push_back(PreflightProblem{
      ExitCode::kInvalidArguments,
      fmt::format("--cache-dir: the run writes up to {} on this host but only {} is free on {}",
                  need_text, human_bytes(*free), where),
      alternatives(alts)});
  return c;
}

}  // namespace

stdfs::path existing_ancestor(stdfs::path p) {
  std::error_code ec;
  p = stdfs::absolute(p, ec).lexically_normal();
  while (!stdfs::exists(p, ec) && p.has_parent_path() && p.parent_path() != p) p = p.parent_path();
  return p;
}

HostProbe HostProbe::from_process() {
  HostProbe p;
  p.mem_available = read_mem_available;
  p.free_bytes = statvfs_free;
  p.is_local = host_is_this_machine;
  return p;
}

HostSplit split_local_hosts(const std::vector<std::string>& hosts, const HostProbe& probe) {
  HostSplit s;
  for (const auto& h : hosts) {
    const std::string name = h.substr(0, h.find(':'));
    if (probe.is_local && probe.is_local(name))
      s.local.push_back(h);
    else if (std::find(s.remote.begin(), s.remote.end(), name) == s.remote.end())
      s.remote.push_back(name);
  }
  return s;
}

ResourceReport check_resources(const ResourceDemand& d, const HostProbe& probe) {
  ResourceReport r;
  r.checks.push_back(check_memory(d, probe, r.problems));
  r.checks.push_back(check_storage(d, probe, r.problems));
  if (!d.remote_hosts.empty()) {
    std::string names;
    for (const auto& h : d.remote_hosts) names += (names.empty() ? "" : ", ") + h;
    r.checks.push_back(ResourceCheck{
        "remote hosts", ResourceCheck::Result::kNotChecked,
        names + ": cannot be queried before the launch (the engine checks its memory and "
                "cache directory on each rank when it starts)"});
  }
  return r;
}

void add_resource_problems(const ResourceReport& r, bool downgrade,
                           std::vector<PreflightProblem>& out) {
  for (const auto& p : r.problems) {
    if (downgrade)
      logger().warning("pre-flight (--skip-validation): {} ({})", p.message, p.hint);
    else
      out.push_back(p);
  }
}

std::string render_resource_checks(const std::vector<ResourceCheck>& checks) {
  std::string s = "Pre-flight checks of this host:\n";
  for (const auto& c : checks) {
    const char* verdict = c.result == ResourceCheck::Result::kOk        ? "ok"
                          : c.result == ResourceCheck::Result::kProblem ? "PROBLEM"
                                                                        : "not checked";
    s += fmt::format("  {}: {}: {}\n", c.what, verdict, c.detail);
  }
  return s;
}

ResourceDemand run_demand(const Invocation& inv, const RunPlan& plan, const HostProbe& probe) {
  const KvcacheOptions& kv = inv.kv;
  ResourceDemand d;
  d.cpu_gib_per_rank = kv.cpu_mem_gb;
  d.cpu_tier_in_memory =
      std::none_of(kv.kvcache_params.begin(), kv.kvcache_params.end(),
                   [](const std::string& t) { return t.rfind("--io-trace-log", 0) == 0; });
  const DatasizeEstimate est =
      estimate_datasize(kv::model::ModelTable::builtin().get(kv.model, "--model"), kv.num_users,
                        kv.gpu_mem_gb, kv.cpu_mem_gb);
  d.storage_bytes_per_rank = est.total_bytes;
  d.storage_bytes_per_user = est.per_user_mean_bytes;
  d.cache_dir = plan.cache_dir;
  place_ranks(kv, plan.use_mpi, plan.num_processes, probe, d);
  return d;
}

void place_ranks(const KvcacheOptions& kv, bool use_mpi, int num_processes, const HostProbe& probe,
                 ResourceDemand& d) {
  d.local_ranks = 1;
  d.remote_hosts.clear();
  if (!use_mpi) return;  // one local engine process
  const HostSplit split =
      split_local_hosts(host_slots(kv.hosts, num_processes, kv.oversubscribe), probe);
  d.local_ranks = 0;
  for (const auto& h : split.local) d.local_ranks += std::stoi(h.substr(h.find(':') + 1));
  d.remote_hosts = split.remote;
}

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
