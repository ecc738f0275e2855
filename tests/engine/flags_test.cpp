// The flag table: reference defaults, every limit accepted at its bounds and rejected outside
// (naming the flag), cross-flag rules, errors collected, argparse-like parsing, refusals, --help.
#include "engine/config/flags.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <filesystem>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "core/error.hpp"

using namespace kv;
using namespace kv::engine;

namespace {

ParseResult parse(std::vector<std::string> args) {
  std::vector<const char*> argv{"kv-cache"};
  for (const auto& a : args) argv.push_back(a.c_str());
  return parse_flags(static_cast<int>(argv.size()), argv.data());
}

std::string lower_case(std::string_view s) {
  std::string r(s);
  for (auto& ch : r) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return r;
}

// The error message of a failing parse ("" when it parsed).
std::string error_of(std::vector<std::string> args) {
  try {
    parse(std::move(args));
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kInvalidArguments);
    return e.what();
  }
  return {};
}

}  // namespace

TEST(Flags, ReferenceDefaults) {
  const EngineConfig c = parse({}).config;
  EXPECT_EQ(to_text(c.log_level), "INFO");
  EXPECT_EQ(c.model, "llama3.1-8b");
  EXPECT_EQ(c.num_users, 100);
  EXPECT_EQ(c.duration, 60);
  EXPECT_DOUBLE_EQ(c.gpu_mem_gb, 16);
  EXPECT_EQ(c.num_gpus, 1);
  EXPECT_EQ(c.tensor_parallel, 1);
  EXPECT_DOUBLE_EQ(c.cpu_mem_gb, 32);
  EXPECT_TRUE(c.cache_dir.empty());
  EXPECT_EQ(to_text(c.generation_mode), "realistic");
  EXPECT_EQ(to_text(c.performance_profile), "latency");
  EXPECT_FALSE(c.disable_multi_turn);
  EXPECT_FALSE(c.disable_prefix_caching);
  EXPECT_EQ(c.rag_num_docs, 10);
  EXPECT_EQ(to_text(c.autoscaler_mode), "qos");
  EXPECT_DOUBLE_EQ(c.target_saturation, 0.8);
  EXPECT_EQ(c.burst_trace_path, "BurstGPT/data/BurstGPT_1.csv");
  EXPECT_EQ(c.max_conversations, 500);
  EXPECT_FALSE(c.seed.has_value());
  EXPECT_EQ(c.max_concurrent_allocs, 0);
  EXPECT_DOUBLE_EQ(c.request_rate, 0);
  EXPECT_EQ(c.max_requests, 0);
  EXPECT_DOUBLE_EQ(c.storage_capacity_gb, 0);
  EXPECT_DOUBLE_EQ(c.trace_speedup, 1.0);
  EXPECT_EQ(c.replay_cycles, 0);
  // ours
  EXPECT_EQ(to_text(c.gpu_backend), "auto");
  EXPECT_DOUBLE_EQ(c.gpu_bandwidth_gbps, 64);
  EXPECT_EQ(to_text(c.io_engine), "posix");
  EXPECT_EQ(c.io_depth, 16);
  EXPECT_EQ(c.io_chunk_mib, 8);
  EXPECT_EQ(to_text(c.sync_mode), "fsync");
  EXPECT_EQ(c.max_inflight_mib, 512);
  EXPECT_TRUE(c.given.empty());
}

struct LimitCase {
  const char* flag;
  const char* ok_low;
  const char* ok_high;  // "" = no upper limit
  const char* bad_low;
  const char* bad_high;  // "" = none
};

