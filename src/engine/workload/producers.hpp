// Open-loop arrivals (docs/reference-behaviour.md#request-pipeline): every user sleeps its think
// time × U(0.8, 1.2), then enqueues its next request, without waiting for the previous one to
// finish. The reference runs one Python thread per user; we run ONE scheduler thread that keeps
// each user's next arrival time in a min-heap, which gives the same per-user arrival process
// (fire_k = fire_{k-1} + think_k, from the start time) for up to 100,000 users without 100,000
// threads. Requests are built by the RequestFactory (deterministic per seed) and stamped with
// submit time = actual enqueue time. Workload modes: only users [0, active_users) produce (the
// autoscaler starts and stops producers with set_active_users; a restarted user resumes its own
// request sequence after one think time), and an optional follow-up may enqueue one extra request
// after each request (RAG).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <thread>

#include "engine/workload/request_factory.hpp"
#include "engine/workload/request_queue.hpp"
#include "engine/workload/stop.hpp"

namespace kv::workload {

class ArrivalScheduler {
 public:
  ArrivalScheduler(RequestFactory& factory, RequestQueue& queue, StopFlag& stop);
  ~ArrivalScheduler();
  // Starts the thread; arrivals are timed from t0 (kv::mono_ns()).
  void start(std::int64_t t0_ns);
  void join();
  std::uint64_t enqueued() const { return enqueued_.load(); }

  // Called after each request of a user is enqueued; a returned request is enqueued right after it.
  using FollowUp = std::function<std::optional<Request>(const Request&)>;
  void set_follow_up(FollowUp f) { follow_up_ = std::move(f); }  // before start()
  // Users [0, n) produce requests, clamped to [1, users]. Any thread, any time.
  void set_active_users(std::uint32_t n);
  std::uint32_t active_users() const { return active_.load(); }
  // Users that have enqueued at least one request.
  std::uint32_t users_started() const { return users_started_.load(); }

 private:
  void loop(std::int64_t t0_ns);
  RequestFactory& factory_;
  RequestQueue& queue_;
  StopFlag& stop_;
  std::thread thread_;
  std::atomic<std::uint64_t> enqueued_{0};
  FollowUp follow_up_;
  std::atomic<std::uint32_t> active_{0};
  std::atomic<std::uint32_t> users_started_{0};
};

}  // namespace kv::workload
