// The kv-cache command line, declared once (fio-style): one table, which parsing, validation and
// --help all read. Each entry pairs the flag's contract (engine_cli/flags.hpp: name, kind, default,
// limits, unit, choices — shared with the orchestrator) with its group, help and the EngineConfig
// field it fills; a choice flag fills an enum field through its text -> value table
// (engine_cli/choices.hpp). Reference flags keep kv-cache.py's names, defaults, units (GB = GiB)
// and limits; our own flags are grouped apart; workload-mode flags are implemented by engine/modes
// (their cross-flag rules are checked there); --enable-latency-tracing is refused as out of scope.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "engine/config/config.hpp"
#include "engine_cli/flags.hpp"

namespace kv::engine {

enum class FlagGroup { kReference, kOurs, kWorkloadMode, kOutOfScope };

using FieldRef =
    std::variant<int EngineConfig::*, double EngineConfig::*, std::string EngineConfig::*,
                 bool EngineConfig::*, std::optional<std::int64_t> EngineConfig::*,
                 log::Level EngineConfig::*, SyncMode EngineConfig::*, IoEngine EngineConfig::*,
                 GpuBackend EngineConfig::*, GenerationMode EngineConfig::*,
                 PerformanceProfile EngineConfig::*, AutoscalerMode EngineConfig::*,
                 PayloadMode EngineConfig::*>;

struct FlagSpec {
  const engine_cli::Flag& flag;  // name, kind, default, limits, unit, choices
  FlagGroup group = FlagGroup::kReference;
  std::string_view help;
  FieldRef field;
};

std::span<const FlagSpec> flag_table();
const FlagSpec* find_flag(std::string_view name);

struct ParseResult {
  EngineConfig config;
  std::optional<int> exit_now;        // help/version printed: exit with this code
  std::vector<std::string> warnings;  // e.g. tensor-parallel not a power of two
};

// Parses argv with the table's defaults, validates every value and cross-flag rule, collects ALL
// errors and throws one kv::Error(kInvalidArguments) listing each ("--flag: what"). A repeated flag
// takes its last value (as argparse; the MLPerf wrapper appends --seed/--output/--cache-dir last).
ParseResult parse_flags(int argc, const char* const* argv);

// Validation of an already-filled config (used by parse_flags, and by tests that set fields).
std::vector<std::string> validate(const EngineConfig& c);
// "out of scope" refusals for flags given with a non-default value.
std::vector<std::string> refusals(const EngineConfig& c);

// The --help text (generated from the table).
std::string help_text();

}  // namespace kv::engine