TEST(Flags, EveryLimitAcceptedAtBoundsRejectedOutside) {
  const LimitCase cases[] = {
      {"--num-users", "1", "100000", "0", "100001"},
      {"--duration", "1", "86400", "0", "86401"},
      {"--gpu-mem-gb", "0", "65536", "-0.5", "65536.5"},
      {"--cpu-mem-gb", "0", "131072", "-1", "131073"},
      {"--rag-num-docs", "0", "100000", "-1", "100001"},
      {"--max-concurrent-allocs", "0", "", "-1", ""},
      {"--request-rate", "0", "", "-0.1", ""},
      {"--max-requests", "0", "", "-1", ""},
      {"--storage-capacity-gb", "0", "16777216", "-1", "16777217"},
      {"--precondition-size-gb", "0", "16777216", "-1", "16777217"},
      {"--precondition-threads", "0", "1024", "-1", "1025"},
      {"--trace-speedup", "0", "", "-1", ""},
      {"--replay-cycles", "0", "", "-1", ""},
      {"--max-conversations", "1", "", "0", ""},
      {"--target-saturation", "0", "1", "-0.01", "1.01"},
      {"--num-gpus", "1", "65536", "0", "65537"},
      {"--io-depth", "1", "4096", "0", "4097"},
      {"--io-chunk-mib", "1", "512", "0", "1025"},
      {"--gpu-bandwidth-gbps", "0.001", "1e9", "0.0009", "1.1e9"},
  };
  for (const auto& c : cases) {
    // Workload-mode flags are refused when non-default, so check the limits through validate() for
    // those, and through the parser for the rest.
    const FlagSpec* spec = find_flag(c.flag);
    ASSERT_NE(spec, nullptr) << c.flag;
    const bool refused_when_set = spec->group == FlagGroup::kWorkloadMode;
    auto check_ok = [&](const char* v) {
      std::string err = error_of({c.flag, v});
      if (refused_when_set) {
        EXPECT_TRUE(err.empty() || err.find("not implemented yet") != std::string::npos)
            << c.flag << " " << v << ": " << err;
        EXPECT_EQ(err.find("must be"), std::string::npos) << c.flag << " " << v << ": " << err;
      } else {
        EXPECT_EQ(err, "") << c.flag << " " << v;
      }
    };
    auto check_bad = [&](const char* v) {
      std::string err = error_of({c.flag, v});
      EXPECT_NE(err.find(std::string(c.flag) + ": must be"), std::string::npos)
          << c.flag << " " << v << ": " << err;
    };
    check_ok(c.ok_low);
    if (*c.ok_high) check_ok(c.ok_high);
    check_bad(c.bad_low);
    if (*c.bad_high) check_bad(c.bad_high);
  }
}

TEST(Flags, TensorParallelWithinNumGpusAndPowerOfTwoWarning) {
  EXPECT_NE(error_of({"--tensor-parallel", "2"})
                .find("--tensor-parallel: must be between 1 and --num-gpus (1)"),
            std::string::npos);
  EXPECT_NE(error_of({"--tensor-parallel", "0", "--num-gpus", "4"}).find("--tensor-parallel"),
            std::string::npos);
  auto r = parse({"--num-gpus", "4", "--tensor-parallel", "3"});
  EXPECT_EQ(r.config.tensor_parallel, 3);
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_NE(r.warnings[0].find("power of 2"), std::string::npos);
  EXPECT_TRUE(parse({"--num-gpus", "8", "--tensor-parallel", "8"}).warnings.empty());
}

// Issue 15 item 7: values whose product (or whose use as a thread count / allocation) would
// overflow or exhaust the process are usage errors at parse time, naming the flag.
TEST(Flags, ThreadCountsAllocationsAndProductsAreBounded) {
  EXPECT_NE(error_of({"--precondition-threads", "2147483647"})
                .find("--precondition-threads: must be between 0 and 1024"),
            std::string::npos);
  EXPECT_NE(error_of({"--rag-num-docs", "2147483647"}).find("--rag-num-docs: must be between"),
            std::string::npos);
  EXPECT_NE(error_of({"--gpu-bandwidth-gbps", "1e-300"}).find("--gpu-bandwidth-gbps: must be"),
            std::string::npos);
  EXPECT_NE(
      error_of({"--trace-speedup", "1e-300"}).find("--trace-speedup: must be 0 or >= 0.000001"),
      std::string::npos);
  EXPECT_NE(error_of({"--request-rate", "1e-7"}).find("--request-rate: must be 0 or >="),
            std::string::npos);
  EXPECT_EQ(error_of({"--trace-speedup", "0.000001", "--request-rate", "0.000001"}), "");
  EXPECT_NE(error_of({"--storage-capacity-gb", "1e300"}).find("--storage-capacity-gb: must be"),
            std::string::npos);
  // Each factor inside its own limit, the GPU tier (--num-gpus x --gpu-mem-gb) over the tier bound.
  const std::string product = error_of({"--num-gpus", "65536", "--gpu-mem-gb", "65536"});
  EXPECT_NE(product.find("--gpu-mem-gb: --num-gpus x --gpu-mem-gb must be <= 16777216 GiB"),
            std::string::npos)
      << product;
  EXPECT_EQ(error_of({"--num-gpus", "256", "--gpu-mem-gb", "65536"}), "");  // exactly the bound
  EXPECT_NE(error_of({"--num-gpus", "257", "--gpu-mem-gb", "65536"}).find("--gpu-mem-gb: "),
            std::string::npos);
}

