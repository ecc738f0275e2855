// Request producers of the workload modes (docs/workload-modes.md), behind one interface the
// runner drives:
//   * SyntheticProducer: the open-loop user scheduler (workload::ArrivalScheduler), with the RAG
//     follow-up hook and autoscaling (really starting/stopping user producers).
//   * ShareGptProducer (`--dataset-path`): conversations in a shuffled order (seeded; reshuffled
//   each
//     pass), run by `sessions` dataset users ("dataset_user_<k>"). A session issues the turns of
//     one conversation in order, each once the previous turn's request finished (so, unlike the
//     reference, the multi-turn history reads of turns 1..n-1 find them; with --disable-multi-turn
//     the turns are independent requests without history reads). At most one session runs a
//     conversation at a time.
//     --request-rate > 0 paces enqueues at 1/rate; --replay-cycles N stops after N passes. Sessions
//     are what autoscaling starts and stops.
//   * BurstTraceProducer (`--use-burst-trace`) and MooncakeProducer (`--mooncake-trace`): stream
//   the
//     trace (never loaded whole), wait each record's delay_s (absolute schedule from the start, so
//     no drift; interruptible), and enqueue open loop. Trace users: "trace_user_<i mod 1000>" /
//     "mooncake_user_<i mod 1000>".
// QoS is drawn per replayed request (15/35/50 %, config qos_distribution), the system-prompt prefix
// with its configured probability (not for Mooncake), and the phase by the 10,000-token rule; every
// draw derives from (seed, request index). The replay producers read time and wait through a
// kv::Clock (core/clock.hpp), so tests can replay on a ManualClock without sleeping. A producer is
// `exhausted()` once it will enqueue nothing more; the runner then ends the run when every enqueued
// request has finished.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.hpp"
#include "engine/replay/burst_trace.hpp"
#include "engine/replay/mooncake_trace.hpp"
#include "engine/replay/sharegpt.hpp"
#include "engine/workload/conversation.hpp"
#include "engine/workload/producers.hpp"
#include "engine/workload/request.hpp"
#include "engine/workload/request_queue.hpp"
#include "engine/workload/stop.hpp"
#include "engine/workload/users.hpp"

namespace kv::engine::modes {

using FollowUp = std::function<std::optional<workload::Request>(const workload::Request&)>;

class Producer {
 public:
  virtual ~Producer() = default;
  virtual void start(std::int64_t t0_ns) = 0;
  virtual void join() = 0;
  virtual std::uint64_t enqueued() const = 0;
  // True once the producer will never enqueue again (replay over, or its input failed).
  virtual bool exhausted() const { return false; }
  // A request it produced finished processing (any outcome); closed-loop producers continue here.
  virtual void request_done(const workload::Request&) {}
  // Autoscaling: whether producers can be started/stopped, and how many run.
  virtual bool scalable() const { return false; }
  virtual void set_active_users(std::uint32_t) {}
  virtual std::uint32_t active_users() const { return 0; }
  virtual std::uint32_t users_started() const { return 0; }
  // Mode statistics for the results (null if none).
  virtual nlohmann::ordered_json stats() const { return nullptr; }
};

// Per-request draws shared by the replay producers.
struct ReplayDraws {
  workload::UserSettings users;  // QoS distribution and classes
  bool prefix_caching = true;
  double prefix_probability = 0.2;
  std::uint32_t write_only_threshold = 10000;
  std::uint64_t prepopulated_keys = 0;  // --decode-only
  std::uint64_t seed = 0;
  // QoS/priority, prefix prompt, decode key and phase of `q` (context_tokens already set).
  void apply(workload::Request& q, std::uint64_t tag, std::uint64_t index,
             bool allow_prefix = true) const;
};

class SyntheticProducer final : public Producer {
 public:
  SyntheticProducer(workload::RequestFactory& factory, workload::RequestQueue& queue,
                    workload::StopFlag& stop, std::uint32_t initial_users, FollowUp follow_up);
  void start(std::int64_t t0_ns) override { sched_.start(t0_ns); }
  void join() override { sched_.join(); }
  std::uint64_t enqueued() const override { return sched_.enqueued(); }
  bool scalable() const override { return true; }
  void set_active_users(std::uint32_t n) override { sched_.set_active_users(n); }
  std::uint32_t active_users() const override { return sched_.active_users(); }
  std::uint32_t users_started() const override { return sched_.users_started(); }

