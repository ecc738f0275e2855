// Child-process runner for the engine (or its MPI launcher) and the process's signal handling.
//
// signals: install_signal_handlers() makes SIGINT/SIGTERM/SIGHUP set a flag and wake a self-pipe
// (SIGPIPE is ignored so a closed console does not kill a run). Nothing exits from a handler:
// callers check received_signal() and the runner forwards the signal to its child.
//
// run_child(): fork + execvp of an argv vector (no shell) in a NEW process group, stdin from
// /dev/null, stdout and stderr read through pipes as the bytes arrive, written to the console
// (echo fds) and to the log files. The child gets SIGTERM if mlpstorage dies (PR_SET_PDEATHSIG),
// so a killed mlpstorage takes the job down. When SIGINT/SIGTERM/SIGHUP arrives, SIGTERM goes to
// the child's whole process group; after `grace` (default 5 s) the group gets SIGKILL. With
// `soft_stop_signal` (MPI launches: SIGUSR1, which mpirun forwards to every rank) that signal goes
// first; SIGTERM follows after `soft_grace`, then SIGKILL as above. A second signal only prints
// that the results are being written (a second Ctrl-C still gets results); a third kills at once.
// Returns how the child ended; never throws for a child failure, only for log-file errors.
#pragma once

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace kv::orchestrator {

void install_signal_handlers();
int received_signal();         // last SIGINT/SIGTERM received, 0 if none
void clear_received_signal();  // tests

struct ChildSpec {
  std::vector<std::string> argv;       // argv[0] searched on PATH when it has no '/'
  std::filesystem::path stdout_log;    // empty: not saved
  std::filesystem::path stderr_log;    // empty: not saved
  int echo_stdout_fd = STDOUT_FILENO;  // -1: not echoed
  int echo_stderr_fd = STDERR_FILENO;  // -1: not echoed
  // When set, the child's stderr bytes go here instead of echo_stderr_fd (still logged to
  // stderr_log); used to relay the engine's progress records (submission/progress.hpp).
  std::function<void(const char*, std::size_t)> stderr_sink;
  std::chrono::milliseconds grace{5000};  // SIGTERM → SIGKILL delay
  // When non-zero, the first forwarded SIGINT/SIGTERM is sent to the child as this signal instead
  // (a graceful stop: mpirun forwards SIGUSR1 to every rank); SIGTERM follows after `soft_grace`
  // or at the next signal, then SIGKILL as above.
  int soft_stop_signal = 0;
  std::chrono::milliseconds soft_grace{30000};
};

struct ChildResult {
  bool started = false;
  int spawn_errno = 0;       // exec failure (ENOENT, EACCES, …) when !started
  int exit_code = -1;        // WEXITSTATUS when it exited
  int term_signal = 0;       // WTERMSIG when a signal ended it
  int forwarded_signal = 0;  // the SIGINT/SIGTERM we received and forwarded, 0 if none
  bool killed_after_grace = false;
  double runtime_s = 0;
  std::uint64_t stdout_bytes = 0;
  std::uint64_t stderr_bytes = 0;
};

ChildResult run_child(const ChildSpec& spec);

}  // namespace kv::orchestrator
