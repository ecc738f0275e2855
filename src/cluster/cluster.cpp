#include "cluster/cluster.hpp"

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <ctime>
#include <fstream>
#include <set>
#include <sstream>

namespace kv::cluster {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) {
      if (start < text.size()) out.push_back(text.substr(start));
      break;
    }
    out.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return out;
}

std::vector<std::string_view> fields_of(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
    std::size_t j = i;
    while (j < line.size() && !std::isspace(static_cast<unsigned char>(line[j]))) ++j;
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

std::optional<std::uint64_t> to_u64(std::string_view s) {
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<std::int64_t> to_i64(std::string_view s) {
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::optional<double> to_double(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::string tmp(s);
  char* end = nullptr;
  double v = std::strtod(tmp.c_str(), &end);
  if (end != tmp.c_str() + tmp.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

// A cpuinfo value: int, then float, else the string itself.
Json typed_value(std::string_view v) {
  if (auto i = to_i64(v)) return *i;
  // Only plain decimal floats ("2899.998"); leave hex, versions and words as strings.
  bool plain = !v.empty() && std::all_of(v.begin(), v.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c)) || c == '.' || c == '-';
  });
  if (plain) {
    if (auto d = to_double(v)) return *d;
  }
  return std::string(v);
}

std::string utc_now_iso() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::optional<std::string> read_text(const std::filesystem::path& p, std::string& error) {
  std::ifstream in(p, std::ios::binary);
  if (!in) {
    error = "cannot open " + p.string();
    return std::nullopt;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const char* const kDiskFields[] = {"reads_completed",
                                   "reads_merged",
                                   "sectors_read",
                                   "time_reading_ms",
                                   "writes_completed",
                                   "writes_merged",
                                   "sectors_written",
                                   "time_writing_ms",
                                   "ios_in_progress",
                                   "time_doing_ios_ms",
                                   "weighted_time_doing_ios_ms",
                                   "discards_completed",
                                   "discards_merged",
                                   "sectors_discarded",
                                   "time_discarding_ms",
                                   "flush_requests_completed",
                                   "time_flushing_ms"};

const char* const kNetFields[] = {"rx_bytes", "rx_packets",    "rx_errors",     "rx_dropped",
                                  "rx_fifo",  "rx_frame",      "rx_compressed", "rx_multicast",
                                  "tx_bytes", "tx_packets",    "tx_errors",     "tx_dropped",
                                  "tx_fifo",  "tx_collisions", "tx_carrier",    "tx_compressed"};

}  // namespace

std::map<std::string, std::uint64_t> parse_meminfo(std::string_view text) {
  std::map<std::string, std::uint64_t> out;
  for (auto line : lines_of(text)) {
    auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    auto key = trim(line.substr(0, colon));
    auto f = fields_of(line.substr(colon + 1));
    if (key.empty() || f.empty()) continue;
    if (auto v = to_u64(f[0])) out[std::string(key)] = *v;
  }
  return out;
}

Json parse_cpuinfo(std::string_view text) {
  Json cpus = Json::array();
  Json cur = Json::object();
  for (auto line : lines_of(text)) {
    if (trim(line).empty()) {
      if (!cur.empty()) cpus.push_back(std::move(cur));
      cur = Json::object();
      continue;
    }
    auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    auto key = trim(line.substr(0, colon));
    auto val = trim(line.substr(colon + 1));
    if (key.empty()) continue;
    cur[std::string(key)] = typed_value(val);
  }
  if (!cur.empty()) cpus.push_back(std::move(cur));
  // Blocks without a "processor" key (ARM's trailing "Hardware/Revision" block) are not CPUs.
  Json out = Json::array();
  for (auto& c : cpus) {
    if (c.contains("processor")) out.push_back(std::move(c));
  }
  return out;
}

Json parse_diskstats(std::string_view text) {
  Json out = Json::array();
  for (auto line : lines_of(text)) {
    auto f = fields_of(line);
    if (f.size() < 14) continue;
    Json d = Json::object();
    d["device_name"] = std::string(f[2]);
    std::size_t n_numbers = f.size() - 3;
    std::size_t limit = 11;
    if (f.size() >= 18) limit = 15;
    if (f.size() >= 20) limit = 17;
    for (std::size_t i = 0; i < limit && i < n_numbers; ++i) {
      d[kDiskFields[i]] = to_u64(f[3 + i]).value_or(0);
    }
    out.push_back(std::move(d));
  }
  return out;
}

Json parse_netdev(std::string_view text) {
  Json out = Json::array();
  for (auto line : lines_of(text)) {
    auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;  // the two header lines have no ':'
    auto name = trim(line.substr(0, colon));
    auto f = fields_of(line.substr(colon + 1));
    if (name.empty() || f.size() < 16) continue;
    Json n = Json::object();
    n["interface_name"] = std::string(name);
    for (std::size_t i = 0; i < 16; ++i) n[kNetFields[i]] = to_u64(f[i]).value_or(0);
    out.push_back(std::move(n));
  }
  return out;
}

Json parse_loadavg(std::string_view text) {
  Json out = Json::object();
  auto f = fields_of(text);
  if (f.size() < 4) return out;
  out["load_1min"] = to_double(f[0]).value_or(0.0);
  out["load_5min"] = to_double(f[1]).value_or(0.0);
  out["load_15min"] = to_double(f[2]).value_or(0.0);
  auto slash = f[3].find('/');
  if (slash != std::string_view::npos) {
    out["running_processes"] = to_u64(f[3].substr(0, slash)).value_or(0);
    out["total_processes"] = to_u64(f[3].substr(slash + 1)).value_or(0);
  }
  return out;
}

std::map<std::string, std::string> parse_os_release(std::string_view text) {
  std::map<std::string, std::string> out;
  for (auto line : lines_of(text)) {
    auto t = trim(line);
    if (t.empty() || t.front() == '#') continue;
    auto eq = t.find('=');
    if (eq == std::string_view::npos) continue;
    auto key = trim(t.substr(0, eq));
    auto val = trim(t.substr(eq + 1));
    if (val.size() >= 2 && (val.front() == '"' || val.front() == '\'') &&
        val.back() == val.front()) {
      val = val.substr(1, val.size() - 2);
    }
    out[std::string(key)] = std::string(val);
  }
  return out;
}

std::optional<double> parse_uptime(std::string_view text) {
  auto f = fields_of(text);
  if (f.empty()) return std::nullopt;
  return to_double(f[0]);
}

std::string kernel_version(std::string_view proc_version) {
  auto f = fields_of(proc_version);
  return f.size() >= 3 ? std::string(f[2]) : std::string();
}

Json HostInfo::to_json() const {
  Json j = Json::object();
  j["hostname"] = hostname;
  j["collection_timestamp"] = collection_timestamp;
  Json mem = Json::object();
  for (const auto& [k, v] : meminfo_kb) mem[k] = v;
  j["meminfo"] = std::move(mem);
  j["cpuinfo"] = cpuinfo;
  j["diskstats"] = diskstats;
  j["netdev"] = netdev;
  j["version"] = version;
  j["loadavg"] = loadavg;
  j["uptime_seconds"] = uptime_seconds ? Json(*uptime_seconds) : Json(nullptr);
  Json os = Json::object();
  for (const auto& [k, v] : os_release) os[k] = v;
  j["os_release"] = std::move(os);
  j["machine"] = machine;
  if (!errors.empty()) {
    Json e = Json::object();
    for (const auto& [k, v] : errors) e[k] = v;
    j["errors"] = std::move(e);
  }
  if (mpi_rank) j["mpi_rank"] = *mpi_rank;
  return j;
}

HostInfo HostInfo::from_json(const Json& j) {
  HostInfo h;
  h.hostname = j.value("hostname", std::string());
  h.collection_timestamp = j.value("collection_timestamp", std::string());
  if (auto it = j.find("meminfo"); it != j.end() && it->is_object()) {
    for (auto m = it->begin(); m != it->end(); ++m) {
      if (m->is_number_unsigned() || m->is_number_integer())
        h.meminfo_kb[m.key()] = m->get<std::uint64_t>();
    }
  }
  if (auto it = j.find("cpuinfo"); it != j.end() && it->is_array()) h.cpuinfo = *it;
  if (auto it = j.find("diskstats"); it != j.end() && it->is_array()) h.diskstats = *it;
  if (auto it = j.find("netdev"); it != j.end() && it->is_array()) h.netdev = *it;
  h.version = j.value("version", std::string());
  if (auto it = j.find("loadavg"); it != j.end() && it->is_object()) h.loadavg = *it;
  if (auto it = j.find("uptime_seconds"); it != j.end() && it->is_number())
    h.uptime_seconds = it->get<double>();
  if (auto it = j.find("os_release"); it != j.end() && it->is_object()) {
    for (auto m = it->begin(); m != it->end(); ++m) {
      if (m->is_string()) h.os_release[m.key()] = m->get<std::string>();
    }
  }
  h.machine = j.value("machine", std::string());
  if (auto it = j.find("errors"); it != j.end() && it->is_object()) {
    for (auto m = it->begin(); m != it->end(); ++m) {
      h.errors[m.key()] = m->is_string() ? m->get<std::string>() : m->dump();
    }
  }
  if (auto it = j.find("mpi_rank"); it != j.end() && it->is_number_integer())
    h.mpi_rank = it->get<int>();
  return h;
}

HostInfo collect_local_host(const std::filesystem::path& proc_root,
                            const std::filesystem::path& os_release_path) {
  HostInfo h;
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) == 0) {
    h.hostname = name;
  } else {
    h.hostname = "unknown";
    h.errors["hostname"] = "gethostname failed";
  }
  h.collection_timestamp = utc_now_iso();
  struct utsname u {};
  if (::uname(&u) == 0) h.machine = u.machine;

  std::string err;
  if (auto t = read_text(proc_root / "meminfo", err))
    h.meminfo_kb = parse_meminfo(*t);
  else
    h.errors["meminfo"] = err;
  if (auto t = read_text(proc_root / "cpuinfo", err))
    h.cpuinfo = parse_cpuinfo(*t);
  else
    h.errors["cpuinfo"] = err;
  if (auto t = read_text(proc_root / "diskstats", err))
    h.diskstats = parse_diskstats(*t);
  else
    h.errors["diskstats"] = err;
  if (auto t = read_text(proc_root / "net" / "dev", err))
    h.netdev = parse_netdev(*t);
  else
    h.errors["netdev"] = err;
  if (auto t = read_text(proc_root / "version", err))
    h.version = std::string(trim(*t));
  else
    h.errors["version"] = err;
  if (auto t = read_text(proc_root / "loadavg", err))
    h.loadavg = parse_loadavg(*t);
  else
    h.errors["loadavg"] = err;
  if (auto t = read_text(proc_root / "uptime", err))
    h.uptime_seconds = parse_uptime(*t);
  else
    h.errors["uptime"] = err;
  if (auto t = read_text(os_release_path, err))
    h.os_release = parse_os_release(*t);
  else
    h.errors["os_release"] = err;
  return h;
}

namespace {

struct CpuSummary {
  int logical = 0;
  int physical = 0;
  int sockets = 0;
  std::string model;
  std::string arch;
};

std::string json_str(const Json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end()) return {};
  if (it->is_string()) return it->get<std::string>();
  return it->dump();
}

bool has_flag(const std::string& flags, std::string_view flag) {
  for (auto f : fields_of(flags)) {
    if (f == flag) return true;
  }
  return false;
}

CpuSummary summarise_cpu(const HostInfo& h) {
  CpuSummary c;
  c.logical = static_cast<int>(h.cpuinfo.size());
  std::set<std::pair<std::string, std::string>> cores;
  std::set<std::string> sockets;
  bool all_have_ids = c.logical > 0;
  for (const auto& cpu : h.cpuinfo) {
    if (cpu.contains("physical id") && cpu.contains("core id")) {
      cores.emplace(json_str(cpu, "physical id"), json_str(cpu, "core id"));
      sockets.insert(json_str(cpu, "physical id"));
    } else {
      all_have_ids = false;
    }
    if (c.model.empty()) {
      for (const char* k : {"model name", "Model", "cpu model", "Processor"}) {
        auto m = json_str(cpu, k);
        if (!m.empty()) {
          c.model = m;
          break;
        }
      }
    }
  }
  c.physical = (all_have_ids && !cores.empty()) ? static_cast<int>(cores.size()) : c.logical;
  c.sockets = sockets.empty() ? (c.logical > 0 ? 1 : 0) : static_cast<int>(sockets.size());
  std::string flags = h.cpuinfo.empty() ? std::string() : json_str(h.cpuinfo.front(), "flags");
  if (has_flag(flags, "lm")) {
    c.arch = "x86_64";
  } else if (has_flag(flags, "tm")) {
    c.arch = "i686";
  } else if (!h.machine.empty()) {
    c.arch = h.machine;
  } else {
    std::string lower = c.model;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    if (lower.find("aarch64") != std::string::npos || lower.find("arm") != std::string::npos ||
        lower.find("neoverse") != std::string::npos) {
      c.arch = "aarch64";
    } else if (lower.find("intel") != std::string::npos || lower.find("amd") != std::string::npos) {
      c.arch = "x86_64";
    } else {
      c.arch = "unknown";
    }
  }
  return c;
}

std::uint64_t kb(const HostInfo& h, const char* key) {
  auto it = h.meminfo_kb.find(key);
  return it == h.meminfo_kb.end() ? 0 : it->second * 1024ULL;
}

Json host_memory(const HostInfo& h) {
  const std::uint64_t total = kb(h, "MemTotal"), free = kb(h, "MemFree"),
                      buffers = kb(h, "Buffers"), cached = kb(h, "Cached");
  const std::uint64_t sub = free + buffers + cached;
  Json m = Json::object();
  m["total"] = total;
  m["available"] = kb(h, "MemAvailable");
  m["used"] = total > sub ? total - sub : 0;
  m["free"] = free;
  m["active"] = kb(h, "Active");
  m["inactive"] = kb(h, "Inactive");
  m["buffers"] = buffers;
  m["cached"] = cached;
  m["shared"] = kb(h, "Shmem");
  return m;
}

}  // namespace

