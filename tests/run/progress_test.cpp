// The progress record's format and the status line's fitting to the terminal width.
#include "engine/run/progress.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <sstream>
#include <thread>
#include <vector>

#include "engine/run/status_line.hpp"

using namespace kv::engine::run;

namespace {
std::size_t columns(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}
}  // namespace

TEST(ProgressRecord, OneLineOfKeyValuePairsInTheAgreedFormat) {
  ProgressFields f;
  f.phase = "window";
  f.elapsed_s = 12.04;
  f.duration_s = 60;
  f.requests = 314;
  f.read_gibps = 1.2345;
  f.write_gibps = 0.5;
  f.rank = 3;
  const std::string line = progress_line(f);
  EXPECT_EQ(line.rfind("kv-cache progress: ", 0), 0u);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  std::map<std::string, std::string> kv;
  std::istringstream in(line.substr(19));
  for (std::string tok; in >> tok;) {
    auto eq = tok.find('=');
    ASSERT_NE(eq, std::string::npos) << tok;
    kv[tok.substr(0, eq)] = tok.substr(eq + 1);
  }
  EXPECT_EQ(kv["phase"], "window");
  EXPECT_DOUBLE_EQ(std::stod(kv["elapsed_s"]), 12.0);
  EXPECT_EQ(kv["duration_s"], "60");
  EXPECT_EQ(kv["requests"], "314");
  EXPECT_NEAR(std::stod(kv["read_gibps"]), 1.2345, 1e-3);
  EXPECT_NEAR(std::stod(kv["write_gibps"]), 0.5, 1e-3);
  EXPECT_EQ(kv["rank"], "3");
}

TEST(StatusLineFit, KeepsEverythingWhenItFits) {
  const std::string l = fit_status_line("[kv] ", {{"a", 2}, {"b", 1}}, 80);
  EXPECT_EQ(l, "[kv] a | b");
}

TEST(StatusLineFit, DropsLeastImportantFieldsFirstAndNeverExceedsTheWidth) {
  const std::vector<StatusField> fields = {{"3/6 s", 9},
                                           {"12 req", 8},
                                           {"sto R 1.25 W 0.50 GiB/s", 7},
                                           {"cpu R 3.10 W 0.20 GiB/s", 5},
                                           {"total R 10.00 W 4.00 GiB", 6}};
  for (std::size_t w = 0; w <= 120; ++w) {
    const std::string l = fit_status_line("[kv-cache] ", fields, w);
    EXPECT_LE(columns(l), w) << l;
  }
  // 56 columns: the CPU rates (priority 5) go, then the totals (6); storage rates stay.
  const std::string l56 = fit_status_line("[kv-cache] ", fields, 56);
  EXPECT_EQ(l56, "[kv-cache] 3/6 s | 12 req | sto R 1.25 W 0.50 GiB/s");
  const std::string l79 = fit_status_line("[kv-cache] ", fields, 79);
  EXPECT_EQ(l79.find("cpu R"), std::string::npos) << l79;
  EXPECT_NE(l79.find("total R"), std::string::npos) << l79;
  // Very narrow: the prefix goes before the two most important fields.
  EXPECT_EQ(fit_status_line("[kv-cache] ", fields, 14), "3/6 s | 12 req");
}

namespace {

// What a PhaseProgress wrote to its stream.
std::string written(std::FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::string s;
  for (int c; (c = std::fgetc(f)) != EOF;) s += static_cast<char>(c);
  return s;
}

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

constexpr std::int64_t kSec = 1'000'000'000;

// Everything a 5 s phase writes with options `o` (its stream replaced by a temporary file).
std::string output_of_a_phase(ProgressOptions o) {
  std::FILE* f = std::tmpfile();
  o.out = f;
  {
    PhaseProgress p(
        PhaseProgress::Manual{}, o, "cleanup", "removing", "files",
        [] { return PhaseSample(1, 2); }, 0);
    p.tick(5 * kSec);
  }
  std::string out = written(f);
  std::fclose(f);
  return out;
}

}  // namespace

