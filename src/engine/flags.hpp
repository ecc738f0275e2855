// The kv-cache command line, declared once (fio-style): every flag's name, type, default, unit,
// limits, group and help live in one table, which parsing, validation and --help all read.
// Reference flags keep kv-cache.py's names, defaults, units (GB = GiB) and §2.1 limits; our own
// flags are grouped apart; workload-mode flags (issue #5) are implemented by engine/modes (their
// cross-flag rules are checked there); --enable-latency-tracing is refused as out of scope.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "engine/config.hpp"

namespace kv::engine {

enum class FlagKind { kInt, kFloat, kString, kChoice, kBool, kOptionalInt };
enum class FlagGroup { kReference, kOurs, kWorkloadMode, kOutOfScope };

using FieldRef = std::variant<int EngineConfig::*, double EngineConfig::*, std::string EngineConfig::*,
                              bool EngineConfig::*, std::optional<std::int64_t> EngineConfig::*>;

struct FlagSpec {
  std::string_view name;          // "--num-users"
  FlagKind kind;
  std::string_view default_text;  // "" = None (strings, --seed); "false" for switches
  std::optional<double> min;      // inclusive unless min_exclusive
  std::optional<double> max;      // inclusive
  bool min_exclusive = false;
  std::string_view choices;       // "a|b|c" for kChoice
  std::string_view unit;          // "GiB", "s", ...
  FlagGroup group = FlagGroup::kReference;
  std::string_view help;
  FieldRef field;
};

const std::vector<FlagSpec>& flag_table();
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