 private:
  workload::ArrivalScheduler sched_;
};

struct ShareGptSettings {
  std::uint32_t sessions = 1;  // pool (autoscaling may start up to this many)
  std::uint32_t initial_sessions = 1;
  bool multi_turn = true;
  double request_rate = 0;          // req/s, 0 = no pacing
  std::uint32_t replay_cycles = 0;  // 0 = forever
  std::uint32_t max_turns = 50;  // conversation.max_turns_per_conv: longer conversations truncated
  ReplayDraws draws;
};

class ShareGptProducer final : public Producer {
 public:
  ShareGptProducer(const replay::ShareGptDataset& dataset, ShareGptSettings settings,
                   workload::RequestQueue& queue, workload::StopFlag& stop,
                   workload::ConversationManager& conversations, FollowUp follow_up,
                   const Clock& clock = real_clock());
  ~ShareGptProducer() override;
  void start(std::int64_t t0_ns) override;
  void join() override;
  std::uint64_t enqueued() const override { return enqueued_.load(); }
  bool exhausted() const override { return exhausted_.load(); }
  void request_done(const workload::Request& req) override;
  bool scalable() const override { return true; }
  void set_active_users(std::uint32_t n) override;
  std::uint32_t active_users() const override { return active_.load(); }
  std::uint32_t users_started() const override { return started_sessions_.load(); }
  nlohmann::ordered_json stats() const override;

 private:
  struct Session {
    int conv = -1;  // conversation in progress (index), -1 = none
    std::size_t next_turn = 0;
    std::uint64_t requests = 0;
    bool started = false;  // ever made ready
    bool parked = false;   // stopped by the autoscaler while idle
  };
  void loop(std::int64_t t0_ns);
  std::optional<int> take_conversation();  // under mu_
  void reshuffle();                        // under mu_
  bool all_done() const;                   // under mu_

  const replay::ShareGptDataset& ds_;
  ShareGptSettings s_;
  workload::RequestQueue& queue_;
  workload::StopFlag& stop_;
  workload::ConversationManager& conv_;
  FollowUp follow_up_;
  const Clock& clock_;
  std::thread thread_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Session> sessions_;
  std::deque<std::uint32_t> ready_;
  std::vector<std::uint32_t> waiting_;  // sessions waiting for a conversation not in progress
  std::vector<char> in_progress_;
  std::vector<std::uint32_t> order_;
  std::size_t cursor_ = 0;
  std::uint32_t passes_started_ = 0;
  bool no_more_ = false;
  std::uint32_t busy_ = 0;
  std::uint64_t conversations_started_ = 0, conversations_completed_ = 0, truncated_turns_ = 0;

  std::atomic<std::uint32_t> active_{0};
  std::atomic<std::uint32_t> started_sessions_{0};
  std::atomic<std::uint64_t> enqueued_{0}, turns_issued_{0}, follow_ups_{0};
  std::atomic<bool> exhausted_{false};
};

struct TraceSettings {
  ReplayDraws draws;
};

class BurstTraceProducer final : public Producer {
 public:
  BurstTraceProducer(std::unique_ptr<replay::BurstTraceReader> reader, TraceSettings settings,
                     workload::RequestQueue& queue, workload::StopFlag& stop, FollowUp follow_up,
                     const Clock& clock = real_clock());
  ~BurstTraceProducer() override;
  void start(std::int64_t t0_ns) override;
  void join() override;
  std::uint64_t enqueued() const override { return enqueued_.load(); }
  bool exhausted() const override { return exhausted_.load(); }
  nlohmann::ordered_json stats() const override;  // trace_stats (after join)

 private:
  void loop(std::int64_t t0_ns);
  std::unique_ptr<replay::BurstTraceReader> reader_;
  TraceSettings s_;
  workload::RequestQueue& queue_;
  workload::StopFlag& stop_;
  FollowUp follow_up_;
  const Clock& clock_;
  std::thread thread_;
  std::atomic<std::uint64_t> enqueued_{0};
  std::atomic<bool> exhausted_{false};
  std::atomic<bool> ended_{false};  // the reader returned its last record (not stopped, no error)
  std::string error_;
};

class MooncakeProducer final : public Producer {
 public:
  MooncakeProducer(std::unique_ptr<replay::MooncakeTraceReader> reader, TraceSettings settings,
                   workload::RequestQueue& queue, workload::StopFlag& stop,
                   const Clock& clock = real_clock());
  ~MooncakeProducer() override;
  void start(std::int64_t t0_ns) override;
  void join() override;
  std::uint64_t enqueued() const override { return enqueued_.load(); }
  bool exhausted() const override { return exhausted_.load(); }
  nlohmann::ordered_json stats() const override;  // trace_stats (after join)

 private:
  void loop(std::int64_t t0_ns);
  std::unique_ptr<replay::MooncakeTraceReader> reader_;
  TraceSettings s_;
  workload::RequestQueue& queue_;
  workload::StopFlag& stop_;
  const Clock& clock_;
  std::thread thread_;
  std::atomic<std::uint64_t> enqueued_{0};
  std::atomic<bool> exhausted_{false};
  std::atomic<bool> ended_{false};  // the reader returned its last record (not stopped, no error)
  std::string error_;
};

// Sleeps until `clock` time `t_ns` unless stop comes first; true if stopped.
bool wait_until_ns(const Clock& clock, workload::StopFlag& stop, std::int64_t t_ns);

}  // namespace kv::engine::modes
