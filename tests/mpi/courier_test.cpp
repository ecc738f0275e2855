// The courier (src/engine/mpi/courier.hpp) over a fake transport: messages go out in order and
// come back in; the beat reaches every rank it names; a transport call that never returns leaves
// the caller free (post/poll do not block, stuck_s() grows, stop() gives up); inline mode calls
// the transport on the caller's thread. And rank 0's liveness as a rank sees it
// (src/engine/mpi/root_watch.hpp): process gone, silence beyond 10 beats, the teardown message.
#include "engine/mpi/courier.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "engine/mpi/root_watch.hpp"

using namespace kv::engine::mpi;

namespace {

constexpr auto kCap = std::chrono::seconds(20);  // generous: only a broken courier waits this long

// What the fake transport saw, shared with the test (a courier left stuck keeps the transport).
struct Wire {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::pair<int, std::string>> posted;
  std::vector<std::thread::id> posting_threads;
  std::deque<Letter> incoming;
  std::size_t pending = 0;
  bool block_poll = false;  // poll() waits until released
  bool in_blocked_poll = false;

  template <class Pred>
  bool wait_for(Pred pred) {
    std::unique_lock lk(mu);
    return cv.wait_for(lk, kCap, pred);
  }
  void release() {
    std::lock_guard lk(mu);
    block_poll = false;
    cv.notify_all();
  }
};

class FakeTransport final : public Transport {
 public:
  explicit FakeTransport(std::shared_ptr<Wire> w) : w_(std::move(w)) {}
  void post(int dest, std::string text) override {
    std::lock_guard lk(w_->mu);
    w_->posted.emplace_back(dest, std::move(text));
    w_->posting_threads.push_back(std::this_thread::get_id());
    w_->cv.notify_all();
  }
  std::optional<Letter> poll() override {
    std::unique_lock lk(w_->mu);
    if (w_->block_poll) {
      w_->in_blocked_poll = true;
      w_->cv.notify_all();
      w_->cv.wait(lk, [&] { return !w_->block_poll; });
      w_->in_blocked_poll = false;
      w_->cv.notify_all();
    }
    if (w_->incoming.empty()) return std::nullopt;
    Letter l = std::move(w_->incoming.front());
    w_->incoming.pop_front();
    return l;
  }
  std::size_t pending_sends() const override {
    std::lock_guard lk(w_->mu);
    return w_->pending;
  }

 private:
  std::shared_ptr<Wire> w_;
};

std::optional<Letter> poll_until_letter(Courier& c) {
  const auto deadline = std::chrono::steady_clock::now() + kCap;
  while (std::chrono::steady_clock::now() < deadline) {
    if (auto l = c.poll()) return l;
    c.wait(0.05);
  }
  return std::nullopt;
}

}  // namespace

TEST(MpiCourier, SendsInOrderAndDeliversWhatArrives) {
  auto w = std::make_shared<Wire>();
  Courier c(std::make_unique<FakeTransport>(w), Courier::Mode::kThread);
  c.post(0, "a");
  c.post(2, "b");
  ASSERT_TRUE(w->wait_for([&] { return w->posted.size() == 2; }));
  EXPECT_EQ(w->posted[0], (std::pair<int, std::string>{0, "a"}));
  EXPECT_EQ(w->posted[1], (std::pair<int, std::string>{2, "b"}));
  EXPECT_NE(w->posting_threads[0], std::this_thread::get_id());  // the courier's own thread
  {
    std::lock_guard lk(w->mu);
    w->incoming.push_back(Letter{.source = 1, .text = "hello"});
  }
  const auto got = poll_until_letter(c);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->source, 1);
  EXPECT_EQ(got->text, "hello");
  EXPECT_TRUE(c.flush(20.0));  // the fake completes every send at once
  EXPECT_EQ(c.pending_sends(), 0u);
  EXPECT_TRUE(c.stop(20.0));
}

TEST(MpiCourier, FlushWaitsForTheTransportsPendingSends) {
  auto w = std::make_shared<Wire>();
  Courier c(std::make_unique<FakeTransport>(w), Courier::Mode::kThread);
  {
    std::lock_guard lk(w->mu);
    w->pending = 1;  // a send the transport has not completed
  }
  c.post(0, "x");
  ASSERT_TRUE(w->wait_for([&] { return !w->posted.empty(); }));
  EXPECT_FALSE(c.flush(0.05));
  EXPECT_GT(c.pending_sends(), 0u);
  {
    std::lock_guard lk(w->mu);
    w->pending = 0;
  }
  EXPECT_TRUE(c.flush(20.0));
}

