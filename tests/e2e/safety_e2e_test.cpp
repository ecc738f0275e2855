// Issue 15 fault injection, end to end on the real kv-cache binary (docs/safety.md): a run whose
// requests fail on a full filesystem fails (exit 6, ERROR with counts and strerror text); a
// non-UTF-8 path flag does not lose the results; an unwritable --output and a bad trace are found
// before the run, naming the flag or file.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/argv.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

using namespace kv::testsupport;

namespace fs = std::filesystem;

namespace {

std::vector<std::string> engine_args(const std::string& cache, const std::string& out,
                                     const std::string& duration = "3",
                                     const std::string& model = "tiny-1b") {
  return engine_argv({.cache = cache,
                      .output = out,
                      .model = model,
                      .duration = std::stoi(duration),
                      .generation_mode = ""});
}

}  // namespace

// Item 1: a 64 MiB tmpfs as the cache dir (a private mount namespace, so no root is needed where
// user namespaces are allowed) under a 1 GiB storage tier: most writes fail with ENOSPC (measured:
// 53 of 54 requests failed, 1 completed), so the run fails even when some requests complete.
TEST(SafetyE2E, RunWhoseWritesFailOnAFullFilesystemFails) {
  const std::string unshare = find_on_path("unshare");
  if (unshare.empty() || run({unshare, "-rm", "true"}).exit_code != 0)
    GTEST_SKIP() << "no unshare -rm here: cannot mount a private tmpfs";
  TempDir t;
  const fs::path cache = t.path / "cache", out = t.path / "out.json";
  fs::create_directories(cache);
  std::string cmd = "mount -t tmpfs -o size=64m kvtest \"$1\" && shift && exec \"$@\"";
  std::vector<std::string> argv = {unshare, "-rm", "sh", "-c", cmd, "sh", cache.string()};
  for (auto& a : engine_args(cache.string(), out.string(), "3")) argv.push_back(a);
  argv.insert(argv.end(), {"--storage-capacity-gb", "1"});  // more than the 64 MiB that fit
  const auto r = run(argv);
  ASSERT_EQ(r.exit_code, 6) << r.err;
  EXPECT_NE(r.err.find("ERROR"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("requests failed"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("No space left on device"), std::string::npos) << r.err;
  const auto j = nlohmann::json::parse(slurp(out));  // the results are still written
  EXPECT_GT(j["summary"]["failed_requests"].get<std::uint64_t>(), 0u);
  const auto ex = j["workload"]["failure_examples"];
  ASSERT_TRUE(ex.is_array() && !ex.empty()) << j["workload"].dump();
  EXPECT_NE(ex[0].get<std::string>().find("No space left on device"), std::string::npos) << ex[0];
}

// Item 4: a byte that is not UTF-8 in a path flag ends up as U+FFFD in the results, which are
// written (it used to make the final JSON dump throw after a complete run).
TEST(SafetyE2E, NonUtf8PathDoesNotLoseTheResults) {
  TempDir t;
  const fs::path cache = t.path / "cache-\xff\xfe";
  const fs::path out = t.path / "out.json";
  const auto r = run(until_requests(engine_args(cache.string(), out.string()), 1));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(slurp(out));
  EXPECT_TRUE(j["summary"].is_object());
  EXPECT_NE(j.dump().find("cache-\xef\xbf\xbd\xef\xbf\xbd"), std::string::npos);
}

// Item 4: an --output that cannot be created is an error before the run, naming the flag.
TEST(SafetyE2E, UnwritableOutputIsFoundBeforeTheRun) {
  TempDir t;
  std::ofstream(t.path / "file") << "x";
  for (const std::string& out :
       {(t.path / "file" / "out.json").string(), (t.path / std::string(300, 'n')).string(),
        std::string("/proc/kv-cache-out.json")}) {
    const auto r = run(engine_args((t.path / "cache").string(), out, "600"));
    EXPECT_NE(r.exit_code, 0) << out;
    EXPECT_NE(r.exit_code, 6) << out << ": " << r.err;  // not a failed run: an input error
    EXPECT_NE(r.err.find("--output"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(t.path / "cache")) << "the run started: " << out;
  }
}

// Item 5: an empty or all-invalid trace is refused before the run (it used to "succeed").
TEST(SafetyE2E, UnusableTracesAreInputErrors) {
  TempDir t;
  std::ofstream(t.path / "empty.csv") << "";
  std::ofstream(t.path / "bad.jsonl") << "{\"timestamp\": 1}\n";
  const fs::path out = t.path / "out.json";
  auto burst = engine_args((t.path / "cache").string(), out.string(), "600");
  burst.insert(burst.end(),
               {"--use-burst-trace", "--burst-trace-path", (t.path / "empty.csv").string()});
  auto r = run(burst);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("empty.csv"), std::string::npos) << r.err;
  auto mc = engine_args((t.path / "cache").string(), out.string(), "600");
  mc.insert(mc.end(), {"--mooncake-trace", (t.path / "bad.jsonl").string()});
  r = run(mc);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("bad.jsonl:1"), std::string::npos) << r.err;
}
