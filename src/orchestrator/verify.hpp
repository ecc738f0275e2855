// Run verification (docs/mlpstorage.md#verification), resolved in favour of the MLPerf v3.0 rules:
//   * CLOSED only when the workload matches one of the three official options exactly:
//       Option 1 "Max Storage Stress"  llama3.1-8b            200 users  cpu 0 GiB
//       max-concurrent-allocs 16 Option 2 "Storage Throughput"  llama3.1-8b            100 users
//       cpu 4 GiB  max-concurrent-allocs 16 Option 3 "Large Model (70B)"   llama3.1-70b-instruct 70
//       users  cpu 0 GiB  max-concurrent-allocs 4
//     all with duration 300 s, gpu 0 GiB, generation none, seed 42, multi-turn and prefix caching
//     on, RAG and autoscaling off, the reference I/O path (no --io-engine other than posix, no
//     --direct-io) and no extra engine parameters. The performance profile only selects the
//     engine's pass/fail report and does not affect the match.
//   * GPU 0 / CPU 0 / generation none are valid (the reference checker's "< 1 GiB is INVALID" and
//     "none is OPEN" rules contradict the official options and are not reproduced).
//   * INVALID: unknown model, users < 1, duration < 30 s, negative tier sizes, unknown generation
//     mode or profile. OPEN: 30 ≤ duration < 60, users < 10, or no official option matched.
// Category = INVALID if any INVALID issue, else OPEN if any OPEN issue, else CLOSED.
//
// Gate (what --open/--closed/--allow-invalid-params do with the category):
//   INVALID            → abort (exit 1) unless -aip (then continue with a warning);
//                        without --open/--closed it only warns (verification is informational).
//   OPEN with --closed → abort (exit 1): "Parameters allowed for open but not closed".
//   otherwise          → continue.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "orchestrator/options.hpp"

namespace kv::orchestrator {

enum class Category { kClosed, kOpen, kInvalid };
const char* category_name(Category c);  // "CLOSED" | "OPEN" | "INVALID"

struct Issue {
  Category validation = Category::kOpen;
  std::string message;
  std::string parameter;
  Json expected;
  Json actual;
  Json to_json() const;
};

struct OfficialOption {
  int number;
  const char* name;
  const char* model;
  int num_users;
  double cpu_mem_gb;
  int max_concurrent_allocs;
};
const std::array<OfficialOption, 3>& official_options();
inline constexpr int kClosedDuration = 300;
inline constexpr double kClosedGpuMemGb = 0.0;
inline constexpr const char* kClosedGenerationMode = "none";
inline constexpr std::int64_t kClosedSeed = 42;

// The workload parameters verification looks at; also the metadata `parameters` object.
struct Workload {
  std::string benchmark_type = "kv_cache";
  std::string model;
  int num_users = 0;
  int duration = 0;
  double gpu_mem_gb = 0;
  double cpu_mem_gb = 0;
  std::string cache_dir;  // effective storage-tier directory
  std::string generation_mode;
  std::string performance_profile;
  std::optional<std::int64_t> seed;
  int max_concurrent_allocs = 0;  // engine default 0 = unlimited
  bool disable_multi_turn = false;
  bool disable_prefix_caching = false;
  bool enable_rag = false;
  int rag_num_docs = 10;
  bool enable_autoscaling = false;
  std::string autoscaler_mode = "qos";
  std::string io_engine;  // empty = engine default (posix)
  bool direct_io = false;
  std::vector<std::string> kvcache_params;

  static Workload from_options(const KvcacheOptions& kv, const std::string& effective_cache_dir);
  static Workload from_parameters(const Json& parameters);  // missing keys keep defaults above
  Json to_parameters() const;
};

struct Verification {
  Category category = Category::kClosed;
  std::vector<Issue> issues;
  std::optional<int> matched_option;  // 1..3 when CLOSED
  Json issues_json() const;
};

Verification verify(const Workload& w);

struct GateDecision {
  bool proceed = true;
  bool warn = false;  // log `message` as a warning
  std::string message;
};
GateDecision gate(const Verification& v, bool open, bool closed, bool allow_invalid_params);

}  // namespace kv::orchestrator