TEST(MpiCourier, BeatReachesEveryNamedRankRepeatedly) {
  auto w = std::make_shared<Wire>();
  Courier c(std::make_unique<FakeTransport>(w), Courier::Mode::kThread,
            Beat{.to = {1, 2}, .text = "hb", .interval_s = 0.01});
  const auto beats_to = [&](int r) {
    std::size_t n = 0;
    for (const auto& [dest, text] : w->posted) n += dest == r && text == "hb" ? 1 : 0;
    return n;
  };
  ASSERT_TRUE(w->wait_for([&] { return beats_to(1) >= 3 && beats_to(2) >= 3; }));
  EXPECT_EQ(beats_to(0), 0u);
}

TEST(MpiCourier, AStuckTransportCallLeavesTheCallerFree) {
  auto w = std::make_shared<Wire>();
  w->block_poll = true;  // the first poll never returns (until released)
  auto c = std::make_unique<Courier>(std::make_unique<FakeTransport>(w), Courier::Mode::kThread);
  ASSERT_TRUE(w->wait_for([&] { return w->in_blocked_poll; }));
  c->post(0, "result");  // queued; the caller goes on
  EXPECT_FALSE(c->poll().has_value());
  EXPECT_EQ(c->pending_sends(), 1u);
  EXPECT_FALSE(c->flush(0.01));
  const double s1 = c->stuck_s();
  EXPECT_GT(s1, 0.0);
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  EXPECT_GT(c->stuck_s(), s1);  // it keeps growing while the call has not returned
  EXPECT_FALSE(c->stop(0.01));  // the thread is left behind, with its transport
  c.reset();                    // destroying the courier does not wait for it either
  w->release();                 // the left-behind thread ends (it was told to quit)
  std::unique_lock lk(w->mu);
  EXPECT_TRUE(w->cv.wait_for(lk, kCap, [&] { return !w->in_blocked_poll; }));
}

TEST(MpiCourier, InlineModeCallsTheTransportOnTheCallersThread) {
  auto w = std::make_shared<Wire>();
  Courier c(std::make_unique<FakeTransport>(w), Courier::Mode::kInline,
            Beat{.to = {1}, .text = "hb", .interval_s = 1000});
  c.post(3, "now");
  ASSERT_EQ(w->posted.size(), 2u);  // the message, then the beat (due at once)
  EXPECT_EQ(w->posted[0], (std::pair<int, std::string>{3, "now"}));
  EXPECT_EQ(w->posted[1], (std::pair<int, std::string>{1, "hb"}));
  EXPECT_EQ(w->posting_threads[0], std::this_thread::get_id());
  w->incoming.push_back(Letter{.source = 2, .text = "in"});
  const auto got = c.poll();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->text, "in");
  EXPECT_EQ(c.stuck_s(), 0.0);
  EXPECT_TRUE(c.stop(0.0));
}

TEST(MpiRootWatch, SilenceCountsOnlyOnceRank0PlannedAHeartbeat) {
  RootWatch w;
  EXPECT_FALSE(w.gone(1e6, false).has_value());  // no plan yet: the start-up has its own deadline
  w.planned(100.0, 0.0);                         // rank 0 does not beat: silence says nothing
  EXPECT_FALSE(w.gone(1e6, false).has_value());
  EXPECT_EQ(w.silence_limit_s(), 0.0);
}

TEST(MpiRootWatch, TenMissedBeatsMeanRank0IsGone) {
  RootWatch w;
  w.planned(100.0, 1.0);
  EXPECT_EQ(w.silence_limit_s(), 10.0);
  EXPECT_FALSE(w.gone(109.9, false).has_value());
  const auto why = w.gone(110.5, false);
  ASSERT_TRUE(why.has_value());
  EXPECT_EQ(*why,
            "has sent nothing for 10.5 s (it sends a heartbeat every 1 s): it is gone or "
            "unreachable");
  w.heard(105.0);  // a message resets the silence
  EXPECT_FALSE(w.gone(114.9, false).has_value());
  EXPECT_TRUE(w.gone(115.1, false).has_value());
}

TEST(MpiRootWatch, AProcessThatExitedIsGoneAtOnce) {
  RootWatch w;
  w.planned(100.0, 1.0);
  EXPECT_EQ(w.gone(100.1, true).value_or(""), "is gone (its process exited)");
}

TEST(MpiRootWatch, TheTeardownMessageSaysWhatTheRankSaw) {
  RootWatch w;
  w.planned(100.0, 1.0);
  w.heard(101.0);
  EXPECT_EQ(w.unanswered(102.8, 0.8, 0.3),
            "is unreachable while the launcher is stopping the job: this rank's MPI "
            "communication has been stuck for 0.8 s and the last message from it came 1.8 s ago "
            "(it sends one every 1 s); it is probably gone");
  EXPECT_EQ(w.unanswered(101.9, 0.0, 0.8),
            "did not confirm receipt of this rank's results within 0.8 s while the launcher is "
            "stopping the job (the last message from it came 0.9 s ago): it is gone or "
            "unreachable");
}
