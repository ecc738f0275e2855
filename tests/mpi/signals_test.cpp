// How an MPI rank tells the launcher's signal from anyone else's (engine/run/signals.hpp): a stop
// signal whose sender is the rank's parent process is the launcher's (mpirun, orted) and a hard
// stop; the same signal from another process is not the launcher's; in hard mode a second signal
// from the launcher lets the rank go on writing, a second one from anybody else ends it (exit 8).
// Each case runs in a forked child, the "rank"; the test process is its parent, the "launcher".
#include "engine/run/signals.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <thread>

namespace signals = kv::engine::run::signals;

namespace {

// Waits (bounded) until `pred`; the wait ends on the event, not on a guessed time.
template <class Pred>
bool wait_for(Pred pred) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

// Another process (not the rank's parent) sends `sig` to `pid`.
void signal_from_a_stranger(pid_t pid, int sig) {
  const pid_t stranger = ::fork();
  if (stranger == 0) ::_exit(::kill(pid, sig) == 0 ? 0 : 1);
  int status = 0;
  ::waitpid(stranger, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

struct Rank {
  pid_t pid = -1;
  int to_test = -1;  // the rank's reports: one byte per event
  // The rank: installs the handlers in hard mode, reports 'r' (ready), then 's' on the first stop
  // signal, then waits for a hard stop and reports 'h' plus launcher_stop() as '1'/'0'.
  Rank() {
    int fds[2];
    EXPECT_EQ(::pipe(fds), 0);
    pid = ::fork();
    if (pid == 0) {
      ::close(fds[0]);
      signals::reset_for_tests();
      signals::install();
      signals::set_hard_mode();
      const auto say = [&](char c) { (void)!::write(fds[1], &c, 1); };
      say('r');
      if (!wait_for([] { return signals::stop_requested(); })) ::_exit(3);
      say('s');
      if (!wait_for([] { return signals::hard_stop() && signals::launcher_stop(); })) {
        say('h');
        say('0');
        ::_exit(0);
      }
      say('h');
      say('1');
      ::_exit(0);
    }
    ::close(fds[1]);
    to_test = fds[0];
  }
  char next() {
    char c = 0;
    return ::read(to_test, &c, 1) == 1 ? c : '?';
  }
  int exit_status() {
    int status = 0;
    ::waitpid(pid, &status, 0);
    pid = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  }
  ~Rank() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    ::close(to_test);
  }
};

}  // namespace

TEST(MpiRankSignals, TheParentsSignalIsTheLaunchers) {
  Rank rank;
  ASSERT_EQ(rank.next(), 'r');
  ASSERT_EQ(::kill(rank.pid, SIGTERM), 0);
  EXPECT_EQ(rank.next(), 's');
  EXPECT_EQ(rank.next(), 'h');
  EXPECT_EQ(rank.next(), '1');
  EXPECT_EQ(rank.exit_status(), 0);
}

TEST(MpiRankSignals, AStrangersSignalIsNotTheLaunchersAndASecondOneEndsTheRank) {
  Rank rank;
  ASSERT_EQ(rank.next(), 'r');
  signal_from_a_stranger(rank.pid, SIGINT);
  EXPECT_EQ(rank.next(), 's');
  signal_from_a_stranger(rank.pid, SIGTERM);  // a second signal, not from the launcher
  EXPECT_EQ(rank.exit_status(), 8);
}

TEST(MpiRankSignals, TheLaunchersSecondSignalLetsTheRankGoOn) {
  Rank rank;
  ASSERT_EQ(rank.next(), 'r');
  signal_from_a_stranger(rank.pid, SIGHUP);  // e.g. a user's signal to rank 0
  EXPECT_EQ(rank.next(), 's');
  ASSERT_EQ(::kill(rank.pid, SIGTERM), 0);  // then the launcher tears the job down
  EXPECT_EQ(rank.next(), 'h');
  EXPECT_EQ(rank.next(), '1');
  EXPECT_EQ(rank.exit_status(), 0);
}
