// Clocks: monotonic nanoseconds for latencies, wall time for timestamps.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace kv {

inline std::int64_t mono_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
inline double mono_s() { return static_cast<double>(mono_ns()) * 1e-9; }
inline double wall_s() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}
// Local time formatted with strftime, e.g. "%Y%m%d_%H%M%S".
std::string local_time_string(const char* strftime_format);

}  // namespace kv
