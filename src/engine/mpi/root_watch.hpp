// What a rank other than 0 knows of rank 0's liveness (docs/distributed.md, "Rank 0's liveness").
// Pure (times are passed in), so it is unit-tested directly; mpi/distributed_run.cpp feeds it.
//
// Rank 0 is gone when
//   * it ran on this rank's host and its process no longer exists (certain), or
//   * it sends a heartbeat (its courier's beat, every beat_s from its own thread, mpi/courier.hpp)
//     and nothing has come from it for kSilenceBeats beats: its process is dead, its MPI traffic
//     is stuck, or the network between the two is gone. 10 beats missed in a row is not load: the
//     beat does not wait for rank 0's run.
// When the launcher is tearing the job down there is no time to wait that long (its SIGKILL
// follows in about a second): the rank saves its results first and then says what it knows
// (unanswered()).
#pragma once

#include <fmt/format.h>

#include <optional>
#include <string>

namespace kv::engine::mpi {

class RootWatch {
 public:
  static constexpr double kSilenceBeats = 10;

  // Rank 0's plan arrived, at `now_s`, saying it beats every `beat_s` (0: it does not beat).
  void planned(double now_s, double beat_s) {
    beat_s_ = beat_s;
    last_s_ = now_s;
  }
  // A message from rank 0 arrived at `now_s`.
  void heard(double now_s) {
    if (last_s_) last_s_ = now_s;
  }
  // Seconds since the last message from rank 0 (0 before its plan).
  double silent_s(double now_s) const { return last_s_ ? now_s - *last_s_ : 0.0; }
  // The silence after which rank 0 counts as gone; 0 when silence says nothing (no beat).
  double silence_limit_s() const { return beat_s_ > 0 ? kSilenceBeats * beat_s_ : 0.0; }

  // Why rank 0 counts as gone at `now_s` ("is gone (its process exited)", "has sent nothing for
  // ..."), or nullopt. `process_gone`: rank 0 runs on this host and its pid no longer exists.
  std::optional<std::string> gone(double now_s, bool process_gone) const {
    if (process_gone) return std::string("is gone (its process exited)");
    const double limit = silence_limit_s();
    if (limit > 0 && silent_s(now_s) > limit)
      return fmt::format(
          "has sent nothing for {:.1f} s (it sends a heartbeat every {:g} s): it is gone or "
          "unreachable",
          silent_s(now_s), beat_s_);
    return std::nullopt;
  }

  // Rank 0 did not confirm receipt of this rank's results while the launcher tears the job down:
  // what this rank saw, for its message. `stuck_s`: how long this rank's MPI traffic has been
  // stuck in one call (mpi/courier.hpp); `waited_s`: how long it waited for the receipt.
  std::string unanswered(double now_s, double stuck_s, double waited_s) const {
    const std::string last =
        last_s_ ? fmt::format("the last message from it came {:.1f} s ago", silent_s(now_s))
                : std::string("no message came from it");
    if (stuck_s >= kStuckS)
      return fmt::format(
          "is unreachable while the launcher is stopping the job: this rank's MPI communication "
          "has been stuck for {:.1f} s and {}{}; it is probably gone",
          stuck_s, last, beat_s_ > 0 ? fmt::format(" (it sends one every {:g} s)", beat_s_) : "");
    return fmt::format(
        "did not confirm receipt of this rank's results within {:.1f} s while the launcher is "
        "stopping the job ({}): it is gone or unreachable",
        waited_s, last);
  }
  // An MPI call of this rank that has not returned for this long means its traffic is stuck (a
  // healthy non-blocking call returns in microseconds).
  static constexpr double kStuckS = 0.5;

 private:
  double beat_s_ = 0;
  std::optional<double> last_s_;
};

}  // namespace kv::engine::mpi
