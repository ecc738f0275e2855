// The kv-cache engine's choice flags: each choice is an enum and ONE table maps its command-line
// text to the enum value (designated initializers, so a reader sees text and value side by side).
// Header-only and dependency-light (core/ only) so that the engine's flag table and the
// orchestrator (which builds the engine's argv) read the same texts.
//
// to_text(value) and from_text<E>(text) (case-insensitive, as argparse's choices after the
// reference's own lower-casing) work for every enum that has a choices_of(E) overload; the engine's
// run/rank/health statuses (engine/run_status.hpp) use the same machinery.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <span>
#include <string_view>

#include "core/log.hpp"

namespace kv::engine_cli {

template <class E>
struct Choice {
  std::string_view text;
  E value;
};

enum class SyncMode { kFsync, kFdatasync, kNone };
enum class IoEngine { kPosix, kIoUring };
enum class GpuBackend { kAuto, kSimulated, kCuda, kNone };
enum class GenerationMode { kNone, kFast, kRealistic };
enum class PerformanceProfile { kLatency, kThroughput };
enum class AutoscalerMode { kQos, kCapacity };
enum class PayloadMode { kFull, kStamped };

inline constexpr Choice<log::Level> kLogLevels[] = {
    {.text = "DEBUG", .value = log::Level::kDebug},
    {.text = "INFO", .value = log::Level::kInfo},
    {.text = "WARNING", .value = log::Level::kWarning},
    {.text = "ERROR", .value = log::Level::kError},
    {.text = "CRITICAL", .value = log::Level::kCritical},
};
inline constexpr Choice<SyncMode> kSyncModes[] = {
    {.text = "fsync", .value = SyncMode::kFsync},
    {.text = "fdatasync", .value = SyncMode::kFdatasync},
    {.text = "none", .value = SyncMode::kNone},
};
inline constexpr Choice<IoEngine> kIoEngines[] = {
    {.text = "posix", .value = IoEngine::kPosix},
    {.text = "io_uring", .value = IoEngine::kIoUring},
};
inline constexpr Choice<GpuBackend> kGpuBackends[] = {
    {.text = "auto", .value = GpuBackend::kAuto},
    {.text = "simulated", .value = GpuBackend::kSimulated},
    {.text = "cuda", .value = GpuBackend::kCuda},
    {.text = "none", .value = GpuBackend::kNone},
};
inline constexpr Choice<GenerationMode> kGenerationModes[] = {
    {.text = "none", .value = GenerationMode::kNone},
    {.text = "fast", .value = GenerationMode::kFast},
    {.text = "realistic", .value = GenerationMode::kRealistic},
};
inline constexpr Choice<PerformanceProfile> kPerformanceProfiles[] = {
    {.text = "latency", .value = PerformanceProfile::kLatency},
    {.text = "throughput", .value = PerformanceProfile::kThroughput},
};
inline constexpr Choice<AutoscalerMode> kAutoscalerModes[] = {
    {.text = "qos", .value = AutoscalerMode::kQos},
    {.text = "capacity", .value = AutoscalerMode::kCapacity},
};
inline constexpr Choice<PayloadMode> kPayloadModes[] = {
    {.text = "full", .value = PayloadMode::kFull},
    {.text = "stamped", .value = PayloadMode::kStamped},
};

// The table of each enum, found by argument-dependent lookup (or here) from a value of the enum.
constexpr std::span<const Choice<SyncMode>> choices_of(SyncMode) {
  return kSyncModes;
}
constexpr std::span<const Choice<IoEngine>> choices_of(IoEngine) {
  return kIoEngines;
}
constexpr std::span<const Choice<GpuBackend>> choices_of(GpuBackend) {
  return kGpuBackends;
}
constexpr std::span<const Choice<GenerationMode>> choices_of(GenerationMode) {
  return kGenerationModes;
}
constexpr std::span<const Choice<PerformanceProfile>> choices_of(PerformanceProfile) {
  return kPerformanceProfiles;
}
constexpr std::span<const Choice<AutoscalerMode>> choices_of(AutoscalerMode) {
  return kAutoscalerModes;
}
constexpr std::span<const Choice<PayloadMode>> choices_of(PayloadMode) {
  return kPayloadModes;
}
constexpr std::span<const Choice<log::Level>> choices_of(log::Level) {
  return kLogLevels;
}

namespace detail {
constexpr char lower_ascii(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}
constexpr bool iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower_ascii(a[i]) != lower_ascii(b[i])) return false;
  return true;
}
}  // namespace detail

// The command-line text of `value` ("" only for a value missing from its table, which the
// static_asserts of each table's users rule out).
template <class E>
constexpr std::string_view to_text(E value) {
  for (const auto& c : choices_of(E{}))
    if (c.value == value) return c.text;
  return {};
}

// The value whose text equals `text` ignoring ASCII case; nullopt for anything else.
template <class E>
constexpr std::optional<E> from_text(std::string_view text) {
  for (const auto& c : choices_of(E{}))
    if (detail::iequal(c.text, text)) return c.value;
  return std::nullopt;
}

// The texts of one table as an array with static storage (for the flag contract's choice lists).
template <const auto& Table>
inline constexpr auto kTextsOf = [] {
  std::array<std::string_view, std::size(Table)> a{};
  for (std::size_t i = 0; i < a.size(); ++i) a[i] = Table[i].text;
  return a;
}();

}  // namespace kv::engine_cli
