// --precondition: writes 2048-token entries until the target volume, prints a progress line per
// step, stops after more than 50 consecutive failed writes, and can be cancelled.
#include "engine/modes/precondition.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <mutex>
#include <set>

using namespace kv;
using namespace kv::engine::modes;

namespace {

std::string read_all(std::FILE* f) {
  std::rewind(f);
  std::string s;
  char buf[512];
  while (std::fgets(buf, sizeof buf, f)) s += buf;
  return s;
}

}  // namespace

TEST(Precondition, WritesUntilTheTargetWithProgressLines) {
  std::mutex mu;
  std::set<std::string> keys;
  auto alloc = [&](const std::string& key) {
    std::lock_guard lk(mu);
    keys.insert(key);
    cache::AllocResult r;
    r.ok = true;
    return r;
  };
  PreconditionOptions o;
  o.entry_bytes = 1000;
  o.target_bytes = 10000;
  o.threads = 1;
  o.progress_step = 2500;
  std::FILE* f = std::tmpfile();
  o.progress = f;
  const PreconditionResult r = run_precondition(alloc, o, nullptr);
  EXPECT_EQ(r.entries, 10u);
  EXPECT_EQ(r.written_bytes, 10000u);
  EXPECT_EQ(r.failures, 0u);
  EXPECT_FALSE(r.stopped_on_failures);
  EXPECT_EQ(keys.size(), 10u);
  EXPECT_TRUE(keys.count("precond_0"));
  EXPECT_TRUE(keys.count("precond_9"));
  const std::string out = read_all(f);
  std::fclose(f);
  int lines = 0;
  for (char ch : out) lines += ch == '\n';
  EXPECT_EQ(lines, 4) << out;  // at 3000, 5000, 8000, 10000 bytes (every 2500 crossed)
  EXPECT_NE(out.find("Preconditioning:"), std::string::npos);
  const auto j = to_json(r);
  EXPECT_EQ(j["entries"], 10);
  EXPECT_EQ(j["target_bytes"], 10000);
}

TEST(Precondition, StopsAfterMoreThanFiftyConsecutiveFailures) {
  std::atomic<int> calls{0};
  auto alloc = [&](const std::string&) {
    cache::AllocResult r;
    // The first 3 succeed, one failure, one success (resets the run), then failures only.
    const int n = calls.fetch_add(1);
    r.ok = n < 3 || n == 4;
    r.error = r.ok ? 0 : 28;
    return r;
  };
  PreconditionOptions o;
  o.entry_bytes = 1;
  o.target_bytes = 1000000;
  o.threads = 1;
  o.progress = nullptr;
  const PreconditionResult r = run_precondition(alloc, o, nullptr);
  EXPECT_TRUE(r.stopped_on_failures);
  EXPECT_EQ(r.entries, 4u);
  EXPECT_EQ(r.failures, 1u + 51u);
  EXPECT_EQ(calls.load(), 5 + 51);
}

TEST(Precondition, ManyThreadsAndCancellation) {
  std::atomic<int> calls{0};
  auto alloc = [&](const std::string&) {
    calls.fetch_add(1);
    cache::AllocResult r;
    r.ok = true;
    return r;
  };
  PreconditionOptions o;
  o.entry_bytes = 10;
  o.target_bytes = 1000;
  o.threads = 4;
  o.progress = nullptr;
  const PreconditionResult r = run_precondition(alloc, o, nullptr);
  EXPECT_GE(r.written_bytes, 1000u);
  EXPECT_LE(r.written_bytes, 1000u + 3 * 10u);  // at most one overshooting entry per other thread
  EXPECT_EQ(r.threads, 4u);

  std::atomic<int> polls{0};
  const PreconditionResult c = run_precondition(alloc, o, [&] { return polls.fetch_add(1) >= 5; });
  EXPECT_TRUE(c.interrupted);
  EXPECT_LT(c.written_bytes, 1000u);
}
