// Process resource usage (Linux): CPU times from getrusage(RUSAGE_SELF) and resident-set sizes
// from /proc/self/status (VmHWM = peak, VmRSS = current). Never throws; unknown values read as 0.
#pragma once

#include <cstdint>

namespace kv::metrics {

struct ResourceUsage {
  double user_cpu_s = 0;
  double sys_cpu_s = 0;
  std::uint64_t peak_rss_bytes = 0;
};

ResourceUsage resource_usage();
std::uint64_t current_rss_bytes();

}  // namespace kv::metrics
