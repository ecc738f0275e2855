#include "orchestrator/runner.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "core/error.hpp"

namespace kv::orchestrator {
namespace {

std::atomic<int> g_signal{0};
std::atomic<int> g_signal_count{0};
int g_wake[2] = {-1, -1};

extern "C" void on_signal(int sig) {
  g_signal.store(sig);
  g_signal_count.fetch_add(1);
  if (g_wake[1] >= 0) {
    const int saved = errno;
    char b = static_cast<char>(sig);
    [[maybe_unused]] auto n = ::write(g_wake[1], &b, 1);
    errno = saved;
  }
}

void write_all(int fd, const char* p, std::size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return;  // console gone (EPIPE) or disk error: the log file check happens at open
    }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
}

int open_log(const std::filesystem::path& p) {
  if (p.empty()) return -1;
  int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    int e = errno;
    throw Error(e == EACCES || e == EROFS ? ExitCode::kPermissionDenied : ExitCode::kFailure,
                "cannot create log file " + p.string() + ": " + std::strerror(e));
  }
  return fd;
}

using Clock = std::chrono::steady_clock;

}  // namespace

void install_signal_handlers() {
  if (g_wake[0] < 0) {
    if (::pipe2(g_wake, O_CLOEXEC | O_NONBLOCK) != 0) g_wake[0] = g_wake[1] = -1;
  }
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: poll() returns EINTR and we look at the flag
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGHUP, &sa, nullptr);  // a closed terminal stops the run like SIGTERM
  struct sigaction ign {};
  ign.sa_handler = SIG_IGN;
  sigemptyset(&ign.sa_mask);
  ::sigaction(SIGPIPE, &ign, nullptr);
}

int received_signal() {
  return g_signal.load();
}

void clear_received_signal() {
  g_signal.store(0);
  if (g_wake[0] >= 0) {
    char buf[64];
    while (::read(g_wake[0], buf, sizeof buf) > 0) {
    }
  }
}

