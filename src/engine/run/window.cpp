// Phase 3 of a run (run/run.hpp): the measured window, from t0 to the stop instant, and the
// bounded join of the workers.
#include <chrono>
#include <cstdio>
#include <string>

#include "core/clock.hpp"
#include "core/log.hpp"
#include "engine/run/run.hpp"
#include "engine/run/signals.hpp"
#include "engine/run/state.hpp"
#include "engine/summary.hpp"

namespace kv::engine::run {

namespace {

using namespace std::chrono_literals;

// The drain: requests in flight at the stop keep issuing their operations for up to kDrainS; at
// that deadline drain_end ends them at their next operation boundary and the storage backend
// cancels what is still in flight (io::IoStop: io_uring requests cancelled, posix transfers stop at
// the next chunk boundary); the workers get kCancelGraceS more to return before they are abandoned.
// 2 s is the reference's join timeout per thread; it joins its threads in turn, so its own drain
// lasts from 2 s up to 2 s per busy thread (docs/metrics.md, "Reference accounting"; docs/
// performance.md, "Bounded stop"). A signal has no drain: drain_end and the I/O deadline are
// raised at the stop, and the workers get only kCancelGraceS (an MPI launcher kills soon after).
constexpr double kDrainS = 2.0;
constexpr double kCancelGraceS = 0.5;
constexpr std::int64_t kTickNs = 50'000'000;

// One worker: pops requests until the queue closes or the run stops. It uses the RunState only
// through a raw pointer: on the abandon path the state is never destroyed.
void worker_loop(RunState* s) {
  std::string scratch;
  scratch.reserve(128);
  while (true) {
    auto req = s->queue.pop(500ms);
    if (!req) {
      if (s->queue.closed() || s->stop.stopped()) break;
      continue;
    }
    if (s->stop.stopped()) continue;
    s->workers.busy.fetch_add(1, std::memory_order_relaxed);  // the requests_in_service gauge
    const std::int64_t dequeue = s->clock.now_ns();
    workload::RequestOutcome o = s->processor->process(*req, scratch);
    s->recorder->record(*req, o, dequeue, s->clock.now_ns());
    s->workers.busy.fetch_sub(1, std::memory_order_relaxed);
    const bool completed = o.status == workload::OutcomeStatus::kCompleted;
    for (RunObserver* obs : s->observers) obs->on_request_done(*req, completed);
  }
  {
    std::lock_guard lk(s->workers.mu);
    s->workers.done.fetch_add(1);
  }
  s->workers.cv.notify_all();
}

// Polls the stop conditions about every 50 ms until one holds; returns the stop reason.
StopReason run_loop(RunState& s) {
  const std::int64_t deadline =
      s.t0_ns + static_cast<std::int64_t>(s.config().duration) * 1'000'000'000LL;
  while (true) {
    if (signals::stop_requested()) return StopReason::kSignal;
    if (s.stop.stopped()) return StopReason::kMaxRequests;
    for (const RunObserver* o : s.observers)  // replay drained, or capacity found
      if (auto r = o->stop_reason(s)) return *r;
    const std::int64_t now = s.clock.now_ns();
    if (now >= deadline) return StopReason::kDuration;
    for (RunObserver* o : s.observers) o->on_tick(s, now);
    s.clock.sleep_until(
        std::min(deadline, now + kTickNs),
        [&s](std::chrono::steady_clock::time_point t) { return s.stop.wait_until(t); });
  }
}

// The stop instant: counters snapshotted, queued requests dropped, the producer joined.
void stop_window(RunState& s, StopReason reason) {
  RunData& d = s.data;
  const auto [stop_ns, stop_reason] = s.recorder->stop_now(reason);
  s.stop.request_stop();
  // A signal means "stop now": no drain, in-flight I/O is cancelled at once (an MPI launcher that
  // forwarded it kills the process soon after). Otherwise the drain runs to its deadline.
  const bool by_signal = stop_reason == StopReason::kSignal;
  if (by_signal) s.drain_end.request_stop();
  // The backends run on the monotonic clock, not on s.clock (which tests may replace).
  s.io_stop.stop_at(mono_ns() + (by_signal ? 0 : static_cast<std::int64_t>(kDrainS * 1e9)));
  s.stop_ns = stop_ns;
  d.stats = s.cache->stats();          // traffic counters at the stop instant
  s.chunk_latency.mark_window_stop();  // after: every object counted above has its chunks in
  d.elapsed_s = static_cast<double>(stop_ns - s.t0_ns) * 1e-9;
  d.stop_reason = stop_reason;
  d.interrupted = by_signal;
  for (RunObserver* o : s.observers) o->on_stop(s);
  if (d.interrupted && signals::stop_requested())  // (an MPI rank that rank 0 stopped says so)
    log::warn("interrupted by signal {}: stopping and writing results", signals::stop_signal());

  log::debug("stop ({}) at {:.3f} s", to_text(stop_reason), d.elapsed_s);
  d.dropped_queued = s.queue.close();
  s.producer->join();
  d.enqueued = s.producer->enqueued();
  d.queue_max_depth = s.queue.max_size();
}

// Bounded join: the drain (none after a signal), then the grace; workers still inside an I/O
// operation after that are detached, never waited for.
void join_workers(RunState& s) {
  WorkerPool& w = s.workers;
  const double drain_s = s.data.interrupted ? 0.0 : kDrainS;
  {
    std::unique_lock lk(w.mu);
    const auto all_done = [&] { return w.done.load() == w.threads.size(); };
    s.workers_joined = w.cv.wait_for(lk, std::chrono::duration<double>(drain_s), all_done);
    if (!s.workers_joined) {
      s.drain_end.request_stop();  // the drain deadline (the same instant as s.io_stop)
      s.workers_joined = w.cv.wait_for(lk, std::chrono::duration<double>(kCancelGraceS), all_done);
    }
  }
  log::debug("workers {} after {:.3f} s", s.workers_joined ? "joined" : "still busy",
             static_cast<double>(s.clock.now_ns() - s.stop_ns) * 1e-9);
  if (s.workers_joined) {
    for (auto& t : w.threads) t.join();
    return;
  }
  // Stragglers keep running until the process exits: nothing they use is destroyed (run.hpp).
  s.data.workers_abandoned = w.threads.size() - w.done.load();
  for (auto& t : w.threads) t.detach();
  s.dir->seal();  // stragglers can no longer create files
  log::warn(
      "{} worker(s) still in an I/O operation {:.1f} s after stop: not waiting for them (their "
      "requests are not counted)",
      s.data.workers_abandoned, drain_s + kCancelGraceS);
}

}  // namespace

Run::Windowed Run::Prepared::window() && {
  RunState& s = *s_;
  const EngineConfig& c = s.config();
  for (RunObserver* o : s.observers) o->before_window(s);  // MPI: aligned start
  if (s.plan.rank == 0) {  // once per MPI job, after the aligned start: every rank is going
    std::fputs(running_line(c, s.data.workers, s.plan.ranks).c_str(), stdout);
    std::fflush(stdout);
  }
  s.t0_ns = s.clock.now_ns();
  s.chunk_latency.mark_window_start();
  s.series->start(s.t0_ns);
  for (unsigned i = 0; i < s.data.workers && !signals::stop_requested(); ++i)
    s.workers.threads.emplace_back(worker_loop, &s);
  s.producer->start(s.t0_ns);
  for (RunObserver* o : s.observers) o->on_window_start(s);
  stop_window(s, run_loop(s));
  join_workers(s);
  return Windowed(std::move(s_));
}

}  // namespace kv::engine::run
