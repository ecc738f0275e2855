#include "orchestrator/mpi.hpp"

#include <cstdlib>
#include <set>

#include "core/error.hpp"

namespace kv::orchestrator {

MpiEnv MpiEnv::from_process() {
  MpiEnv e;
  if (const char* v = std::getenv("MPI_RUN_BIN"); v && *v) e.run_bin = v;
  if (const char* v = std::getenv("MPI_EXEC_BIN"); v && *v) e.exec_bin = v;
  return e;
}

std::string launcher_binary(const std::string& mpi_bin, const MpiEnv& env) {
  if (mpi_bin == "mpirun") return env.run_bin.empty() ? std::string("mpirun") : env.run_bin;
  if (mpi_bin == "mpiexec") return env.exec_bin.empty() ? std::string("mpiexec") : env.exec_bin;
  throw usage_error("--mpi-bin",
                    "unsupported MPI command '" + mpi_bin + "' (use mpirun or mpiexec)");
}

static std::string host_name(const std::string& h) {
  return h.substr(0, h.find(':'));
}

int unique_host_count(const std::vector<std::string>& hosts) {
  std::set<std::string> names;
  for (const auto& h : hosts) names.insert(host_name(h));
  return static_cast<int>(names.size());
}

std::vector<std::string> host_slots(const std::vector<std::string>& hosts, int num_processes,
                                    bool oversubscribe) {
  if (hosts.empty()) throw usage_error("--hosts", "no hosts given for an MPI run");
  if (num_processes < 1) throw usage_error("--num-processes", "must be at least 1");
  std::size_t with_slots = 0;
  long long slot_sum = 0;
  for (const auto& h : hosts) {
    auto colon = h.find(':');
    if (colon == std::string::npos) continue;
    ++with_slots;
    const std::string s = h.substr(colon + 1);
    long long v = 0;
    try {
      v = std::stoll(s);
    } catch (...) {
      v = 0;
    }
    if (v < 1) throw usage_error("--hosts", "'" + h + "': slots must be a whole number >= 1");
    slot_sum += v;
  }
  if (with_slots != 0 && with_slots != hosts.size()) {
    throw usage_error(
        "--hosts", "mix of 'host' and 'host:slots' entries; give slots for every host or for none");
  }
  if (with_slots == hosts.size()) {
    if (slot_sum < num_processes && !oversubscribe) {
      throw usage_error("--num-processes",
                        "configured slots (" + std::to_string(slot_sum) +
                            ") are not sufficient to run " + std::to_string(num_processes) +
                            " processes; add slots to --hosts or pass --oversubscribe");
    }
    return hosts;
  }
  const int n_hosts = static_cast<int>(hosts.size());
  if (num_processes < n_hosts) {
    throw usage_error("--num-processes",
                      std::to_string(num_processes) + " processes cannot be spread over " +
                          std::to_string(n_hosts) +
                          " hosts (a host would get 0 slots); give fewer hosts or more processes");
  }
  const int base = num_processes / n_hosts, rem = num_processes % n_hosts;
  std::vector<std::string> out;
  out.reserve(hosts.size());
  for (int i = 0; i < n_hosts; ++i) {
    out.push_back(hosts[static_cast<std::size_t>(i)] + ":" +
                  std::to_string(base + (i < rem ? 1 : 0)));
  }
  return out;
}

std::vector<std::string> mpi_prefix(const MpiRequest& req, const MpiEnv& env) {
  std::vector<std::string> p;
  p.push_back(launcher_binary(req.mpi_bin, env));
  p.push_back("-n");
  p.push_back(std::to_string(req.num_processes));
  p.push_back("-host");
  std::string joined;
  for (const auto& h : host_slots(req.hosts, req.num_processes, req.oversubscribe)) {
    if (!joined.empty()) joined += ',';
    joined += h;
  }
  p.push_back(joined);
  p.push_back("--bind-to");
  p.push_back("none");
  p.push_back("--map-by");
  p.push_back(unique_host_count(req.hosts) > 1 ? "node" : "socket");
  if (req.oversubscribe) p.push_back("--oversubscribe");
  if (req.allow_run_as_root) p.push_back("--allow-run-as-root");
  for (const auto& t : req.params) p.push_back(t);
  return p;
}

}  // namespace kv::orchestrator
