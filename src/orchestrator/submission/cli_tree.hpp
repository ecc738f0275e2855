// The parts of the `mlpstorage` command tree that belong to the submission flow
// (docs/mlpstorage.md, "Submission flow"); cli.cpp calls these while it builds and parses the tree.
//
//   mlpstorage init <orgname> <results-dir>
//   mlpstorage <closed|open|whatif> kvcache run [kvcache run flags] [sequence flags]
//   mlpstorage reports reportgen --results-dir D [--output-dir O]
//
// Sequence flags (on the modal `run` only): --systemname/-sn, --trials, --inter-option-delay,
// --settle, --npernode (alias --num-processes-per-client), --config (engine YAML), --resume.
// --open/--closed/--what-if/--loops do not exist there: the division decides.
// After parsing, finish_sequence() records which options were set (on the command line or by
// --config-file) in SequenceOptions::given, fills the optional values, takes --systemname from
// $MLPERF_SYSTEMNAME when not given, and rejects what no division can run (usage errors naming the
// flag). The division's own rules (CLOSED locks, OPEN supersede) live in sequence_plan.hpp.
#pragma once

#include <CLI/CLI.hpp>

#include "orchestrator/options.hpp"

namespace kv::orchestrator::submission {

// Raw values CLI11 binds before finish_sequence() turns them into optionals.
struct SequenceFlags {
  int trials = 0;
  int inter_option_delay = 0;
  int settle = 0;
  int npernode = 0;
};

inline constexpr const char* kDivisions[] = {"closed", "open", "whatif"};

// Adds the sequence flags to a modal `run` leaf.
void add_sequence_options(CLI::App* run, SequenceOptions& seq, SequenceFlags& raw);
// Post-processing of a parsed modal `run` leaf (see the header comment). Throws kv::Error(2).
void finish_sequence(const CLI::App& leaf, Invocation& inv, const SequenceFlags& raw);

// `init <orgname> <results-dir>` (positionals only, plus logging flags added by the caller).
CLI::App* add_init(CLI::App& app, InitOptions& init);
// `reports reportgen` under the `reports` program (the caller adds the universal flags for
// --results-dir).
CLI::App* add_reportgen(CLI::App& reports, ReportOptions& report);

// A --hosts value that starts with '-' is a flag the user meant, never a host.
void reject_dash_hosts(const std::vector<std::string>& hosts);

}  // namespace kv::orchestrator::submission
