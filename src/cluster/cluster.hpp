// Host facts for run metadata (docs/mlpstorage.md#cluster-information). Two layers:
//  1. HostInfo: the reference's raw per-host record (meminfo, cpuinfo, diskstats, netdev, version,
//     loadavg, uptime, os-release), read from /proc and /etc/os-release by collect_local_host().
//     It round-trips through JSON (to_json/from_json), so a later MPI gather can ship one record
//     per rank host as a string and rebuild it on rank 0.
//  2. normalise(hosts): the normalised summary (per-host memory/cpu/system blocks, totals, min/max
//     memory, consistency issues across hosts) that goes into metadata `system_info` and
//     `kv_cache_cluster_info.json`. It works for any number of hosts.
// The parse_* functions take file text and never touch the filesystem (unit-testable). Missing or
// unreadable sources never throw: the failure is recorded in HostInfo::errors.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kv::cluster {

// Ordered so the files read in the documented key order.
using Json = nlohmann::ordered_json;

// /proc/meminfo → {field: kB}. "HugePages_Total: 0" (no unit) is kept as the plain number.
std::map<std::string, std::uint64_t> parse_meminfo(std::string_view text);
// /proc/cpuinfo → one object per processor block; values that parse as int/float become numbers.
Json parse_cpuinfo(std::string_view text);
// /proc/diskstats → [{device_name, reads_completed, …}] (lines with < 14 fields skipped; discard
// fields from 18 columns on, flush fields from 20).
Json parse_diskstats(std::string_view text);
// /proc/net/dev → [{interface_name, rx_bytes, …, tx_compressed}] (two header lines skipped).
Json parse_netdev(std::string_view text);
// /proc/loadavg → {load_1min, load_5min, load_15min, running_processes, total_processes}.
Json parse_loadavg(std::string_view text);
// /etc/os-release → {KEY: value} with surrounding quotes stripped; comments/blank lines skipped.
std::map<std::string, std::string> parse_os_release(std::string_view text);
// /proc/uptime → first number (seconds); nullopt when it does not parse.
std::optional<double> parse_uptime(std::string_view text);
// Third token of /proc/version ("Linux version 6.1.0-18-amd64 …" → "6.1.0-18-amd64").
std::string kernel_version(std::string_view proc_version);

// The raw record of one host.
struct HostInfo {
  std::string hostname;
  std::string collection_timestamp;  // UTC "YYYY-MM-DDTHH:MM:SSZ"
  std::map<std::string, std::uint64_t> meminfo_kb;
  Json cpuinfo = Json::array();
  Json diskstats = Json::array();
  Json netdev = Json::array();
  std::string version;  // whole /proc/version line
  Json loadavg = Json::object();
  std::optional<double> uptime_seconds;
  std::map<std::string, std::string> os_release;
  std::string machine;  // uname -m, used when cpuinfo has no x86 flags (e.g. aarch64)
  std::map<std::string, std::string> errors;  // source → message, only for failures
  std::optional<int> mpi_rank;

  // Raw keys: hostname, collection_timestamp, meminfo, cpuinfo, diskstats, netdev, version,
  // loadavg, uptime_seconds, os_release, machine, errors (only when non-empty), mpi_rank (if set).
  Json to_json() const;
  static HostInfo from_json(const Json& j);
};

// Reads this host. The roots exist for tests (a fake /proc tree); defaults are the real ones.
HostInfo collect_local_host(const std::filesystem::path& proc_root = "/proc",
                            const std::filesystem::path& os_release_path = "/etc/os-release");

// The normalised model for N ≥ 0 hosts. `collection_method` is one of "local", "mpi",
// "local_fallback", "ssh", …; `requested_hosts` (may be empty) is recorded in `_metadata`.
// Consistency checks (memory spread > 10 %, differing core counts, OS VERSION_ID, kernel) run
// only with two or more hosts.
Json normalise(const std::vector<HostInfo>& hosts, const std::string& collection_method,
               const std::vector<std::string>& requested_hosts = {});

// Convenience for `mlpstorage kvcache run` today: normalise({collect_local_host()}, "local", …).
Json local_cluster_info(const std::vector<std::string>& requested_hosts = {});

}  // namespace kv::cluster