// Issue 14 item 2: the workload-mode combinations engine/config/mode_rules refuses are usage errors
// of the parser (collected with the others), not run-time errors.
TEST(FlagsModeRules, RefusedModeCombinationsAreUsageErrors) {
  EXPECT_NE(error_of({"--mooncake-trace", "m.jsonl", "--use-burst-trace"})
                .find("--mooncake-trace: cannot be combined"),
            std::string::npos);
  EXPECT_NE(error_of({"--use-burst-trace", "--enable-autoscaling"})
                .find("--enable-autoscaling: needs user producers"),
            std::string::npos);
  EXPECT_NE(error_of({"--mooncake-trace", "m.jsonl", "--enable-rag"})
                .find("--enable-rag: cannot be combined with --mooncake-trace"),
            std::string::npos);
  EXPECT_EQ(error_of({"--io-trace-real"}), "--io-trace-real: needs --io-trace-log PATH");
  // Collected with the other errors of the same command line.
  const std::string both = error_of({"--io-trace-real", "--num-users", "0"});
  EXPECT_NE(both.find("--num-users: must be"), std::string::npos) << both;
  EXPECT_NE(both.find("--io-trace-real: needs --io-trace-log"), std::string::npos) << both;
  // Warnings (ignored flags) stay warnings: the parse succeeds.
  EXPECT_EQ(error_of({"--dataset-path", "x.json", "--use-burst-trace"}), "");
}

TEST(Flags, PrefillOnlyAndDecodeOnlyAreExclusive) {
  EXPECT_NE(error_of({"--prefill-only", "--decode-only"}).find("mutually exclusive"),
            std::string::npos);
  EXPECT_TRUE(parse({"--prefill-only"}).config.prefill_only);
  EXPECT_TRUE(parse({"--decode-only"}).config.decode_only);
}

TEST(Flags, TypeAndChoiceErrorsNameTheFlag) {
  EXPECT_NE(error_of({"--num-users", "abc"}).find("--num-users: expected an integer (got 'abc')"),
            std::string::npos);
  EXPECT_NE(error_of({"--num-users", "1.5"}).find("--num-users: expected an integer"),
            std::string::npos);
  EXPECT_NE(error_of({"--cpu-mem-gb", "x"}).find("--cpu-mem-gb: expected a finite number"),
            std::string::npos);
  EXPECT_NE(error_of({"--cpu-mem-gb", "nan"}).find("--cpu-mem-gb"), std::string::npos);
  EXPECT_NE(error_of({"--generation-mode", "slow"})
                .find("--generation-mode: must be one of none, fast, realistic"),
            std::string::npos);
  EXPECT_NE(error_of({"--seed", "x"}).find("--seed: expected an integer"), std::string::npos);
  EXPECT_NE(error_of({"--duration"}).find("--duration: expected a value"), std::string::npos);
  EXPECT_EQ(parse({"--log-level", "debug"}).config.log_level, log::Level::kDebug);
}

// Every choice flag: each choice text parses to the value whose text it is (any case), and an
// unknown text is a usage error naming the flag (no silent fallback to a default, e.g.
// --sync-mode).
TEST(Flags, ChoiceFlagsMapEveryTextToItsEnumAndRefuseOthers) {
  int choice_flags = 0;
  for (const auto& s : flag_table()) {
    if (s.flag.kind != engine_cli::Kind::kChoice) continue;
    ++choice_flags;
    const std::string name(s.flag.name);
    ASSERT_FALSE(s.flag.choices.empty()) << name;
    for (auto text : s.flag.choices) {
      for (const std::string& given : {std::string(text), lower_case(text)}) {
        const EngineConfig c = parse({name.c_str(), given.c_str()}).config;
        const std::string_view back = std::visit(
            [&](auto m) -> std::string_view {
              if constexpr (std::is_enum_v<std::remove_cvref_t<decltype(c.*m)>>)
                return to_text(c.*m);
              else
                return "(not an enum field)";
            },
            s.field);
        EXPECT_EQ(back, text) << name << " " << given;
      }
    }
    const std::string err = error_of({name.c_str(), "bogus"});
    EXPECT_EQ(err.rfind(name + ": must be one of ", 0), 0u) << err;
  }
  EXPECT_EQ(choice_flags, 8);
  EXPECT_EQ(error_of({"--sync-mode", "fsync2"}),
            "--sync-mode: must be one of fsync, fdatasync, none (got 'fsync2')");
  EXPECT_EQ(parse({"--sync-mode", "fdatasync"}).config.sync_mode, SyncMode::kFdatasync);
  EXPECT_EQ(parse({"--sync-mode", "none"}).config.sync_mode, SyncMode::kNone);
}

