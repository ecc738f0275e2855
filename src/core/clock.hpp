// Clocks: monotonic nanoseconds for latencies, wall time for timestamps; and the injectable
// monotonic Clock (the seam LevelDB's Env::NowMicros gives) through which the run loop, the
// recorder and the replay producers read time and wait, so tests can run them on a ManualClock
// (core/manual_clock.hpp) instead of sleeping.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace kv {

inline std::int64_t mono_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
inline double mono_s() {
  return static_cast<double>(mono_ns()) * 1e-9;
}
inline double wall_s() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}
class Clock {
 public:
  // A real wait on the caller's own condition (e.g. a StopFlag) until a steady-clock instant;
  // returns true when the condition ended it early.
  using RealWait = std::function<bool(std::chrono::steady_clock::time_point)>;

  virtual ~Clock() = default;
  // Monotonic nanoseconds.
  virtual std::int64_t now_ns() const = 0;
  // Waits until now_ns() >= t_ns. The real clock waits through `real_wait` (so the caller's
  // condition can end the wait, result true); a manual clock instead moves its own time to t_ns
  // and returns false at once.
  virtual bool sleep_until(std::int64_t t_ns, const RealWait& real_wait) const = 0;
};

// kv::mono_ns() and real waits.
class RealClock final : public Clock {
 public:
  std::int64_t now_ns() const override { return mono_ns(); }
  bool sleep_until(std::int64_t t_ns, const RealWait& real_wait) const override {
    if (mono_ns() >= t_ns) return false;
    return real_wait(std::chrono::steady_clock::time_point(
        std::chrono::duration_cast<std::chrono::steady_clock::duration>(
            std::chrono::nanoseconds(t_ns))));
  }
};

// The process's real clock.
inline const Clock& real_clock() {
  static const RealClock c;
  return c;
}

// Local time formatted with strftime, e.g. "%Y%m%d_%H%M%S".
std::string local_time_string(const char* strftime_format);

}  // namespace kv
