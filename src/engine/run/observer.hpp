// One interface for everything that takes part in a run without being the run itself: the MPI
// rank protocol, the workload-mode features (RAG, autoscaler, precondition, I/O trace, summary
// export), the status line and, later, progress reporting. A feature implements only the events
// it needs; every default does nothing.
//
// Events, in the order a run raises them (run/run.hpp names the phases):
//   assemble  capacity_sharers()                        while sizing the storage tier
//   prepare   on_prepare(s)                             set-up writes before the window
//   window    before_window(s)                          right before t0; may block (MPI aligned
//                                                       start) or throw kv::Error to cancel
//             on_window_start(s)                        t0 is set, workers and producer started
//             on_request_done(req, completed)           from worker threads, after every request
//             stop_reason(s), on_tick(s, now_ns)        from the run loop, about every 50 ms
//             on_stop(s)                                the stop instant is set
//             (s.data.stop_reason)
//   finish    on_finish(s)                              stop own threads, fill s.data (results)
//             console_text(results)                     extra console lines after the summary
//             after_output(results, d, wrote_summary)   after --output was written (exports)
//             on_results(results, d, code) -> code      may replace the exit code (MPI: merge)
//             before_abandon_exit(code) -> code         workers are stuck in I/O: the process
//                                                       will _Exit, last chance to finish a
//                                                       protocol
// Every event except on_request_done runs on the thread that called run_benchmark (for an MPI
// rank: the thread that initialised MPI). Observers are called in registration order.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "engine/run_status.hpp"

namespace kv::workload {
struct Request;
}

namespace kv::engine {
struct RunData;
}

namespace kv::engine::run {

struct RunState;

class RunObserver {
 public:
  virtual ~RunObserver() = default;

  // Processes that share this run's storage filesystem: the automatic storage capacity (95 % of
  // the free space) is divided by this number.
  virtual unsigned capacity_sharers() const { return 1; }

  virtual void on_prepare(RunState& /*s*/) {}
  virtual void before_window(RunState& /*s*/) {}
  virtual void on_window_start(RunState& /*s*/) {}
  // Thread-safe: called concurrently by the workers.
  virtual void on_request_done(const workload::Request& /*req*/, bool /*completed*/) {}
  // A reason to end the window now (e.g. "replay_complete"), or nullopt.
  virtual std::optional<StopReason> stop_reason(const RunState& /*s*/) const {
    return std::nullopt;
  }
  virtual void on_tick(const RunState& /*s*/, std::int64_t /*now_ns*/) {}
  virtual void on_stop(const RunState& /*s*/) {}

  virtual void on_finish(RunState& /*s*/) {}
  // True when writing --output and printing the summary is this observer's job (an MPI rank).
  virtual bool owns_output() const { return false; }
  virtual std::string console_text(const nlohmann::ordered_json& /*results*/) const { return {}; }
  virtual void after_output(const nlohmann::ordered_json& /*results*/, const RunData& /*d*/,
                            bool /*wrote_summary*/) {}
  virtual int on_results(const nlohmann::ordered_json& /*results*/, const RunData& /*d*/,
                         int code) {
    return code;
  }
  virtual int before_abandon_exit(int code) { return code; }
};

}  // namespace kv::engine::run
