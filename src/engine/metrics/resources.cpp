#include "engine/metrics/resources.hpp"

#include <sys/resource.h>

#include <cstdio>
#include <cstring>

namespace kv::metrics {

namespace {

// Reads "<key>:   <n> kB" from /proc/self/status; 0 when absent.
std::uint64_t proc_status_kb(const char* key) {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return 0;
  char line[256];
  const std::size_t klen = std::strlen(key);
  std::uint64_t kb = 0;
  while (std::fgets(line, sizeof line, f) != nullptr) {
    if (std::strncmp(line, key, klen) == 0 && line[klen] == ':') {
      unsigned long long v = 0;
      if (std::sscanf(line + klen + 1, "%llu", &v) == 1) kb = v;
      break;
    }
  }
  std::fclose(f);
  return kb;
}

double tv_seconds(const timeval& tv) {
  return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) * 1e-6;
}

}  // namespace

ResourceUsage resource_usage() {
  ResourceUsage r;
  rusage ru{};
  if (getrusage(RUSAGE_SELF, &ru) == 0) {
    r.user_cpu_s = tv_seconds(ru.ru_utime);
    r.sys_cpu_s = tv_seconds(ru.ru_stime);
    r.peak_rss_bytes = static_cast<std::uint64_t>(ru.ru_maxrss) * 1024;  // Linux: kB
  }
  if (const std::uint64_t hwm = proc_status_kb("VmHWM"); hwm != 0) r.peak_rss_bytes = hwm * 1024;
  return r;
}

std::uint64_t current_rss_bytes() { return proc_status_kb("VmRSS") * 1024; }

}  // namespace kv::metrics
