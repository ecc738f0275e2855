#include "engine/workload/request_queue.hpp"

namespace kv::workload {

bool RequestQueue::push(Request req) {
  {
    std::lock_guard lk(mu_);
    if (closed_) return false;
    req.seq = next_seq_++;
    q_.push(std::move(req));
    if (q_.size() > max_size_) max_size_ = q_.size();
  }
  cv_.notify_one();
  return true;
}

std::optional<Request> RequestQueue::pop(std::chrono::milliseconds timeout) {
  std::unique_lock lk(mu_);
  if (!cv_.wait_for(lk, timeout, [&] { return closed_ || !q_.empty(); })) return std::nullopt;
  if (closed_) return std::nullopt;
  // priority_queue::top() is const; the element is moved out right before pop(), which only
  // reorders the (now moved-from) element away.
  Request r = std::move(const_cast<Request&>(q_.top()));
  q_.pop();
  return r;
}

std::size_t RequestQueue::close() {
  std::size_t dropped = 0;
  {
    std::lock_guard lk(mu_);
    closed_ = true;
    dropped = q_.size();
    q_ = {};
  }
  cv_.notify_all();
  return dropped;
}

bool RequestQueue::closed() const {
  std::lock_guard lk(mu_);
  return closed_;
}
std::size_t RequestQueue::size() const {
  std::lock_guard lk(mu_);
  return q_.size();
}
std::size_t RequestQueue::max_size() const {
  std::lock_guard lk(mu_);
  return max_size_;
}

}  // namespace kv::workload
