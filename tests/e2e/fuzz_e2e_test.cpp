// Issue 15: a seeded fuzz of kv-cache's command line (flag names read from --help, so new flags are
// covered without editing this file). Each case is a small valid base run plus one to three flags
// with hostile values (empty, negative, huge, nan, 1e999, non-UTF-8, /dev/zero, directories, long
// strings). Asserts: no case dies by a signal (no crash, no std::terminate, no sanitizer abort);
// exit codes are documented ones (README "Exit codes"); every non-zero exit names a flag or a file.
// KV_FUZZ_CASES overrides the number of cases (default 250), KV_FUZZ_SEED the seed.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <random>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "run_process.hpp"

using kvtest::bin;
using kvtest::run;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> engine_flags() {
  const auto r = run({bin("kv-cache"), "--help"});
  std::set<std::string> names;
  const std::regex re("(^|\\s)(--[a-z][a-z0-9-]+)");
  const std::string& text = r.out + r.err;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), re); it != std::sregex_iterator();
       ++it)
    names.insert((*it)[2].str());
  // Not fuzzed: help/version print and exit 0; the base run sets these itself.
  for (const char* skip : {"--help", "--version", "--cache-dir", "--output", "--quiet"})
    names.erase(skip);
  return {names.begin(), names.end()};
}

unsigned env_or(const char* name, unsigned dflt) {
  const char* v = std::getenv(name);
  return v ? static_cast<unsigned>(std::strtoul(v, nullptr, 10)) : dflt;
}

}  // namespace

TEST(FuzzE2E, HostileFlagValuesNeverCrashAndAlwaysNameTheProblem) {
  const std::vector<std::string> flags = engine_flags();
  ASSERT_GT(flags.size(), 20u) << "could not read the flags from kv-cache --help";
  const fs::path dir = fs::temp_directory_path() / ("kv_fuzz_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::vector<std::string> values = {"",
                                           "-1",
                                           "0",
                                           "1",
                                           "2",
                                           "1e999",
                                           "-1e999",
                                           "nan",
                                           "inf",
                                           "2147483647",
                                           "2147483648",
                                           "-2147483649",
                                           "9223372036854775807",
                                           "18446744073709551616",
                                           "1e18",
                                           "0.0000001",
                                           "1.5",
                                           "0x10",
                                           "abc",
                                           "\xff\xfe",
                                           "caf\xc3",
                                           "/dev/zero",
                                           "/",
                                           "/proc/self/status",
                                           dir.string(),
                                           "/nonexistent/kv-fuzz",
                                           std::string(5000, 'a'),
                                           "../../../../etc/passwd",
                                           "%s%n%x",
                                           "auto",
                                           "none",
                                           "true",
                                           "-",
                                           "--",
                                           "llama3.1-8b"};
  const unsigned cases = env_or("KV_FUZZ_CASES", 250);
  std::mt19937_64 rng(env_or("KV_FUZZ_SEED", 15));
  const std::set<int> documented = {0, 1, 2, 3, 4, 5, 6, 7, 8};
  for (unsigned i = 0; i < cases; ++i) {
    std::vector<std::string> argv = {bin("kv-cache"),
                                     "--model",
                                     "tiny-1b",
                                     "--duration",
                                     "1",
                                     "--num-users",
                                     "1",
                                     "--gpu-mem-gb",
                                     "0",
                                     "--cpu-mem-gb",
                                     "0",
                                     "--max-requests",
                                     "2",
                                     "--cache-dir",
                                     (dir / "cache").string(),
                                     "--output",
                                     (dir / "out.json").string(),
                                     "--quiet"};
    std::string what;
    const unsigned n = 1 + static_cast<unsigned>(rng() % 3);
    for (unsigned k = 0; k < n; ++k) {
      const std::string& f = flags[rng() % flags.size()];
      const std::string& v = values[rng() % values.size()];
      argv.push_back(f);
      argv.push_back(v);
      what += " " + f + " '" + v.substr(0, 40) + "'";
    }
    const auto r = run(argv, {}, dir);  // relative output names land in the temp dir
    ASSERT_GE(r.exit_code, 0) << "case " << i << " died by signal " << -r.exit_code << ":" << what
                              << "\n"
                              << r.err;
    EXPECT_TRUE(documented.count(r.exit_code))
        << "case " << i << " exit " << r.exit_code << ":" << what << "\n"
        << r.err;
    EXPECT_EQ(r.err.find("AddressSanitizer"), std::string::npos) << what << "\n" << r.err;
    EXPECT_EQ(r.err.find("runtime error:"), std::string::npos) << what << "\n" << r.err;
    if (r.exit_code != 0 && r.exit_code != 8) {
      EXPECT_TRUE(r.err.find("--") != std::string::npos || r.err.find('/') != std::string::npos)
          << "case " << i << " exit " << r.exit_code << " names no flag or file:" << what << "\n"
          << r.err;
    }
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
}