TEST(PhaseProgress, RecordsAtTheStartEveryIntervalAndAtTheEnd) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  ProgressOptions o;
  o.interval_s = 2;
  o.duration_s = 8;
  o.rank = 1;
  o.out = f;
  std::uint64_t done = 0;
  {
    PhaseProgress p(
        PhaseProgress::Manual{}, o, "prepopulate", "pre-populating", "entries",
        [&] { return PhaseSample(done, 40, 0, done * (1ULL << 30)); }, 100 * kSec);
    done = 10;
    p.tick(101 * kSec);  // not yet due
    p.tick(102 * kSec);  // due
    done = 40;
    p.finish(103 * kSec);
    p.finish(104 * kSec);  // idempotent
    EXPECT_EQ(p.records(), 3);
  }
  const auto l = lines_of(written(f));
  ASSERT_EQ(l.size(), 3u) << written(f);
  EXPECT_EQ(l[0],
            "kv-cache progress: phase=prepopulate elapsed_s=0.0 duration_s=8 requests=0 "
            "read_gibps=0.000 write_gibps=0.000 rank=1 done=0 total=40 unit=entries");
  EXPECT_NE(l[1].find("elapsed_s=2.0"), std::string::npos) << l[1];
  EXPECT_NE(l[1].find("done=10 total=40"), std::string::npos) << l[1];
  EXPECT_NE(l[1].find("write_gibps=5.000"), std::string::npos) << l[1];  // 10 GiB in 2 s
  EXPECT_NE(l[2].find("done=40 total=40"), std::string::npos) << l[2];
  EXPECT_NE(l[2].find("elapsed_s=3.0"), std::string::npos) << l[2];
  std::fclose(f);
}

TEST(PhaseProgress, StepIsAppendedAndNoRecordWithIntervalZero) {
  std::FILE* f = std::tmpfile();
  ProgressOptions o;
  o.out = f;
  o.interval_s = 1;
  {
    PhaseProgress p(
        PhaseProgress::Manual{}, o, "probe", "probing", "bytes",
        [] { return PhaseSample(5, 0, 0, 5, "write"); }, 0);
  }
  const auto l = lines_of(written(f));
  ASSERT_EQ(l.size(), 2u);
  EXPECT_NE(l[0].find("phase=probe"), std::string::npos);
  EXPECT_NE(l[0].find("done=5 total=0 unit=bytes step=write"), std::string::npos) << l[0];
  std::fclose(f);

  o.interval_s = 0;
  EXPECT_EQ(output_of_a_phase(o), "");
}

TEST(PhaseProgress, OnATerminalAStatusLineAfterOneSecondClearedAtTheEnd) {
  std::FILE* f = std::tmpfile();
  ProgressOptions o;
  o.out = f;
  o.terminal = true;
  std::uint64_t done = 0;
  PhaseProgress p(
      PhaseProgress::Manual{}, o, "cleanup", "removing cache files", "files",
      [&] { return PhaseSample(done, 200); }, 0);
  p.tick(kSec / 2);  // a phase shorter than a second stays silent
  EXPECT_EQ(written(f), "");
  done = 50;
  p.tick(kSec + 1);
  const std::string shown = written(f);
  EXPECT_EQ(shown.find("kv-cache progress:"), std::string::npos) << shown;
  EXPECT_NE(shown.find("removing cache files | 50/200 files (25 %) | 1 s"), std::string::npos)
      << shown;
  EXPECT_EQ(shown.find('\n'), std::string::npos);
  p.finish(2 * kSec);
  const std::string all = written(f);
  EXPECT_EQ(all.substr(all.size() - 4), "\r\x1b[K");
  EXPECT_EQ(p.records(), 0);
  std::fclose(f);

  o.quiet = true;  // --quiet: nothing
  EXPECT_EQ(output_of_a_phase(o), "");
}

TEST(PhaseProgress, TheThreadReportsWithoutTicksFromTheCaller) {
  std::FILE* f = std::tmpfile();
  ProgressOptions o;
  o.out = f;
  o.interval_s = 0.05;
  std::atomic<std::uint64_t> done{0};
  {
    PhaseProgress p(o, "gather", "gathering", "ranks", [&] { return PhaseSample(done.load(), 4); });
    // Waits for a periodic record (written by the thread), whatever the machine's load.
    for (int i = 0; i < 2000 && p.records() < 2; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    done = 4;
  }
  const auto l = lines_of(written(f));
  ASSERT_GE(l.size(), 3u);
  EXPECT_NE(l.back().find("done=4 total=4 unit=ranks"), std::string::npos) << l.back();
  std::fclose(f);
}