TEST(Flags, AllErrorsAreCollected) {
  const std::string err =
      error_of({"--num-users", "0", "--duration", "0", "--cpu-mem-gb", "-1", "--bogus"});
  for (const char* f : {"--num-users", "--duration", "--cpu-mem-gb", "--bogus"})
    EXPECT_NE(err.find(f), std::string::npos) << f << " in " << err;
}

TEST(Flags, ArgparseStyleParsing) {
  auto c =
      parse({"--num-users=7", "--seed", "-3", "--duration", "5", "--duration", "9", "--num-g", "2"})
          .config;
  EXPECT_EQ(c.num_users, 7);
  EXPECT_EQ(c.seed, -3);
  EXPECT_EQ(c.duration, 9);  // last one wins (the MLPerf wrapper appends its values)
  EXPECT_EQ(c.num_gpus, 2);  // unambiguous prefix
  EXPECT_TRUE(c.was_given("--num-gpus"));
  EXPECT_NE(error_of({"--c", "1"}).find("ambiguous"), std::string::npos);
  EXPECT_NE(error_of({"--no-such-flag"}).find("--no-such-flag: unrecognized"), std::string::npos);
  EXPECT_NE(error_of({"positional"}).find("positional"), std::string::npos);
  EXPECT_NE(error_of({"--quiet=maybe"}).find("--quiet"), std::string::npos);
}

TEST(Flags, WorkloadModeFlagsAreAcceptedWhenUsed) {
  // Implemented by engine/modes (issue #5); their inputs are checked at run start (before any I/O),
  // their cross-flag rules here (FlagsModeRules below).
  const std::vector<std::vector<std::string>> used = {
      {"--enable-rag"},
      {"--rag-num-docs", "3"},
      {"--dataset-path", "x.json"},
      {"--max-conversations", "10"},
      {"--request-rate", "5"},
      {"--replay-cycles", "2"},
      {"--use-burst-trace"},
      {"--burst-trace-path", "a.csv"},
      {"--trace-speedup", "2"},
      {"--validation-trace", "t.json"},
      {"--precondition"},
      {"--precondition-size-gb", "1"},
      {"--precondition-threads", "2"},
      {"--enable-autoscaling"},
      {"--autoscaler-mode", "capacity"},
      {"--target-saturation", "0.5"},
      {"--io-trace-log", "t.csv"},
      {"--xlsx-output", "x.xlsx"},
      {"--mooncake-trace", "m.jsonl"},
      {"--io-trace-real", "--io-trace-log", "t.csv"}};
  for (const auto& args : used) EXPECT_EQ(error_of(args), "") << args[0];
  EXPECT_NE(error_of({"--enable-latency-tracing"}).find("--enable-latency-tracing: out of scope"),
            std::string::npos);
}

TEST(Flags, CacheDirRefusesSystemDirectoriesByComponent) {
  for (const char* d : {"/etc", "/etc/kv", "/usr/bin/x", "/proc", "/dev/shm/kv", "/root/kv",
                        "/boot", "/sys/x", "/", "/sbin", "/usr/sbin/y"})
    EXPECT_NE(error_of({"--cache-dir", d}).find("--cache-dir: refusing"), std::string::npos) << d;
  // A directory merely named like a system one elsewhere is fine.
  const auto tmp =
      std::filesystem::temp_directory_path() / ("kvflags_" + std::to_string(::getpid()));
  std::filesystem::create_directories(tmp / "etc");
  EXPECT_EQ(error_of({"--cache-dir", (tmp / "etc" / "cache").string()}), "");
  // A symlink into /etc is judged by where it resolves.
  std::filesystem::create_directory_symlink("/etc", tmp / "link");
  EXPECT_NE(error_of({"--cache-dir", (tmp / "link" / "kv").string()}).find("refusing"),
            std::string::npos);
  // A file is not a directory.
  {
    std::FILE* f = std::fopen((tmp / "file").c_str(), "w");
    std::fclose(f);
  }
  EXPECT_NE(error_of({"--cache-dir", (tmp / "file").string()}).find("not a directory"),
            std::string::npos);
  std::filesystem::remove_all(tmp);
}

TEST(Flags, HelpListsEveryFlagWithDefaultsAndLimits) {
  const std::string h = help_text();
  for (const auto& s : flag_table())
    EXPECT_NE(h.find(std::string(s.flag.name)), std::string::npos) << s.flag.name;
  EXPECT_NE(h.find("default: 100; between 1 and 100000"), std::string::npos);
  EXPECT_NE(h.find("reference-comparable"), std::string::npos);
  EXPECT_NE(h.find("Workload modes (docs/workload-modes.md)"), std::string::npos);
}
