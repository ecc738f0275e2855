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
#include <fstream>
#include <random>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "support/argv.hpp"
#include "support/files.hpp"
#include "support/process.hpp"

using namespace kv::testsupport;

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

// The small valid run every case extends.
std::vector<std::string> base_run(const fs::path& dir) {
  return engine_argv({.cache = dir / "cache",
                      .output = dir / "out.json",
                      .users = 1,
                      .duration = 1,
                      .seed = "",
                      .generation_mode = "",
                      .extra = {"--max-requests", "2"}});
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
    std::vector<std::string> argv = base_run(dir);
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

// Issue 15 item 7: the inputs that once crashed or overflowed (thread counts, allocation sizes,
// products of flags, extreme rates, bandwidths, think times, model sizes, a chunk plan too large to
// hold). Each is a usage error (exit 2) naming its flag or --config key before the run starts: no
// results file is written. A cross-flag mode error (issue 14 item 2) is one too.
TEST(FuzzE2E, OverflowingValuesAreUsageErrorsBeforeTheRun) {
  const fs::path dir = fs::temp_directory_path() / ("kv_bounds_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const auto yaml = [&](const std::string& name, const std::string& text) {
    write_file(dir / name, text);
    return (dir / name).string();
  };
  struct Case {
    std::vector<std::string> args;
    std::string names;  // what the error must name
  };
  const std::vector<Case> cases = {
      {{"--precondition", "--precondition-threads", "2147483647"}, "--precondition-threads:"},
      {{"--enable-rag", "--rag-num-docs", "2147483647"}, "--rag-num-docs:"},
      {{"--use-burst-trace", "--trace-speedup", "1e-300"}, "--trace-speedup:"},
      {{"--dataset-path", "x.json", "--request-rate", "1e-300"}, "--request-rate:"},
      {{"--gpu-backend", "simulated", "--gpu-bandwidth-gbps", "1e-300"}, "--gpu-bandwidth-gbps:"},
      {{"--num-gpus", "65536", "--gpu-mem-gb", "65536"}, "--gpu-mem-gb:"},
      {{"--storage-capacity-gb", "1e300"}, "--storage-capacity-gb:"},
      {{"--precondition", "--precondition-size-gb", "1e300"}, "--precondition-size-gb:"},
      {{"--mooncake-trace", "m.jsonl", "--use-burst-trace"}, "--mooncake-trace:"},
      {{"--config",
        yaml("think.yaml", "user_templates:\n  chatbot: {think_time_range: [0, 1e300]}\n")},
       "user_templates.chatbot.think_time_range"},
      {{"--config", yaml("ctx.yaml", "user_templates:\n  coding: {context_range: [1, 1e300]}\n")},
       "user_templates.coding.context_range"},
      {{"--model", "huge", "--config",
        yaml("model.yaml",
             "model_configs:\n  huge: {num_layers: 100000, hidden_dim: "
             "10000000, num_heads: 1, kv_heads: 100000}\n")},
       "model_configs.huge: gives"},
      {{"--enable-rag", "--rag-num-docs", "100000", "--config",
        yaml("rag.yaml",
             "rag: {max_chunk_bytes: 1, small_model_doc_tokens_max: 1048576, "
             "large_model_doc_tokens_max: 1048576}\n")},
       "--rag-num-docs: 100000 documents"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> argv = base_run(dir);
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    const auto r = run(argv, {}, dir);
    EXPECT_EQ(r.exit_code, 2) << c.names << "\n" << r.err;
    EXPECT_NE(r.err.find(c.names), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("runtime error:"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(dir / "out.json")) << c.names;
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
}

// Extreme timestamps in a trace are data, not flags: the gaps are clamped (one day at most) and the
// run ends at --duration as usual, without overflow (the sanitizer build reports any).
TEST(FuzzE2E, ExtremeTraceTimestampsRunBounded) {
  const fs::path dir = fs::temp_directory_path() / ("kv_ts_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  write_file(dir / "burst.csv",
             "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n"
             "-1e308,ChatGPT,100,10,110,Conversation log\n"
             "1e308,ChatGPT,100,10,110,Conversation log\n"
             "0,ChatGPT,100,10,110,Conversation log\n");
  std::vector<std::string> argv = base_run(dir);
  for (const char* a : {"--use-burst-trace", "--burst-trace-path"}) argv.emplace_back(a);
  argv.push_back((dir / "burst.csv").string());
  for (const char* a : {"--trace-speedup", "0.000001"}) argv.emplace_back(a);
  const auto r = run(argv, {}, dir);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find("runtime error:"), std::string::npos) << r.err;
  EXPECT_TRUE(fs::exists(dir / "out.json"));
  std::error_code ec;
  fs::remove_all(dir, ec);
}
