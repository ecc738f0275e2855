// The workload-mode flags' rules, as pure functions of the parsed flags (so they can sit with the
// other flag validation): which mode the flags select, the combinations refused (usage errors,
// "--flag: what") and the flags ignored in the selected mode (warnings). docs/workload-modes.md.
// Selection: --mooncake-trace, else --dataset-path (wins over --use-burst-trace, as the
// reference), else --use-burst-trace, else synthetic users.
#pragma once

#include <string>
#include <vector>

#include "engine/config/config.hpp"

namespace kv::engine {

enum class Mode { kSynthetic, kShareGpt, kBurstGpt, kMooncake };

Mode selected_mode(const EngineConfig& c);

struct ModeFlagRules {
  std::vector<std::string> errors;    // "--flag: what", in a fixed order
  std::vector<std::string> warnings;  // flags that the selected mode ignores
};
ModeFlagRules check_mode_flags(const EngineConfig& c);

}  // namespace kv::engine
