// The phases rank 0 goes through in an MPI job, in this order (docs/distributed.md). A job that
// fails or is stopped early skips phases, never goes back: Rank0Phases::advance refuses to. What
// rank 0 still owes the other ranks when it ends early follows from its phase
// (DistributedRun::conclude): an aborting `plan` in kStartup, a cancelling `go` in kSetup, the
// gather and the results in kWindow/kGather, `done` always.
#pragma once

#include <span>
#include <stdexcept>
#include <string>

#include "engine_cli/choices.hpp"

namespace kv::engine::mpi {

enum class Rank0Phase {
  kStartup,  // waiting for every rank's hello; then each rank gets its plan
  kSetup,    // plans sent; waiting for every rank's ready (set-up done)
  kWindow,   // go sent: the measured window
  kGather,   // waiting for the ranks' results (or failures)
  kWritten,  // --output written
  kDone,     // done sent: the ranks may finalise
};

inline constexpr engine_cli::Choice<Rank0Phase> kRank0Phases[] = {
    {.text = "startup", .value = Rank0Phase::kStartup},
    {.text = "setup", .value = Rank0Phase::kSetup},
    {.text = "window", .value = Rank0Phase::kWindow},
    {.text = "gather", .value = Rank0Phase::kGather},
    {.text = "written", .value = Rank0Phase::kWritten},
    {.text = "done", .value = Rank0Phase::kDone},
};
constexpr std::span<const engine_cli::Choice<Rank0Phase>> choices_of(Rank0Phase) {
  return kRank0Phases;
}

class Rank0Phases {
 public:
  Rank0Phase now() const { return now_; }
  // True while rank 0 has not reached `p` yet.
  bool before(Rank0Phase p) const { return now_ < p; }
  // Moves to `next` (later phases may be skipped); going back is a programming error.
  void advance(Rank0Phase next) {
    if (next < now_)
      throw std::logic_error("rank 0 phase " + std::string(engine_cli::to_text(now_)) + " -> " +
                             std::string(engine_cli::to_text(next)));
    now_ = next;
  }

 private:
  Rank0Phase now_ = Rank0Phase::kStartup;
};

}  // namespace kv::engine::mpi
