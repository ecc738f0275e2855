// The engine's one signal policy. Every signal the engine reacts to is handled here; the handler
// only records the signal (async-signal-safe), and the run loop polls stop_signal() and turns it
// into a stop of the run (results written, "interrupted": true, exit 8).
//
//   SIGINT, SIGTERM, SIGHUP  stop the run. A second one while stopping leaves at once (_exit 8).
//   SIGUSR1                  the graceful stop that mpirun forwards to every rank: stops the run
//                            like SIGINT. Before the run installs its handlers (an MPI rank during
//                            start-up) it is ignored, so an early forward cannot kill the rank.
//   hard stop                in an MPI rank once the window is about to open (set_hard_mode), a
//                            SIGINT/SIGTERM/SIGHUP means the launcher is tearing the job down
//                            (OpenMPI sends SIGKILL about 1 s later): hard_stop() tells the rank
//                            protocol to write at once and wait only briefly for the others.
//                            launcher_stop() says whether such a signal came from the launcher
//                            itself (the parent process: mpirun or its daemon; the ranks are in
//                            their own process groups, so a terminal's Ctrl-C reaches only mpirun)
//                            or from someone else (a user's kill of rank 0: rank 0 then stops the
//                            whole job cleanly, docs/distributed.md). In hard mode a second signal
//                            from the launcher does not leave at once: the rank goes on writing.
#pragma once

namespace kv::engine::run::signals {

// The run's handlers (SIGINT, SIGTERM, SIGHUP, SIGUSR1). Idempotent.
void install();
// Before install(): SIGUSR1 does nothing instead of killing the process.
void ignore_early_usr1();
// From now on SIGINT/SIGTERM/SIGHUP also mark a hard stop (see above).
void set_hard_mode();

// The first stop signal received, 0 if none.
int stop_signal();
inline bool stop_requested() {
  return stop_signal() != 0;
}
// A hard stop (SIGINT/SIGTERM/SIGHUP after set_hard_mode()) arrived.
bool hard_stop();
// A hard stop sent by the parent process (the launcher) arrived.
bool launcher_stop();

// Tests only: forgets received signals.
void reset_for_tests();

}  // namespace kv::engine::run::signals
