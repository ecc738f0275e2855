// Child-process runner: no shell, separate stdout/stderr streamed live and tee'd to files, exit
// status and signals reported, SIGTERM forwarded to the child's whole process group with a grace
// period before SIGKILL.
#include "orchestrator/runner.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "orchestrator/kvcache.hpp"
#include "test_util.hpp"

using namespace kv::orchestrator;
using namespace std::chrono_literals;

namespace {

ChildSpec spec_in(const orchtest::TempDir& t, std::vector<std::string> argv) {
  ChildSpec s;
  s.argv = std::move(argv);
  s.stdout_log = t.path / "out.log";
  s.stderr_log = t.path / "err.log";
  s.echo_stdout_fd = -1;
  s.echo_stderr_fd = -1;
  return s;
}

bool process_gone(pid_t pid) {
  // Gone or a zombie waiting for a reaper that is not us.
  if (::kill(pid, 0) != 0) return true;
  std::string stat = orchtest::slurp("/proc/" + std::to_string(pid) + "/stat");
  auto close = stat.rfind(')');
  return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] == 'Z';
}

}  // namespace

TEST(Runner, ArgvWithoutShellAndSeparateStreamsInFiles) {
  orchtest::TempDir t;
  // Arguments with spaces and shell metacharacters arrive unchanged: no shell in between.
  auto r = run_child(spec_in(
      t, {"/bin/sh", "-c", "printf '%s|' \"$@\"; echo oops >&2", "sh", "a b", "$HOME", "*"}));
  ASSERT_TRUE(r.started);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(orchtest::slurp(t.path / "out.log"), "a b|$HOME|*|");
  EXPECT_EQ(orchtest::slurp(t.path / "err.log"), "oops\n");
  EXPECT_EQ(r.stdout_bytes, 12u);
  EXPECT_EQ(r.stderr_bytes, 5u);
}

TEST(Runner, ExitStatusAndSignalAreReported) {
  orchtest::TempDir t;
  auto r = run_child(spec_in(t, {"/bin/sh", "-c", "exit 3"}));
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.term_signal, 0);
  auto k = run_child(spec_in(t, {"/bin/sh", "-c", "kill -9 $$"}));
  EXPECT_EQ(k.term_signal, SIGKILL);
  EXPECT_EQ(classify_child(true, -1, SIGKILL, 0).exit_code, 6);
  EXPECT_EQ(classify_child(true, 3, 0, 0).exit_code, 3);
  EXPECT_EQ(classify_child(true, 3, 0, 0).status, "failed");
  EXPECT_EQ(classify_child(true, 127, 0, 0).exit_code, 6);
  EXPECT_EQ(classify_child(true, 0, 0, 0).status, "success");
  EXPECT_EQ(classify_child(true, 143, 0, SIGTERM).exit_code, 8);
  EXPECT_EQ(classify_child(false, -1, 0, 0).exit_code, 3);
}

TEST(Runner, ExecFailureIsReportedNotThrown) {
  orchtest::TempDir t;
  auto r = run_child(spec_in(t, {"/nonexistent/kv-cache", "--help"}));
  EXPECT_FALSE(r.started);
  EXPECT_EQ(r.spawn_errno, ENOENT);
  auto path = run_child(spec_in(t, {"no-such-program-xyz"}));  // PATH lookup
  EXPECT_FALSE(path.started);
}

TEST(Runner, OutputIsStreamedLiveToTheEchoFd) {
  orchtest::TempDir t;
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  auto s = spec_in(t, {"/bin/sh", "-c", "echo first; sleep 1; echo second"});
  s.echo_stdout_fd = fds[1];
  const auto t0 = std::chrono::steady_clock::now();
  std::atomic<double> first_at{-1};
  std::string seen;
  std::thread reader([&] {
    char buf[256];
    ssize_t n;
    while ((n = ::read(fds[0], buf, sizeof buf)) > 0) {
      seen.append(buf, static_cast<std::size_t>(n));
      if (first_at < 0 && seen.find("first") != std::string::npos) {
        first_at = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      }
    }
  });
  auto r = run_child(s);
  ::close(fds[1]);
  reader.join();
  ::close(fds[0]);
  EXPECT_EQ(seen, "first\nsecond\n");
  EXPECT_EQ(orchtest::slurp(t.path / "out.log"), "first\nsecond\n");
  EXPECT_GE(r.runtime_s, 0.9);
  EXPECT_GE(first_at.load(), 0.0);
  EXPECT_LT(first_at.load(), r.runtime_s - 0.5) << "'first' arrived only at the end";
}

