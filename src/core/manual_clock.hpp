// A Clock for tests (core/clock.hpp): time moves only forward and only when someone sleeps on it
// or calls advance_to(); a sleep_until(t) moves the time to t at once (virtual time, as LevelDB's
// test Env with mocked sleeps), so code that waits for minutes runs instantly and reproducibly.
#pragma once

#include <atomic>
#include <cstdint>

#include "core/clock.hpp"

namespace kv {

class ManualClock final : public Clock {
 public:
  explicit ManualClock(std::int64_t start_ns = 1'000'000'000) : now_(start_ns) {}
  std::int64_t now_ns() const override { return now_.load(); }
  bool sleep_until(std::int64_t t_ns, const RealWait& /*real_wait*/) const override {
    advance_to(t_ns);
    return false;
  }
  // Moves the time to t_ns unless it is already later.
  void advance_to(std::int64_t t_ns) const {
    std::int64_t cur = now_.load();
    while (cur < t_ns && !now_.compare_exchange_weak(cur, t_ns)) {
    }
  }

 private:
  mutable std::atomic<std::int64_t> now_;
};

}  // namespace kv