Json normalise(const std::vector<HostInfo>& hosts, const std::string& collection_method,
               const std::vector<std::string>& requested_hosts) {
  const std::string now = utc_now_iso();
  Json host_list = Json::array();
  std::uint64_t total_mem = 0, min_mem = 0, max_mem = 0;
  int total_cores = 0;
  std::vector<int> cores_per_host;
  std::vector<std::string> names;
  for (std::size_t i = 0; i < hosts.size(); ++i) {
    const HostInfo& h = hosts[i];
    Json hj = Json::object();
    hj["hostname"] = h.hostname;
    Json mem = host_memory(h);
    const std::uint64_t t = mem["total"].get<std::uint64_t>();
    hj["memory"] = std::move(mem);
    hj["collection_timestamp"] = h.collection_timestamp;
    CpuSummary c = summarise_cpu(h);
    if (c.logical > 0) {
      hj["cpu"] = Json{{"num_cores", c.physical},
                       {"num_logical_cores", c.logical},
                       {"num_sockets", c.sockets},
                       {"model", c.model},
                       {"architecture", c.arch}};
    }
    if (!h.diskstats.empty()) hj["disks"] = h.diskstats;
    if (!h.netdev.empty()) hj["network"] = h.netdev;
    Json sys = Json::object();
    sys["hostname"] = h.hostname;
    sys["kernel_version"] = kernel_version(h.version);
    Json os = Json::object();
    for (const auto& [k, v] : h.os_release) os[k] = v;
    sys["os_release"] = std::move(os);
    sys["uptime_seconds"] = h.uptime_seconds ? Json(*h.uptime_seconds) : Json(nullptr);
    for (const char* k : {"load_1min", "load_5min", "load_15min"}) {
      std::string out = std::string("load_average_") + (k + 5);
      sys[out] = h.loadavg.contains(k) ? h.loadavg[k] : Json(nullptr);
    }
    sys["running_processes"] =
        h.loadavg.contains("running_processes") ? h.loadavg["running_processes"] : Json(nullptr);
    sys["total_processes"] =
        h.loadavg.contains("total_processes") ? h.loadavg["total_processes"] : Json(nullptr);
    hj["system"] = std::move(sys);
    if (!h.errors.empty()) {
      Json e = Json::object();
      for (const auto& [k, v] : h.errors) e[k] = v;
      hj["collection_errors"] = std::move(e);
    }
    host_list.push_back(std::move(hj));

    total_mem += t;
    if (i == 0 || t < min_mem) min_mem = t;
    if (i == 0 || t > max_mem) max_mem = t;
    total_cores += c.physical;
    cores_per_host.push_back(c.physical);
    names.push_back(h.hostname);
  }

  std::vector<std::string> issues;
  if (hosts.size() >= 2) {
    if (min_mem > 0 &&
        static_cast<double>(max_mem - min_mem) / static_cast<double>(min_mem) > 0.10) {
      issues.push_back(
          "Memory varies by " +
          std::to_string(static_cast<int>(std::lround(
              100.0 * static_cast<double>(max_mem - min_mem) / static_cast<double>(min_mem)))) +
          "% across hosts (min " + std::to_string(min_mem) + " bytes, max " +
          std::to_string(max_mem) + " bytes)");
    }
    if (std::adjacent_find(cores_per_host.begin(), cores_per_host.end(), std::not_equal_to<>()) !=
        cores_per_host.end()) {
      std::string s = "CPU core counts differ:";
      for (std::size_t i = 0; i < hosts.size(); ++i) {
        s += (i ? ", " : " ") + names[i] + "=" + std::to_string(cores_per_host[i]);
      }
      issues.push_back(s);
    }
    auto differs = [&](auto get, const char* what) {
      std::set<std::string> values;
      for (const auto& h : hosts) values.insert(get(h));
      if (values.size() > 1) {
        std::string s = std::string(what) + " differ:";
        for (std::size_t i = 0; i < hosts.size(); ++i)
          s += (i ? ", " : " ") + names[i] + "=" + get(hosts[i]);
        issues.push_back(s);
      }
    };
    differs(
        [](const HostInfo& h) {
          auto it = h.os_release.find("VERSION_ID");
          return it == h.os_release.end() ? std::string("unknown") : it->second;
        },
        "OS versions (VERSION_ID)");
    differs([](const HostInfo& h) { return kernel_version(h.version); }, "Kernel versions");
  }

  Json out = Json::object();
  out["total_memory_bytes"] = total_mem;
  out["total_cores"] = total_cores;
  out["num_hosts"] = hosts.size();
  out["min_memory_bytes"] = min_mem;
  out["max_memory_bytes"] = max_mem;
  out["collection_method"] = collection_method;
  out["collection_timestamp"] = now;
  if (!host_list.empty()) out["hosts"] = std::move(host_list);
  if (!issues.empty()) out["host_consistency_issues"] = issues;
  out["_metadata"] = Json{{"collection_method", collection_method},
                          {"requested_hosts", requested_hosts},
                          {"collection_timestamp", now},
                          {"hosts_collected", names}};
  return out;
}

Json local_cluster_info(const std::vector<std::string>& requested_hosts) {
  return normalise({collect_local_host()}, "local", requested_hosts);
}

}  // namespace kv::cluster
