// Per-request results of the window: only requests completed before the stop instant count
// (docs/metrics.md). record() is called by the workers; the stop instant is set once, either by
// the run loop (stop_now) or by the request that reaches --max-requests.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <utility>

#include "core/clock.hpp"
#include "engine/results.hpp"
#include "engine/workload/processor.hpp"
#include "engine/workload/request.hpp"
#include "engine/workload/stop.hpp"
#include "model/model.hpp"

namespace kv::engine::run {

class Recorder {
 public:
  Recorder(RunData& d, workload::StopFlag& stop, int max_requests, const model::ModelConfig& m,
           int tp, const Clock& clock)
      : d_(d), stop_(stop), max_requests_(max_requests), model_(m), tp_(tp), clock_(clock) {}

  void record(const workload::Request& req, const workload::RequestOutcome& o,
              std::int64_t dequeue_ns, std::int64_t done_ns);
  // Marks the stop instant (first caller wins). Returns the instant and the reason.
  std::pair<std::int64_t, StopReason> stop_now(StopReason reason);
  std::uint64_t completed();
  // Requests that finished (in any state) after the stop instant: they were in flight at stop.
  std::uint64_t after_stop() const { return after_stop_.load(); }
  // Requests that finished processing in any state (completed, failed, interrupted).
  std::uint64_t finished();

 private:
  // Under mu_: adds a completed request's samples; true when it reaches --max-requests.
  bool add_completed(const workload::Request& req, const workload::RequestOutcome& o,
                     std::int64_t dequeue_ns, std::int64_t done_ns);

  std::mutex mu_;
  RunData& d_;
  workload::StopFlag& stop_;
  int max_requests_;
  const model::ModelConfig& model_;
  int tp_;
  const Clock& clock_;
  bool stopped_ = false;
  std::uint64_t finished_ = 0;
  std::int64_t stop_ns_ = 0;
  StopReason reason_ = StopReason::kDuration;
  std::atomic<std::uint64_t> after_stop_{0};
};

}  // namespace kv::engine::run
