#include "engine/run/signals.hpp"

#include <unistd.h>

#include <csignal>

#include "core/error.hpp"

namespace kv::engine::run::signals {

namespace {

volatile std::sig_atomic_t g_signal = 0;
volatile std::sig_atomic_t g_hard_mode = 0;
volatile std::sig_atomic_t g_hard = 0;
volatile std::sig_atomic_t g_launcher = 0;

extern "C" void on_stop_signal(int sig, siginfo_t* info, void* /*context*/) {
  // getppid() is async-signal-safe; the launcher (mpirun, orted) is the rank's parent.
  const bool from_launcher = info != nullptr && info->si_code == SI_USER && info->si_pid > 1 &&
                             info->si_pid == ::getppid();
  if (g_hard_mode != 0 && sig != SIGUSR1) {
    g_hard = sig;
    if (from_launcher) g_launcher = 1;
  }
  if (g_signal != 0) {
    if (g_hard_mode != 0 && from_launcher) return;  // the teardown: go on writing (see header)
    ::_exit(to_int(ExitCode::kInterrupted));        // second signal: leave now
  }
  g_signal = sig;
}

extern "C" void on_early_usr1(int) {}

void set_handler(int sig, void (*fn)(int)) {
  struct sigaction sa {};
  sa.sa_handler = fn;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;
  ::sigaction(sig, &sa, nullptr);
}
void set_info_handler(int sig, void (*fn)(int, siginfo_t*, void*)) {
  struct sigaction sa {};
  sa.sa_sigaction = fn;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_SIGINFO;
  ::sigaction(sig, &sa, nullptr);
}

}  // namespace

void install() {
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGUSR1}) set_info_handler(sig, on_stop_signal);
}

void ignore_early_usr1() {
  set_handler(SIGUSR1, on_early_usr1);
}

void set_hard_mode() {
  g_hard_mode = 1;
}

int stop_signal() {
  return static_cast<int>(g_signal);
}

bool hard_stop() {
  return g_hard != 0;
}

bool launcher_stop() {
  return g_launcher != 0;
}

void reset_for_tests() {
  g_signal = 0;
  g_hard = 0;
  g_hard_mode = 0;
  g_launcher = 0;
}

}  // namespace kv::engine::run::signals
