// RequestQueue: priority first, FIFO within a priority even for identical
// timestamps, timeouts, close() drops what is queued.
#include "engine/workload/request_queue.hpp"

#include <gtest/gtest.h>

#include <thread>

using namespace kv::workload;
using namespace std::chrono_literals;

namespace {
Request req(int priority, std::uint64_t id, std::int64_t submit_ns = 1000) {
  Request r;
  r.priority = priority;
  r.request_index = id;
  r.submit_ns = submit_ns;  // identical timestamps: the reference's key would tie
  return r;
}
}  // namespace

TEST(RequestQueue, PriorityThenFifoWithTies) {
  RequestQueue q;
  q.push(req(1, 0));
  q.push(req(3, 1));
  q.push(req(2, 2));
  q.push(req(3, 3));
  q.push(req(1, 4));
  q.push(req(3, 5));
  std::vector<std::uint64_t> order;
  while (auto r = q.pop(1ms)) order.push_back(r->request_index);
  EXPECT_EQ(order, (std::vector<std::uint64_t>{1, 3, 5, 2, 0, 4}));
  EXPECT_EQ(q.max_size(), 6u);
}

TEST(RequestQueue, ManyTiesKeepInsertionOrder) {
  RequestQueue q;
  for (std::uint64_t i = 0; i < 1000; ++i) q.push(req(2, i));
  for (std::uint64_t i = 0; i < 1000; ++i) {
    auto r = q.pop(1ms);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->request_index, i);
    ASSERT_EQ(r->seq, i);
  }
}

TEST(RequestQueue, PopTimesOutAndCloseDropsAndWakes) {
  RequestQueue q;
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(q.pop(30ms));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 25ms);
  q.push(req(1, 0));
  q.push(req(1, 1));
  std::thread waiter([&] {
    RequestQueue q2;
    std::thread closer([&] {
      std::this_thread::sleep_for(20ms);
      q2.close();
    });
    EXPECT_FALSE(q2.pop(5s));  // woken by close, not by the timeout
    closer.join();
  });
  waiter.join();
  EXPECT_EQ(q.close(), 2u);
  EXPECT_TRUE(q.closed());
  EXPECT_FALSE(q.pop(1ms));
  EXPECT_FALSE(q.push(req(1, 2)));
}
