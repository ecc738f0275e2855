#include "engine/run/recorder.hpp"

namespace kv::engine::run {

void Recorder::record(const workload::Request& req, const workload::RequestOutcome& o,
                      std::int64_t dequeue_ns, std::int64_t done_ns) {
  bool request_stop = false;
  {
    std::lock_guard lk(mu_);
    ++finished_;
    if (stopped_) {
      after_stop_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    switch (o.status) {
      case workload::OutcomeStatus::kInterrupted: ++d_.interrupted_requests; return;
      case workload::OutcomeStatus::kFailed:
        ++d_.failed_requests;
        if (d_.failure_examples.size() < 5) d_.failure_examples.push_back(o.failure);
        return;
      case workload::OutcomeStatus::kCompleted: break;
    }
    request_stop = add_completed(req, o, dequeue_ns, done_ns);
  }
  if (request_stop) stop_.request_stop();
}

bool Recorder::add_completed(const workload::Request& req, const workload::RequestOutcome& o,
                             std::int64_t dequeue_ns, std::int64_t done_ns) {
  ++d_.requests_completed;
  d_.total_tokens += req.generate_tokens;
  const double e2e = static_cast<double>(done_ns - req.submit_ns) * 1e-9;
  d_.e2e_s.push_back(e2e);
  d_.storage_s.push_back(o.storage_s);
  d_.generation_s.push_back(o.generation_s);
  if (o.wrote_prefill) {
    d_.prefill_s.push_back(o.prefill_s);
    d_.prefill_bytes.push_back(model_.object_bytes(req.context_tokens, tp_));
  }
  if (o.decoded) d_.decode_s.push_back(o.decode_s);
  d_.queue_wait_s.push_back(static_cast<double>(dequeue_ns - req.submit_ns) * 1e-9);
  if (o.first_token_ns > 0)
    d_.ttft_s.push_back(static_cast<double>(o.first_token_ns - req.submit_ns) * 1e-9);
  d_.qos_e2e_s[static_cast<std::size_t>(req.qos)].push_back(e2e);
  if (max_requests_ > 0 && d_.requests_completed >= static_cast<std::uint64_t>(max_requests_)) {
    stopped_ = true;
    stop_ns_ = done_ns;
    reason_ = StopReason::kMaxRequests;
    return true;
  }
  return false;
}

std::pair<std::int64_t, StopReason> Recorder::stop_now(StopReason reason) {
  std::lock_guard lk(mu_);
  if (!stopped_) {
    stopped_ = true;
    stop_ns_ = clock_.now_ns();
    reason_ = reason;
  }
  return {stop_ns_, reason_};
}

std::uint64_t Recorder::completed() {
  std::lock_guard lk(mu_);
  return d_.requests_completed;
}

std::uint64_t Recorder::finished() {
  std::lock_guard lk(mu_);
  return finished_;
}

}  // namespace kv::engine::run
