// A stop flag that sleeping threads can wait on (think times, generation sleeps, the run timer):
// request_stop() wakes every waiter at once. Not async-signal-safe: signal handlers set their own
// flag, which the runner polls and turns into request_stop().
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>

namespace kv::workload {

class StopFlag {
 public:
  void request_stop() {
    {
      std::lock_guard lk(mu_);
      stop_.store(true, std::memory_order_release);
    }
    cv_.notify_all();
  }
  bool stopped() const { return stop_.load(std::memory_order_acquire); }
  // Sleeps up to `d`; returns true if stop was requested (immediately or during the sleep).
  template <class Rep, class Period>
  bool wait_for(std::chrono::duration<Rep, Period> d) {
    std::unique_lock lk(mu_);
    return cv_.wait_for(lk, d, [&] { return stopped(); });
  }
  template <class Clock, class Dur>
  bool wait_until(std::chrono::time_point<Clock, Dur> t) {
    std::unique_lock lk(mu_);
    return cv_.wait_until(lk, t, [&] { return stopped(); });
  }
  // The flag itself, for code that only polls (e.g. an I/O layer checking between chunks).
  const std::atomic<bool>& flag() const { return stop_; }

 private:
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable cv_;
};

}  // namespace kv::workload
