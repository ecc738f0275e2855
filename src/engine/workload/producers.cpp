#include "engine/workload/producers.hpp"

#include <algorithm>
#include <chrono>
#include <queue>
#include <vector>

#include "core/clock.hpp"
#include "core/wait_ns.hpp"

namespace kv::workload {

ArrivalScheduler::ArrivalScheduler(RequestFactory& factory, RequestQueue& queue, StopFlag& stop)
    : factory_(factory), queue_(queue), stop_(stop),
      active_(static_cast<std::uint32_t>(factory.users().size())) {}

void ArrivalScheduler::set_active_users(std::uint32_t n) {
  const auto total = static_cast<std::uint32_t>(factory_.users().size());
  active_.store(std::clamp<std::uint32_t>(n, 1, std::max<std::uint32_t>(total, 1)));
}

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
    return kv::seconds_to_wait_ns(factory_.think_time_s(u, r));
  };
  // Users [0, live) are scheduled; a stopped user leaves the heap when its turn comes.
  std::vector<char> in_heap(n, 0);
  std::uint32_t live = std::min(active_.load(), n);
  for (std::uint32_t u = 0; u < live; ++u) {
    heap.emplace(kv::add_ns(t0_ns, think_ns(u, 0)), u);
    in_heap[u] = 1;
  }
  constexpr std::int64_t kPollNs = 50'000'000;  // how soon a change of active users is seen

  // mono_ns() is steady_clock's epoch count, so a steady_clock time_point can be rebuilt from it.
  const auto to_tp = [](std::int64_t ns) {
    return std::chrono::steady_clock::time_point(
        std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::nanoseconds(ns)));
  };
  while (!stop_.stopped()) {
    const std::uint32_t want = std::min(active_.load(), n);
    if (want > live) {  // producers started: each fires after one think time from now
      const std::int64_t now = kv::mono_ns();
      for (std::uint32_t u = live; u < want; ++u) {
        if (in_heap[u]) continue;
        heap.emplace(kv::add_ns(now, think_ns(u, factory_.requests_made(u))), u);
        in_heap[u] = 1;
      }
    }
    live = want;
    if (heap.empty()) {
      if (stop_.wait_for(std::chrono::nanoseconds(kPollNs))) break;
      continue;
    }
    const auto [fire, u] = heap.top();
    const std::int64_t now = kv::mono_ns();
    if (now < fire) {
      if (stop_.wait_until(to_tp(std::min(fire, kv::add_ns(now, kPollNs))))) break;
      continue;
    }
    heap.pop();
    if (u >= live) {  // producer stopped
      in_heap[u] = 0;
      continue;
    }
    Request req = factory_.make(u);
    if (req.request_index == 0) users_started_.fetch_add(1, std::memory_order_relaxed);
    req.submit_ns = kv::mono_ns();
    std::optional<Request> extra;
    if (follow_up_) extra = follow_up_(req);
    if (!queue_.push(std::move(req))) break;
    enqueued_.fetch_add(1, std::memory_order_relaxed);
    if (extra) {
      extra->submit_ns = kv::mono_ns();
      if (!queue_.push(std::move(*extra))) break;
      enqueued_.fetch_add(1, std::memory_order_relaxed);
    }
    heap.emplace(kv::add_ns(fire, think_ns(u, factory_.requests_made(u))), u);
  }
}

}  // namespace kv::workload
