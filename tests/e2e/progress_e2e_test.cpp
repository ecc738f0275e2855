// Progress of a real run, as a user sees it:
//  * stderr to a file (a pipe under mlpstorage): periodic "kv-cache progress:" records
//    (docs/engine.md), here every second;
//  * an 80-column terminal (a real tmux pane; tmux is installed by scripts/install-deps.sh): the
//    live status line appears and every refresh fits in 79 columns, so it never wraps. The pane's
//    whole output stream is recorded with `tmux pipe-pane`, and the engine starts only once the
//    recording is attached, so no refresh can be missed.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <thread>

#include "support/argv.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

using namespace kv::testsupport;

namespace fs = std::filesystem;

namespace {

std::vector<std::string> engine_args(const fs::path& dir, const std::string& duration) {
  return engine_argv({.cache = dir / "cache",
                      .output = dir / "out.json",
                      .duration = std::stoi(duration),
                      .seed = "3",
                      .cpu_mem_gb = "0.2",
                      .quiet = false});
}

std::size_t columns(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

}  // namespace

TEST(ProgressE2E, StderrToAFileGetsPeriodicRecords) {
  TempDir t;
  auto args = engine_args(t.path, "3");
  args.insert(args.end(), {"--progress-interval", "1"});
  auto r = run(args, {"KV_DIST_NO_MPI=1"});
  ASSERT_TRUE(ran_to_the_end(r, t.path / "out.json"));
  const std::regex rec(
      R"(kv-cache progress: phase=window elapsed_s=[0-9.]+ duration_s=3 requests=[0-9]+ )"
      R"(read_gibps=[0-9.]+ write_gibps=[0-9.]+ rank=0)");
  int n = 0;
  for (auto it = std::sregex_iterator(r.err.begin(), r.err.end(), rec);
       it != std::sregex_iterator(); ++it)
    ++n;
  EXPECT_GE(n, 1) << r.err;
  // No live status line (and no carriage return) when stderr is not a terminal.
  EXPECT_EQ(r.err.find('\r'), std::string::npos);
  // --progress-interval 0: no record.
  TempDir t2;
  auto quiet = engine_args(t2.path, "2");
  quiet.insert(quiet.end(), {"--progress-interval", "0"});
  auto q = run(quiet, {"KV_DIST_NO_MPI=1"});
  ASSERT_TRUE(ran_to_the_end(q, t2.path / "out.json"));
  EXPECT_EQ(q.err.find("kv-cache progress:"), std::string::npos) << q.err;
}

TEST(ProgressE2E, StatusLineFitsAn80ColumnTerminal) {
  const std::string tmux = find_on_path("tmux");
  if (tmux.empty()) GTEST_SKIP() << "tmux is not installed (scripts/install-deps.sh installs it)";
  TempDir t;
  const std::string sock = "kvtest" + std::to_string(::getpid());
  std::string cmd = "while [ ! -e " + (t.path / "GO").string() + " ]; do sleep 0.05; done; exec";
  for (const auto& a : engine_args(t.path, "6")) cmd += " '" + a + "'";
  auto tm = [&](std::vector<std::string> a) {
    a.insert(a.begin(), {tmux, "-L", sock, "-f", "/dev/null"});
    return run(a, {"KV_DIST_NO_MPI=1"});
  };
  ASSERT_EQ(
      tm({"new-session", "-d", "-s", "kv", "-x", "80", "-y", "24", "sh", "-c", cmd}).exit_code, 0);
  EXPECT_EQ(tm({"set-option", "-t", "kv", "remain-on-exit", "on"}).exit_code, 0);
  const fs::path raw = t.path / "pane.log";
  EXPECT_EQ(tm({"pipe-pane", "-t", "kv", "-o", "cat >> '" + raw.string() + "'"}).exit_code, 0);
  std::ofstream(t.path / "GO") << "";
  bool dead = false;
  for (int i = 0; i < 600 && !dead; ++i) {  // at most 60 s for a 6 s run
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    dead = tm({"list-panes", "-t", "kv", "-F", "#{pane_dead}"}).out.rfind("1", 0) == 0;
  }
  const std::string screen = tm({"capture-pane", "-t", "kv", "-p", "-J", "-S", "-"}).out;
  tm({"kill-server"});
  ASSERT_TRUE(dead) << "the engine did not finish";
  EXPECT_NE(screen.find("Results written to"), std::string::npos) << screen;

  // Every refresh of the status line ("\r...\x1b[K") within 79 columns.
  const std::string stream = slurp(raw);
  const std::regex esc("\x1b\\[[0-9;?]*[A-Za-z]");
  int refreshes = 0;
  std::size_t start = 0;
  while (start < stream.size()) {
    const auto end = stream.find_first_of("\r\n", start);
    const std::string seg = std::regex_replace(
        stream.substr(start, end == std::string::npos ? std::string::npos : end - start), esc, "");
    // A refresh always carries the elapsed field "N/6 s", the most important one.
    if (std::regex_search(seg, std::regex("[0-9]+/6 s"))) {
      ++refreshes;
      EXPECT_LE(columns(seg), 79u) << seg;
    }
    if (end == std::string::npos) break;
    start = end + 1;
  }
  EXPECT_GE(refreshes, 1) << stream.substr(0, 3000);
}

// The phases outside the window report too (docs/engine.md "Progress on stderr"): the --decode-only
// pre-population and the cleanup of the cache dir each write a record when they start and one when
// they end (done=total), in the order the run goes through them.
TEST(ProgressE2E, PrepopulationAndCleanupWriteTheirPhaseRecords) {
  TempDir t;
  auto args = engine_args(t.path, "1");
  args[4] = "1";  // --num-users 1: 10 pre-populated entries
  args.insert(args.end(), {"--decode-only", "--progress-interval", "0.5"});
  auto r = run(args, {"KV_DIST_NO_MPI=1"});
  ASSERT_TRUE(ran_to_the_end(r, t.path / "out.json"));
  const std::regex rec(
      R"(kv-cache progress: phase=(\w+) elapsed_s=[0-9.]+ duration_s=1 requests=[0-9]+ )"
      R"(read_gibps=[0-9.]+ write_gibps=[0-9.]+ rank=0(?: done=([0-9]+) total=([0-9]+) unit=(\w+))?)");
  std::vector<std::string> phases;  // in order, repeats collapsed
  std::map<std::string, std::vector<std::smatch>> by_phase;
  for (auto it = std::sregex_iterator(r.err.begin(), r.err.end(), rec);
       it != std::sregex_iterator(); ++it) {
    const std::string ph = (*it)[1];
    if (phases.empty() || phases.back() != ph) phases.push_back(ph);
    by_phase[ph].push_back(*it);
  }
  ASSERT_FALSE(phases.empty()) << r.err;
  EXPECT_EQ(phases.front(), "prepopulate") << r.err;
  EXPECT_EQ(phases.back(), "cleanup") << r.err;
  const auto& pre = by_phase["prepopulate"];
  ASSERT_GE(pre.size(), 2u) << r.err;
  EXPECT_EQ(pre.front()[2], "0");
  EXPECT_EQ(pre.front()[3], "10");
  EXPECT_EQ(pre.front()[4], "entries");
  EXPECT_EQ(pre.back()[2], "10");
  EXPECT_EQ(pre.back()[3], "10");
  const auto& clean = by_phase["cleanup"];
  ASSERT_GE(clean.size(), 2u) << r.err;
  EXPECT_EQ(clean.front()[4], "files");
  EXPECT_EQ(clean.back()[2], clean.back()[3]);                 // all files handled
  EXPECT_GE(std::stoull(clean.back()[3].str()), 1u) << r.err;  // entries reached the storage tier
}
