// Hooks a multi-rank (MPI) run plugs into run_benchmark (engine/distributed.hpp implements them;
// a single-process run has none). Every hook is called on the thread that called run_benchmark,
// which is the thread that initialised MPI.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>

namespace kv::engine {

struct RunData;

class RunHooks {
 public:
  virtual ~RunHooks() = default;
  // Ranks that share this rank's filesystem on this host: the automatic storage capacity
  // (95 % of the free space) is divided by this number.
  virtual unsigned capacity_sharers() const = 0;
  // After all set-up (pre-population, preconditioning), right before the measured window starts:
  // blocks until every rank is ready (the aligned start). Throws kv::Error when the run must not
  // start (a peer failed). `interrupted` tells whether a stop signal has arrived.
  virtual void before_window(const std::function<bool()>& interrupted) = 0;
  // From the run loop, about every 50 ms while the window is open (heartbeats, peer messages).
  virtual void tick(std::int64_t now_ns, std::int64_t t0_ns, std::uint64_t completed) = 0;
  // Replaces writing --output and printing the summary: receives this rank's results and the exit
  // code run_benchmark would return; returns the exit code to return instead.
  virtual int on_results(const nlohmann::ordered_json& results, const RunData& d, int code) = 0;
  // Workers are still stuck in I/O, so run_benchmark will _Exit instead of returning: the last
  // chance to end the rank's part of the job properly. Returns the exit code.
  virtual int before_abandon_exit(int code) = 0;
};

}  // namespace kv::engine
