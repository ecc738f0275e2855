// The kv-cache engine's command-line contract: every flag's name, kind, default (as text), limits,
// unit and choices, declared once. The engine's flag table (engine/config/flags.cpp) adds help,
// grouping and the config field to each of these; the orchestrator (src/orchestrator/cli.cpp,
// plan.cpp) takes its range checks, choice lists and the flag names of the argv it builds from
// here, so the two cannot drift apart silently. tests/orchestrator/engine_argv_contract_test.cpp
// parses the argv `mlpstorage kvcache run` builds with the engine's own parser.
//
// Header-only; depends only on core/ (through choices.hpp).
#pragma once

#include <fmt/format.h>

#include <array>
#include <cmath>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "engine_cli/choices.hpp"

namespace kv::engine_cli {

enum class Kind { kInt, kFloat, kString, kChoice, kBool, kOptionalInt };

struct Flag {
  // (every member has a default, so a designated initializer names only what a flag has)
  std::string_view name{};  // "--num-users"
  Kind kind = Kind::kString;
  std::string_view default_text{};  // "" = None (strings, --seed); "false" for switches
  std::optional<double> min{};      // inclusive unless min_exclusive
  std::optional<double> max{};      // inclusive
  bool min_exclusive = false;
  std::string_view unit{};                      // "GiB", "s", ...
  std::span<const std::string_view> choices{};  // the texts of a kChoice flag, in table order
};

// The largest tier (or precondition volume) a flag may ask for, in GiB: 16 PiB, so byte counts
// (GiB x 2^30, and sums of them) stay far inside 64 bits. A product of flags (--gpu-mem-gb x
// --num-gpus) is held to the same bound by the engine's validate() (engine/config/flags.cpp).
inline constexpr double kMaxTierGib = 16777216;

// ---- reference flags (docs/engine.md "Flags") ----
inline constexpr Flag kLogLevel{.name = "--log-level",
                                .kind = Kind::kChoice,
                                .default_text = "INFO",
                                .choices = kTextsOf<kLogLevels>};
inline constexpr Flag kModel{
    .name = "--model", .kind = Kind::kString, .default_text = "llama3.1-8b"};
inline constexpr Flag kNumUsers{
    .name = "--num-users", .kind = Kind::kInt, .default_text = "100", .min = 1, .max = 100000};
inline constexpr Flag kDuration{.name = "--duration",
                                .kind = Kind::kInt,
                                .default_text = "60",
                                .min = 1,
                                .max = 86400,
                                .unit = "s"};
inline constexpr Flag kGpuMemGb{.name = "--gpu-mem-gb",
                                .kind = Kind::kFloat,
                                .default_text = "16",
                                .min = 0,
                                .max = 65536,
                                .unit = "GiB"};
inline constexpr Flag kNumGpus{
    .name = "--num-gpus", .kind = Kind::kInt, .default_text = "1", .min = 1, .max = 65536};
inline constexpr Flag kTensorParallel{
    .name = "--tensor-parallel", .kind = Kind::kInt, .default_text = "1", .min = 1};
inline constexpr Flag kCpuMemGb{.name = "--cpu-mem-gb",
                                .kind = Kind::kFloat,
                                .default_text = "32",
                                .min = 0,
                                .max = 131072,
                                .unit = "GiB"};
inline constexpr Flag kCacheDir{.name = "--cache-dir", .kind = Kind::kString};
inline constexpr Flag kGenerationMode{.name = "--generation-mode",
                                      .kind = Kind::kChoice,
                                      .default_text = "realistic",
                                      .choices = kTextsOf<kGenerationModes>};
inline constexpr Flag kPerformanceProfile{.name = "--performance-profile",
                                          .kind = Kind::kChoice,
                                          .default_text = "latency",
                                          .choices = kTextsOf<kPerformanceProfiles>};
inline constexpr Flag kDisableMultiTurn{
    .name = "--disable-multi-turn", .kind = Kind::kBool, .default_text = "false"};
inline constexpr Flag kDisablePrefixCaching{
    .name = "--disable-prefix-caching", .kind = Kind::kBool, .default_text = "false"};
inline constexpr Flag kOutput{.name = "--output", .kind = Kind::kString};
inline constexpr Flag kSeed{.name = "--seed", .kind = Kind::kOptionalInt};
inline constexpr Flag kMaxConcurrentAllocs{
    .name = "--max-concurrent-allocs", .kind = Kind::kInt, .default_text = "0", .min = 0};
inline constexpr Flag kMaxRequests{
    .name = "--max-requests", .kind = Kind::kInt, .default_text = "0", .min = 0};
inline constexpr Flag kConfig{.name = "--config", .kind = Kind::kString};
inline constexpr Flag kStorageCapacityGb{.name = "--storage-capacity-gb",
                                         .kind = Kind::kFloat,
                                         .default_text = "0",
                                         .min = 0,
                                         .max = kMaxTierGib,
                                         .unit = "GiB"};
inline constexpr Flag kPrefillOnly{
    .name = "--prefill-only", .kind = Kind::kBool, .default_text = "false"};
inline constexpr Flag kDecodeOnly{
    .name = "--decode-only", .kind = Kind::kBool, .default_text = "false"};

// ---- workload modes (docs/workload-modes.md) ----
inline constexpr Flag kEnableRag{
    .name = "--enable-rag", .kind = Kind::kBool, .default_text = "false"};
inline constexpr Flag kRagNumDocs{
    .name = "--rag-num-docs", .kind = Kind::kInt, .default_text = "10", .min = 0, .max = 100000};
inline constexpr Flag kEnableAutoscaling{
    .name = "--enable-autoscaling", .kind = Kind::kBool, .default_text = "false"};
inline constexpr Flag kAutoscalerMode{.name = "--autoscaler-mode",
                                      .kind = Kind::kChoice,
                                      .default_text = "qos",
                                      .choices = kTextsOf<kAutoscalerModes>};
inline constexpr Flag kTargetSaturation{
    .name = "--target-saturation", .kind = Kind::kFloat, .default_text = "0.8", .min = 0, .max = 1};
inline constexpr Flag kUseBurstTrace{
    .name = "--use-burst-trace", .kind = Kind::kBool, .default_text = "false"};
inline constexpr Flag kBurstTracePath{.name = "--burst-trace-path",
                                      .kind = Kind::kString,
                                      .default_text = "BurstGPT/data/BurstGPT_1.csv"};
inline constexpr Flag kValidationTrace{.name = "--validation-trace", .kind = Kind::kString};
inline constexpr Flag kDatasetPath{.name = "--dataset-path", .kind = Kind::kString};
inline constexpr Flag kMaxConversations{.name = "--max-conversations",
                                        .kind = Kind::kInt,
                                        .default_text = "500",
                                        .min = 0,
                                        .min_exclusive = true};
inline constexpr Flag kRequestRate{
    .name = "--request-rate", .kind = Kind::kFloat, .default_text = "0", .min = 0};
inline constexpr Flag kReplayCycles{
    .name = "--replay-cycles", .kind = Kind::kInt, .default_text = "0", .min = 0};
inline constexpr Flag kTraceSpeedup{
    .name = "--trace-speedup", .kind = Kind::kFloat, .default_text = "1.0", .min = 0};
inline constexpr Flag kPrecondition{
    .name = "--precondition", .kind = Kind::kBool, .default_text = "false"};
inline constexpr Flag kPreconditionSizeGb{.name = "--precondition-size-gb",
                                          .kind = Kind::kFloat,
                                          .default_text = "0",
                                          .min = 0,
                                          .max = kMaxTierGib,
                                          .unit = "GiB"};
inline constexpr Flag kPreconditionThreads{.name = "--precondition-threads",
                                           .kind = Kind::kInt,
                                           .default_text = "0",
                                           .min = 0,
                                           .max = 1024};
inline constexpr Flag kIoTraceLog{.name = "--io-trace-log", .kind = Kind::kString};
inline constexpr Flag kXlsxOutput{.name = "--xlsx-output", .kind = Kind::kString};
inline constexpr Flag kMooncakeTrace{.name = "--mooncake-trace", .kind = Kind::kString};
inline constexpr Flag kEnableLatencyTracing{
    .name = "--enable-latency-tracing", .kind = Kind::kBool, .default_text = "false"};

// ---- engine extensions (ours) ----
inline constexpr Flag kGpuBackend{.name = "--gpu-backend",
                                  .kind = Kind::kChoice,
                                  .default_text = "auto",
                                  .choices = kTextsOf<kGpuBackends>};
// At least 1 MB/s, so one byte's modelled transfer time (1 / bandwidth ns) stays finite and small.
inline constexpr Flag kGpuBandwidthGbps{.name = "--gpu-bandwidth-gbps",
                                        .kind = Kind::kFloat,
                                        .default_text = "64",
                                        .min = 0.001,
                                        .max = 1e9,
                                        .unit = "GB/s"};
inline constexpr Flag kKeepCache{
    .name = "--keep-cache", .kind = Kind::kBool, .default_text = "false"};
inline constexpr Flag kHtmlReport{.name = "--html-report", .kind = Kind::kString};
inline constexpr Flag kProgressInterval{.name = "--progress-interval",
                                        .kind = Kind::kFloat,
                                        .default_text = "10",
                                        .min = 0,
                                        .max = 86400,
                                        .unit = "s"};
inline constexpr Flag kQuiet{.name = "--quiet", .kind = Kind::kBool, .default_text = "false"};
inline constexpr Flag kIoEngine{.name = "--io-engine",
                                .kind = Kind::kChoice,
                                .default_text = "posix",
                                .choices = kTextsOf<kIoEngines>};
inline constexpr Flag kDirectIo{
    .name = "--direct-io", .kind = Kind::kBool, .default_text = "false"};
inline constexpr Flag kIoDepth{
    .name = "--io-depth", .kind = Kind::kInt, .default_text = "16", .min = 1, .max = 4096};
inline constexpr Flag kIoChunkMib{.name = "--io-chunk-mib",
                                  .kind = Kind::kInt,
                                  .default_text = "8",
                                  .min = 1,
                                  .max = 1024,
                                  .unit = "MiB"};
inline constexpr Flag kSyncMode{.name = "--sync-mode",
                                .kind = Kind::kChoice,
                                .default_text = "fsync",
                                .choices = kTextsOf<kSyncModes>};
inline constexpr Flag kPayload{.name = "--payload",
                               .kind = Kind::kChoice,
                               .default_text = "full",
                               .choices = kTextsOf<kPayloadModes>};
inline constexpr Flag kMaxInflightMib{.name = "--max-inflight-mib",
                                      .kind = Kind::kInt,
                                      .default_text = "512",
                                      .min = 1,
                                      .max = 1048576,
                                      .unit = "MiB"};
inline constexpr Flag kProbe{.name = "--probe", .kind = Kind::kBool, .default_text = "false"};
inline constexpr Flag kProbeDevice{
    .name = "--probe-device", .kind = Kind::kBool, .default_text = "false"};
inline constexpr Flag kListUsers{
    .name = "--list-users", .kind = Kind::kBool, .default_text = "false"};
inline constexpr Flag kPerRankOutput{
    .name = "--per-rank-output", .kind = Kind::kBool, .default_text = "false"};
inline constexpr Flag kRankTimeout{.name = "--rank-timeout",
                                   .kind = Kind::kFloat,
                                   .default_text = "300",
                                   .min = 1,
                                   .max = 86400,
                                   .unit = "s"};
inline constexpr Flag kIoTraceReal{
    .name = "--io-trace-real", .kind = Kind::kBool, .default_text = "false"};

// Whether `value` lies inside the flag's limits (the engine's own check, for callers that want to
// refuse a value before it reaches the engine).
constexpr bool in_range(const Flag& f, double value) {
  if (f.min && (f.min_exclusive ? !(value > *f.min) : !(value >= *f.min))) return false;
  return !(f.max && !(value <= *f.max));
}

// A limit or value as the engine prints it: integers without a fraction ("100000"), others as fmt's
// shortest form ("0.8").
inline std::string number_text(double v) {
  if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 1e15)
    return fmt::format("{}", static_cast<long long>(v));
  return fmt::format("{}", v);
}

// The limits in words: "between 1 and 100000", ">= 0", "> 0", "<= 1"; "" for a flag without limits.
inline std::string range_text(const Flag& f) {
  if (f.min && f.max)
    return fmt::format("between {} and {}", number_text(*f.min), number_text(*f.max));
  if (f.min) return fmt::format("{} {}", f.min_exclusive ? ">" : ">=", number_text(*f.min));
  if (f.max) return fmt::format("<= {}", number_text(*f.max));
  return {};
}

// A choice flag's default is one of its choices (checked for every choice flag at compile time).
constexpr bool default_is_a_choice(const Flag& f) {
  if (f.kind != Kind::kChoice) return true;
  for (auto c : f.choices)
    if (c == f.default_text) return true;
  return false;
}
static_assert(default_is_a_choice(kLogLevel) && default_is_a_choice(kGenerationMode) &&
              default_is_a_choice(kPerformanceProfile) && default_is_a_choice(kAutoscalerMode) &&
              default_is_a_choice(kGpuBackend) && default_is_a_choice(kIoEngine) &&
              default_is_a_choice(kSyncMode) && default_is_a_choice(kPayload));

}  // namespace kv::engine_cli
