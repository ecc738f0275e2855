// Running programs from tests: run a binary with an argv vector (no shell) and capture its exit
// status, stdout and stderr; keep one running in the background; find the built binaries and
// programs on $PATH.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "support/files.hpp"

namespace kv::testsupport {

struct ProcessResult {
  int exit_code = -1;  // -signal when killed by a signal
  std::string out;
  std::string err;
};

// The exit code of a waitpid() status, or -signal when the child was killed by a signal.
inline int exit_code_of(int status) {
  return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

// Forks and executes argv[0] (a path) with stdout and stderr going to the files `out` and `err`,
// the extra environment entries `env` ("K=V") and, when given, the working directory `cwd`.
// Returns the child's pid. The child exits 126 when it cannot set up, 127 when exec fails.
inline pid_t spawn(const std::vector<std::string>& argv, const std::filesystem::path& out,
                   const std::filesystem::path& err, const std::vector<std::string>& env = {},
                   const std::filesystem::path& cwd = {}) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) std::_Exit(126);
    if (!std::freopen(out.c_str(), "w", stdout) || !std::freopen(err.c_str(), "w", stderr))
      std::_Exit(126);
    for (const auto& kv : env) ::putenv(const_cast<char*>(kv.c_str()));
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    std::_Exit(127);
  }
  return pid;
}

// Runs argv[0] (a path) to its end with the given arguments and extra environment entries ("K=V").
inline ProcessResult run(const std::vector<std::string>& argv,
                         const std::vector<std::string>& env = {},
                         const std::filesystem::path& cwd = {}) {
  static std::atomic<int> counter{0};
  const std::string base =
      (std::filesystem::temp_directory_path() /
       ("kvtest_io_" + std::to_string(::getpid()) + "_" + std::to_string(counter++)))
          .string();
  const std::filesystem::path out_path = base + ".out", err_path = base + ".err";
  const pid_t pid = spawn(argv, out_path, err_path, env, cwd);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ProcessResult r;
  r.exit_code = exit_code_of(status);
  r.out = slurp(out_path);
  r.err = slurp(err_path);
  std::error_code ec;
  std::filesystem::remove(out_path, ec);
  std::filesystem::remove(err_path, ec);
  return r;
}

// A child running in the background, stdout in <dir>/<name>.out and stderr in <dir>/<name>.err.
// Killed (SIGKILL) and reaped at scope exit if it is still running.
class Background {
 public:
  Background(const std::vector<std::string>& argv, const std::filesystem::path& dir,
             const std::vector<std::string>& env = {}, const std::string& name = "child")
      : out(dir / (name + ".out")), err(dir / (name + ".err")), pid(spawn(argv, out, err, env)) {}
  ~Background() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;

  // The exit code (or -signal), or nullopt when the child still runs after `seconds`.
  std::optional<int> wait(double seconds) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (true) {
      int status = 0;
      if (pid > 0 && ::waitpid(pid, &status, WNOHANG) == pid) {
        pid = -1;
        return exit_code_of(status);
      }
      if (std::chrono::steady_clock::now() > deadline) return std::nullopt;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  void signal(int sig) const {
    if (pid > 0) ::kill(pid, sig);
  }
  // What the child wrote so far: stdout, then stderr.
  std::string output() const { return slurp(out) + slurp(err); }

  const std::filesystem::path out, err;
  pid_t pid = -1;  // -1 once reaped
};

// Path of a binary built by this project (build/bin/<name>).
inline std::string bin(const std::string& name) {
  return std::string(KV_BIN_DIR) + "/" + name;
}

// Absolute path of an executable found on $PATH, or empty.
inline std::string find_on_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string p = path ? path : "";
  std::size_t start = 0;
  while (!p.empty() && start <= p.size()) {
    auto colon = p.find(':', start);
    std::filesystem::path cand =
        std::filesystem::path(p.substr(start, colon == std::string::npos ? colon : colon - start)) /
        name;
    if (::access(cand.c_str(), X_OK) == 0) return cand.string();
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return {};
}

}  // namespace kv::testsupport
