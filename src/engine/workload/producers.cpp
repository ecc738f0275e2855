#include "engine/workload/producers.hpp"

#include <chrono>
#include <queue>
#include <vector>

#include "core/clock.hpp"

namespace kv::workload {

ArrivalScheduler::ArrivalScheduler(RequestFactory& factory, RequestQueue& queue, StopFlag& stop)
    : factory_(factory), queue_(queue), stop_(stop) {}

ArrivalScheduler::~ArrivalScheduler() { join(); }

void ArrivalScheduler::start(std::int64_t t0_ns) {
  thread_ = std::thread([this, t0_ns] { loop(t0_ns); });
}

void ArrivalScheduler::join() {
  if (thread_.joinable()) thread_.join();
}

void ArrivalScheduler::loop(std::int64_t t0_ns) {
  using Entry = std::pair<std::int64_t, std::uint32_t>;  // (fire time ns, user)
  std::priority_queue<Entry, std::vector<Entry>, std::greater<>> heap;
  const auto n = static_cast<std::uint32_t>(factory_.users().size());
  auto think_ns = [&](std::uint32_t u, std::uint64_t r) {
    return static_cast<std::int64_t>(factory_.think_time_s(u, r) * 1e9);
  };
  for (std::uint32_t u = 0; u < n; ++u) heap.emplace(t0_ns + think_ns(u, 0), u);

  // mono_ns() is steady_clock's epoch count, so a steady_clock time_point can be rebuilt from it.
  const auto to_tp = [](std::int64_t ns) {
    return std::chrono::steady_clock::time_point(
        std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::nanoseconds(ns)));
  };
  while (!heap.empty() && !stop_.stopped()) {
    const auto [fire, u] = heap.top();
    if (kv::mono_ns() < fire && stop_.wait_until(to_tp(fire))) break;
    heap.pop();
    Request req = factory_.make(u);
    req.submit_ns = kv::mono_ns();
    if (!queue_.push(std::move(req))) break;
    enqueued_.fetch_add(1, std::memory_order_relaxed);
    heap.emplace(fire + think_ns(u, factory_.requests_made(u)), u);
  }
}

}  // namespace kv::workload
