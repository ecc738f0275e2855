// The unbounded request queue (docs/reference-behaviour.md#request-pipeline): strict priority order
// (higher priority first), FIFO within a priority by a global enqueue sequence number, so two
// requests never compare equal (the reference's (−priority, wall clock) key could tie and crash).
// Thread-safe; pop() blocks up to a timeout; close() wakes every waiter and drops what is queued.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <queue>
#include <vector>

#include "engine/workload/request.hpp"

namespace kv::workload {

class RequestQueue {
 public:
  // Assigns req.seq and enqueues. Returns false (request dropped) once closed.
  bool push(Request req);
  // Highest-priority, oldest request; nullopt after `timeout` or once closed.
  std::optional<Request> pop(std::chrono::milliseconds timeout);
  // Stops accepting and handing out requests; returns how many queued requests were dropped.
  std::size_t close();
  bool closed() const;
  std::size_t size() const;
  std::size_t max_size() const;  // high-water mark

 private:
  struct Order {
    bool operator()(const Request& a, const Request& b) const {  // true: a after b
      if (a.priority != b.priority) return a.priority < b.priority;
      return a.seq > b.seq;
    }
  };
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::priority_queue<Request, std::vector<Request>, Order> q_;
  std::uint64_t next_seq_ = 0;
  std::size_t max_size_ = 0;
  bool closed_ = false;
};

}  // namespace kv::workload