TEST(Runner, SigtermIsForwardedToTheWholeProcessGroup) {
  orchtest::TempDir t;
  install_signal_handlers();
  clear_received_signal();
  // The shell starts a grandchild and traps TERM; both must receive it.
  auto s = spec_in(t, {"/bin/sh", "-c",
                       "trap 'echo got-term; exit 143' TERM; sleep 30 & echo $! > " +
                           (t.path / "gc.pid").string() + "; while :; do sleep 0.05; done"});
  const auto pid_file = t.path / "gc.pid";
  std::thread killer([&] {
    for (int i = 0; i < 500 && !std::filesystem::exists(pid_file); ++i)
      std::this_thread::sleep_for(10ms);
    std::this_thread::sleep_for(100ms);
    ::kill(::getpid(), SIGTERM);
  });
  auto r = run_child(s);
  killer.join();
  EXPECT_EQ(r.forwarded_signal, SIGTERM);
  EXPECT_EQ(received_signal(), SIGTERM);
  EXPECT_FALSE(r.killed_after_grace);
  EXPECT_EQ(r.exit_code, 143);
  EXPECT_NE(orchtest::slurp(t.path / "out.log").find("got-term"), std::string::npos);
  EXPECT_LT(r.runtime_s, 4.0);
  const pid_t gc = std::stoi(orchtest::slurp(t.path / "gc.pid"));
  bool gone = false;
  for (int i = 0; i < 50 && !gone; ++i) {
    gone = process_gone(gc);
    if (!gone) std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(gone) << "grandchild " << gc << " survived";
  EXPECT_EQ(classify_child(r.started, r.exit_code, r.term_signal, r.forwarded_signal).status,
            "interrupted");
  clear_received_signal();
}

TEST(Runner, ChildIgnoringSigtermIsKilledAfterTheGracePeriod) {
  orchtest::TempDir t;
  install_signal_handlers();
  clear_received_signal();
  auto s = spec_in(t, {"/bin/sh", "-c", "trap '' TERM; echo ready; sleep 30"});
  s.grace = 300ms;
  std::thread killer([&] {
    for (int i = 0;
         i < 500 && orchtest::slurp(t.path / "out.log").find("ready") == std::string::npos; ++i) {
      std::this_thread::sleep_for(10ms);
    }
    ::kill(::getpid(), SIGINT);
  });
  auto r = run_child(s);
  killer.join();
  EXPECT_EQ(r.forwarded_signal, SIGINT);
  EXPECT_TRUE(r.killed_after_grace);
  EXPECT_EQ(r.term_signal, SIGKILL);
  EXPECT_LT(r.runtime_s, 5.0);
  clear_received_signal();
}

// Issue 15 item 8: a second signal does not kill the child while it writes its results; SIGHUP
// is handled like SIGTERM.
TEST(Runner, SecondSignalStillLetsTheChildFinishAndSighupIsATerm) {
  orchtest::TempDir t;
  install_signal_handlers();
  clear_received_signal();
  // The child takes 0.5 s to "write its results" after SIGTERM.
  auto s = spec_in(t, {"/bin/sh", "-c",
                       "trap 'sleep 0.5; echo results-written; exit 8' TERM; echo ready; "
                       "while :; do sleep 0.05; done"});
  s.grace = 20s;
  std::thread killer([&] {
    for (int i = 0;
         i < 500 && orchtest::slurp(t.path / "out.log").find("ready") == std::string::npos; ++i) {
      std::this_thread::sleep_for(10ms);
    }
    ::kill(::getpid(), SIGHUP);
    std::this_thread::sleep_for(100ms);
    ::kill(::getpid(), SIGINT);  // the second one: the child keeps going
  });
  auto r = run_child(s);
  killer.join();
  EXPECT_EQ(r.forwarded_signal, SIGHUP);
  EXPECT_FALSE(r.killed_after_grace);
  EXPECT_EQ(r.exit_code, 8);
  EXPECT_NE(orchtest::slurp(t.path / "out.log").find("results-written"), std::string::npos);
  clear_received_signal();
}

// Issue 15 item 8: when mlpstorage dies (SIGKILL), its child gets SIGTERM (PR_SET_PDEATHSIG).
TEST(Runner, ChildIsStoppedWhenMlpstorageIsKilled) {
  orchtest::TempDir t;
  const pid_t runner = ::fork();
  if (runner == 0) {
    auto s = spec_in(
        t, {"/bin/sh", "-c", "echo $$ > \"$0\"; exec sleep 60", (t.path / "child.pid").string()});
    run_child(s);
    std::_Exit(0);
  }
  pid_t child = 0;
  for (int i = 0; i < 500 && child == 0; ++i) {
    const std::string p = orchtest::slurp(t.path / "child.pid");
    if (!p.empty() && p.back() == '\n') child = std::stoi(p);
    if (child == 0) std::this_thread::sleep_for(10ms);
  }
  ASSERT_GT(child, 0);
  ::kill(runner, SIGKILL);
  ::waitpid(runner, nullptr, 0);
  bool gone = false;
  for (int i = 0; i < 250 && !gone; ++i) {
    gone = process_gone(child);
    if (!gone) std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(gone) << "child " << child << " outlived the killed runner";
  if (!gone) ::kill(child, SIGKILL);
}

TEST(Runner, UnwritableLogIsAnErrorNamingTheFile) {
  orchtest::TempDir t;
  ChildSpec s;
  s.argv = {"/bin/true"};
  s.stdout_log = t.path / "missing-dir" / "out.log";
  try {
    run_child(s);
    FAIL() << "no error";
  } catch (const kv::Error& e) {
    EXPECT_NE(std::string(e.what()).find("out.log"), std::string::npos);
  }
}