ChildResult run_child(const ChildSpec& spec) {
  ChildResult r;
  if (spec.argv.empty()) throw Error(ExitCode::kFailure, "run_child: empty argv");
  int out_fd = open_log(spec.stdout_log);
  int err_fd = -1;
  try {
    err_fd = open_log(spec.stderr_log);
  } catch (...) {
    if (out_fd >= 0) ::close(out_fd);
    throw;
  }
  int p_out[2], p_err[2], p_exec[2];
  if (::pipe2(p_out, O_CLOEXEC) != 0 || ::pipe2(p_err, O_CLOEXEC) != 0 ||
      ::pipe2(p_exec, O_CLOEXEC) != 0) {
    throw Error(ExitCode::kFailure, std::string("cannot create pipes: ") + std::strerror(errno));
  }
  std::vector<char*> cargv;
  for (const auto& a : spec.argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);

  // Block SIGINT/SIGTERM across fork so the child cannot run our handler before it resets them.
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGTERM);
  sigaddset(&block, SIGHUP);
  ::sigprocmask(SIG_BLOCK, &block, &old);
  const auto t0 = Clock::now();
  const pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0);
    // If mlpstorage dies (even SIGKILL), the child gets SIGTERM: the engine stops and writes its
    // results; mpirun tears the job down. A parent already gone before this point: exit now.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(128 + SIGTERM);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    ::sigaction(SIGINT, &dfl, nullptr);
    ::sigaction(SIGTERM, &dfl, nullptr);
    ::sigaction(SIGHUP, &dfl, nullptr);
    ::sigaction(SIGPIPE, &dfl, nullptr);
    ::sigprocmask(SIG_SETMASK, &old, nullptr);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
    ::dup2(p_out[1], STDOUT_FILENO);
    ::dup2(p_err[1], STDERR_FILENO);
    ::execvp(cargv[0], cargv.data());
    int e = errno;
    [[maybe_unused]] auto n = ::write(p_exec[1], &e, sizeof e);
    ::_exit(127);
  }
  const int fork_errno = errno;
  if (pid > 0) ::setpgid(pid, pid);  // also done by the child; whichever runs first wins
  ::sigprocmask(SIG_SETMASK, &old, nullptr);
  ::close(p_out[1]);
  ::close(p_err[1]);
  ::close(p_exec[1]);
  auto close_all = [&] {
    ::close(p_out[0]);
    ::close(p_err[0]);
    ::close(p_exec[0]);
    if (out_fd >= 0) ::close(out_fd);
    if (err_fd >= 0) ::close(err_fd);
  };
  if (pid < 0) {
    close_all();
    r.spawn_errno = fork_errno;
    return r;
  }
  int child_errno = 0;
  ssize_t got;
  do {
    got = ::read(p_exec[0], &child_errno, sizeof child_errno);
  } while (got < 0 && errno == EINTR);
  if (got == static_cast<ssize_t>(sizeof child_errno)) {
    int st = 0;
    while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    close_all();
    r.spawn_errno = child_errno;
    return r;
  }
  r.started = true;

  bool out_open = true, err_open = true, reaped = false;
  int status = 0;
  Clock::time_point kill_deadline{};
  bool term_sent = false;
  Clock::time_point soft_deadline{};
  bool soft_sent = false;
  Clock::time_point drain_deadline{};
  char buf[64 * 1024];

  auto forward = [&](int sig) {
    if (!soft_sent && !term_sent && spec.soft_stop_signal != 0) {
      r.forwarded_signal = sig;
      ::kill(-pid, spec.soft_stop_signal);
      soft_sent = true;
      soft_deadline = Clock::now() + spec.soft_grace;
    } else if (!term_sent) {
      if (r.forwarded_signal == 0) r.forwarded_signal = sig;
      ::kill(-pid, SIGTERM);
      term_sent = true;
      kill_deadline = Clock::now() + spec.grace;
    } else if (!r.killed_after_grace) {  // a third signal: no more waiting
      ::kill(-pid, SIGKILL);
      r.killed_after_grace = true;
    }
  };
  // Signals after the first: the second only says that the results are being written (the
  // grace periods bound the wait anyway), the third stops waiting.
  int extra_signals = 0;
  auto on_repeat = [&](int sig) {
    if (++extra_signals == 1) {
      const char msg[] =
          "mlpstorage: stopping; the results are being written (signal again to kill now)\n";
      write_all(STDERR_FILENO, msg, sizeof msg - 1);
      return;
    }
    while (!r.killed_after_grace) forward(sig);  // soft stop -> SIGTERM -> SIGKILL
  };
  // A signal that arrived before the child started is honoured right away.
  int seen_count = g_signal_count.load();
  if (int s = received_signal()) forward(s);

  while (true) {
    if (!reaped) {
      pid_t w = ::waitpid(pid, &status, WNOHANG);
      if (w == pid) {
        reaped = true;
        drain_deadline = Clock::now() + std::chrono::seconds(2);
      }
    }
    if (reaped && ((!out_open && !err_open) || Clock::now() >= drain_deadline)) break;
    if (soft_sent && !term_sent && !reaped && Clock::now() >= soft_deadline) {
      ::kill(-pid, SIGTERM);
      term_sent = true;
      kill_deadline = Clock::now() + spec.grace;
    }
    if (term_sent && !reaped && !r.killed_after_grace && Clock::now() >= kill_deadline) {
      ::kill(-pid, SIGKILL);
      r.killed_after_grace = true;
    }
    struct pollfd fds[3];
    int nfds = 0, i_out = -1, i_err = -1, i_wake = -1;
    if (out_open) {
      fds[nfds] = {p_out[0], POLLIN, 0};
      i_out = nfds++;
    }
    if (err_open) {
      fds[nfds] = {p_err[0], POLLIN, 0};
      i_err = nfds++;
    }
    if (g_wake[0] >= 0) {
      fds[nfds] = {g_wake[0], POLLIN, 0};
      i_wake = nfds++;
    }
    int pr = ::poll(fds, static_cast<nfds_t>(nfds), 50);
    if (pr < 0 && errno != EINTR) break;
    if (i_wake >= 0 && pr > 0 && (fds[i_wake].revents & POLLIN)) {
      char drain[16];
      while (::read(g_wake[0], drain, sizeof drain) > 0) {
      }
    }
    if (const int c = g_signal_count.load(); c != seen_count) {
      seen_count = c;
      if (!reaped) {
        if (soft_sent || term_sent)
          on_repeat(received_signal());
        else
          forward(received_signal());
      }
    }
    if (pr <= 0) continue;
    auto pump = [&](int idx, int src, int log_fd, int echo_fd, bool& open, std::uint64_t& count,
                    const std::function<void(const char*, std::size_t)>* sink) {
      if (idx < 0 || !(fds[idx].revents & (POLLIN | POLLHUP | POLLERR))) return;
      ssize_t n = ::read(src, buf, sizeof buf);
      if (n > 0) {
        if (log_fd >= 0) write_all(log_fd, buf, static_cast<std::size_t>(n));
        if (sink != nullptr && *sink)
          (*sink)(buf, static_cast<std::size_t>(n));
        else if (echo_fd >= 0)
          write_all(echo_fd, buf, static_cast<std::size_t>(n));
        count += static_cast<std::uint64_t>(n);
      } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        open = false;
      }
    };
    pump(i_out, p_out[0], out_fd, spec.echo_stdout_fd, out_open, r.stdout_bytes, nullptr);
    pump(i_err, p_err[0], err_fd, spec.echo_stderr_fd, err_open, r.stderr_bytes, &spec.stderr_sink);
  }
  if (!reaped) {
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  r.runtime_s = std::chrono::duration<double>(Clock::now() - t0).count();
  if (WIFEXITED(status))
    r.exit_code = WEXITSTATUS(status);
  else if (WIFSIGNALED(status))
    r.term_signal = WTERMSIG(status);
  if (out_fd >= 0) ::fsync(out_fd);
  if (err_fd >= 0) ::fsync(err_fd);
  close_all();
  return r;
}

}  // namespace kv::orchestrator
