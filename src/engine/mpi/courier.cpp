#include "engine/mpi/courier.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>

#include "core/log.hpp"

namespace kv::engine::mpi {

namespace {

using Clock = std::chrono::steady_clock;

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

class MailboxTransport final : public Transport {
 public:
  explicit MailboxTransport(std::unique_ptr<dist::Mailbox> mb) : mb_(std::move(mb)) {}
  void post(int dest, std::string text) override { mb_->post(dest, std::move(text)); }
  std::optional<Letter> poll() override { return mb_->poll(); }
  std::size_t pending_sends() const override { return mb_->pending_sends(); }

 private:
  std::unique_ptr<dist::Mailbox> mb_;
};

}  // namespace

std::unique_ptr<Transport> mailbox_transport(std::unique_ptr<dist::Mailbox> mb) {
  return std::make_unique<MailboxTransport>(std::move(mb));
}

// Shared by the Courier and its thread: a thread left behind in a stuck transport call keeps it
// (and the transport) alive.
struct State {
  std::unique_ptr<Transport> transport;
  Courier::Mode mode;
  std::optional<Beat> beat;
  std::int64_t next_beat_ns = 0;

  mutable std::mutex mu;
  std::condition_variable work;    // to the thread: something to send, or quit
  std::condition_variable events;  // from the thread: a message arrived, sends completed, exited
  std::deque<std::pair<int, std::string>> outbox;
  std::deque<Letter> inbox;
  std::size_t in_hand = 0;    // taken from the outbox by the thread, being posted
  std::size_t in_flight = 0;  // posted to the transport, not yet completed
  bool quit = false;
  bool exited = false;
  std::atomic<std::int64_t> call_since_ns{0};  // inside a transport call since (0: not in one)

  // One round of transport calls: what is queued, the beat when due, one poll. Inline: on the
  // caller's thread; threaded: on the courier's, without the lock held.
  // Messages posted and not yet sent (under mu).
  std::size_t unsent() const { return outbox.size() + in_hand + in_flight; }

  // True when a message arrived (it is in the inbox).
  bool round(std::deque<std::pair<int, std::string>> out) {
    call_since_ns.store(now_ns());
    try {
      for (auto& [dest, text] : out) transport->post(dest, std::move(text));
      if (beat && now_ns() >= next_beat_ns) {
        for (int dest : beat->to) transport->post(dest, beat->text);
        next_beat_ns = now_ns() + static_cast<std::int64_t>(beat->interval_s * 1e9);
      }
    } catch (const std::exception& e) {
      log::warn("courier: could not send: {}", e.what());
    }
    std::optional<Letter> got = transport->poll();
    const std::size_t pending = transport->pending_sends();
    call_since_ns.store(0);
    std::lock_guard lk(mu);
    in_hand = 0;
    in_flight = pending;
    if (got) inbox.push_back(std::move(*got));
    events.notify_all();
    return got.has_value();
  }

  void loop() {
    int idle = 0;
    std::unique_lock lk(mu);
    while (!quit) {
      std::deque<std::pair<int, std::string>> out;
      out.swap(outbox);
      in_hand = out.size();
      lk.unlock();
      const bool busy = !out.empty();
      const bool got = round(std::move(out));
      lk.lock();
      idle = got || busy ? 0 : idle + 1;
      if (got) continue;  // more may be waiting
      // Short naps while traffic is recent, longer ones when idle (as the rank's waits did).
      const auto nap =
          idle < 100 ? std::chrono::microseconds(200) : std::chrono::microseconds(2000);
      work.wait_for(lk, nap, [&] { return quit || !outbox.empty(); });
    }
    exited = true;
    events.notify_all();
  }
};

struct Courier::Impl {
  std::shared_ptr<State> st;
  std::thread thread;
  bool stopped = false;
};

Courier::Courier(std::unique_ptr<Transport> transport, Mode mode, std::optional<Beat> beat)
    : m_(std::make_unique<Impl>()) {
  m_->st = std::make_shared<State>();
  State& s = *m_->st;
  s.transport = std::move(transport);
  s.mode = mode;
  s.beat = std::move(beat);
  if (mode == Mode::kThread) m_->thread = std::thread([st = m_->st] { st->loop(); });
}

Courier::~Courier() {
  stop(1.0);
}

void Courier::post(int dest, std::string text) {
  State& s = *m_->st;
  if (s.mode == Mode::kInline || m_->stopped) {
    s.round({{dest, std::move(text)}});
    return;
  }
  std::lock_guard lk(s.mu);
  s.outbox.emplace_back(dest, std::move(text));
  s.work.notify_one();
}

std::optional<Letter> Courier::poll() {
  State& s = *m_->st;
  if (s.mode == Mode::kInline || m_->stopped) s.round({});
  std::lock_guard lk(s.mu);
  if (s.inbox.empty()) return std::nullopt;
  Letter l = std::move(s.inbox.front());
  s.inbox.pop_front();
  return l;
}

void Courier::wait(double seconds) {
  State& s = *m_->st;
  const auto span = std::chrono::duration<double>(seconds > 0 ? seconds : 0);
  if (s.mode == Mode::kInline || m_->stopped) {
    const auto deadline = Clock::now() + span;
    for (int iter = 0; Clock::now() < deadline; ++iter) {
      if (s.round({})) return;
      std::this_thread::sleep_for(iter < 100 ? std::chrono::microseconds(200)
                                             : std::chrono::microseconds(2000));
    }
    return;
  }
  std::unique_lock lk(s.mu);
  s.events.wait_for(lk, span, [&] { return !s.inbox.empty() || s.exited; });
}

bool Courier::flush(double seconds) {
  State& s = *m_->st;
  const auto deadline = Clock::now() + std::chrono::duration<double>(seconds > 0 ? seconds : 0);
  if (s.mode == Mode::kInline || m_->stopped) {
    for (int iter = 0;; ++iter) {
      s.round({});
      if (pending_sends() == 0) return true;
      if (Clock::now() >= deadline) return false;
      std::this_thread::sleep_for(iter < 100 ? std::chrono::microseconds(200)
                                             : std::chrono::microseconds(2000));
    }
  }
  std::unique_lock lk(s.mu);
  return s.events.wait_until(lk, deadline, [&] { return s.unsent() == 0; });
}

std::size_t Courier::pending_sends() const {
  const State& s = *m_->st;
  std::lock_guard lk(s.mu);
  return s.unsent();
}

double Courier::stuck_s() const {
  const std::int64_t since = m_->st->call_since_ns.load();
  if (since == 0 || m_->st->mode == Mode::kInline) return 0;
  return static_cast<double>(now_ns() - since) * 1e-9;
}

bool Courier::stop(double seconds) {
  State& s = *m_->st;
  if (s.mode == Mode::kInline || m_->stopped) return true;
  if (!m_->thread.joinable()) return false;  // left behind by an earlier stop()
  bool exited = false;
  {
    std::unique_lock lk(s.mu);
    s.quit = true;
    s.work.notify_all();
    exited = s.events.wait_for(lk, std::chrono::duration<double>(seconds > 0 ? seconds : 0),
                               [&] { return s.exited; });
  }
  if (!exited) {
    m_->thread.detach();  // stuck in MPI: it keeps the state (and the transport) alive
    return false;
  }
  m_->thread.join();
  m_->stopped = true;  // from now on the caller's thread makes the transport calls
  return true;
}

}  // namespace kv::engine::mpi
