#include "engine/run/signals.hpp"

#include <unistd.h>

#include <csignal>

#include "core/error.hpp"

namespace kv::engine::run::signals {

namespace {

volatile std::sig_atomic_t g_signal = 0;
volatile std::sig_atomic_t g_hard_mode = 0;
volatile std::sig_atomic_t g_hard = 0;

extern "C" void on_stop_signal(int sig) {
  if (g_hard_mode != 0 && sig != SIGUSR1) g_hard = sig;
  if (g_signal != 0) ::_exit(to_int(ExitCode::kInterrupted));  // second signal: leave now
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

}  // namespace

void install() {
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGUSR1}) set_handler(sig, on_stop_signal);
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

void reset_for_tests() {
  g_signal = 0;
  g_hard = 0;
  g_hard_mode = 0;
}

}  // namespace kv::engine::run::signals
