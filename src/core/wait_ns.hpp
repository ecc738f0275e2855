// Overflow-free wait arithmetic: the waits the workload derives from inputs (think times, trace
// gaps, request rates, simulated transfer times) turned into nanoseconds and added to instants.
#pragma once

#include <cstdint>
#include <limits>

namespace kv {

// Nanoseconds of a wait given as a double, clamped to [0, kMaxWaitNs] (NaN and negatives: 0), so
// a hostile input (a think time or trace gap of 1e300 s, a request rate of 1e-300/s) can neither
// overflow the conversion nor the instant it is added to.
inline constexpr std::int64_t kMaxWaitNs = 366LL * 86400 * 1'000'000'000;  // a year
inline constexpr std::int64_t clamp_wait_ns(double ns) {
  if (!(ns > 0)) return 0;
  return ns >= static_cast<double>(kMaxWaitNs) ? kMaxWaitNs : static_cast<std::int64_t>(ns);
}
inline constexpr std::int64_t seconds_to_wait_ns(double seconds) {
  return clamp_wait_ns(seconds * 1e9);
}
// t + d, saturating at the int64 limits (an instant past them never comes).
inline constexpr std::int64_t add_ns(std::int64_t t, std::int64_t d) {
  std::int64_t r = 0;
  if (__builtin_add_overflow(t, d, &r))
    return d > 0 ? std::numeric_limits<std::int64_t>::max()
                 : std::numeric_limits<std::int64_t>::min();
  return r;
}

}  // namespace kv
