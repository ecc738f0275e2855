// The `mlpstorage` command tree (CLI11): `kvcache run|datasize`, `history list|show|rerun|import`,
// the submission flow (`init`, `closed|open|whatif kvcache run`, `reports reportgen`; see
// submission/cli_tree.hpp),
// the universal flags on every leaf, the reference's two-letter short forms (-rd, -nu, -et, -np,
// -aip, mapped to their long names before CLI11 sees them), --config-file YAML overrides applied
// after parsing and converted through each flag's own type and checks, and post-processing
// (hosts split on commas/spaces, --mpi-params/--kvcache-params flattened into tokens).
//
// Long options as argparse takes them: a unique prefix is the option ("--num-user" →
// "--num-users"); an ambiguous prefix is a usage error listing the candidates; an unknown flag is a
// usage error with "did you mean --xyz?" (edit distance) or the commands that do take it. Each
// command has only the universal flags it uses (history and datasize have no
// --loops/--closed/--what-if). Help is rendered by help.hpp (wrapped to the terminal, an Examples
// section per command).
//
// Outcomes (ParseResult):
//   no arguments                 → full help on stderr, exit 1
//   a program without a command  → that program's help on stderr, exit 1
//   --help / --version           → text on stdout, exit 0
//   usage error                  → "<flag>: what is wrong" on stderr, exit 2 (unexpected words are
//                                  listed in the order given)
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>
#include <vector>

#include "orchestrator/help.hpp"
#include "orchestrator/options.hpp"
#include "orchestrator/submission/cli_tree.hpp"

namespace kv::orchestrator {

struct ParseResult {
  enum class Kind { kOk, kExit };
  Kind kind = Kind::kOk;
  int exit_code = 0;
  std::string out;                    // text for stdout
  std::string err;                    // text for stderr
  std::vector<std::string> warnings;  // e.g. unknown keys in --config-file
  bool ok() const { return kind == Kind::kOk; }
};

class Cli {
 public:
  Cli();
  Cli(const Cli&) = delete;
  Cli& operator=(const Cli&) = delete;

  // argv[0] is the program path. May be called once per Cli object.
  ParseResult parse(const std::vector<std::string>& argv);

  const Invocation& invocation() const { return inv_; }
  CLI::App& app() { return *app_; }
  // The sub-command objects (for tests that inspect which options exist where).
  CLI::App* kvcache_run() const { return kv_run_; }
  CLI::App* kvcache_datasize() const { return kv_datasize_; }
  CLI::App* leaf() const { return leaf_; }

 private:
  // The universal flags a command takes (each command lists only what it uses).
  enum Universal : unsigned {
    kResultsDir = 1u << 0,
    kLoops = 1u << 1,
    kConfigFile = 1u << 2,
    kSubmissionMode = 1u << 3,  // --open / --closed
    kHistoryDb = 1u << 4,
    kLogging = 1u << 5,  // --debug, --verbose, --stream-log-level
    kAllowInvalid = 1u << 6,
    kSkipValidation = 1u << 7,
    kWhatIf = 1u << 8,
    kAllUniversal = (1u << 9) - 1,
  };
  void add_universal(CLI::App* sub, unsigned which);
  // Expands unique prefixes of long options in place (argparse); unknown and ambiguous ones are
  // usage errors ("did you mean"). Empty when every flag resolved.
  std::vector<std::string> resolve_long_options(std::vector<std::string>& argv) const;
  void add_kvcache_common(CLI::App* sub);
  void add_kvcache_run_only(CLI::App* sub);
  void finish_kvcache(CLI::App* sub);
  ParseResult usage_error(const std::string& msg) const;

  std::unique_ptr<CLI::App> app_;
  std::shared_ptr<HelpFormatter> help_;
  CLI::App* kvcache_ = nullptr;
  CLI::App* history_ = nullptr;
  CLI::App* reports_ = nullptr;
  CLI::App* kv_run_ = nullptr;
  CLI::App* kv_datasize_ = nullptr;
  CLI::App* leaf_ = nullptr;
  std::vector<CLI::App*> division_runs_;  // closed/open/whatif → kvcache → run
  CLI::App* init_ = nullptr;
  CLI::App* reportgen_ = nullptr;
  submission::SequenceFlags seq_raw_;
  Invocation inv_;
  // Raw values CLI11 binds before post-processing.
  std::int64_t seed_raw_ = 0;
  int max_allocs_raw_ = 0;
  int io_depth_raw_ = 0;
  int io_chunk_raw_ = 0;
  int num_processes_raw_ = 0;
  std::int64_t show_id_raw_ = 0;
};

// Maps the reference's multi-letter single-dash short forms to long names ("-rd x" → "--results-dir
// x",
// "-np=4" → "--num-processes=4"), and glues a dash-leading value to --mpi-params/--kvcache-params
// ("--mpi-params -x" → "--mpi-params=-x"). Other tokens are unchanged.
std::vector<std::string> normalise_argv(const std::vector<std::string>& argv);

// Splits one string into words with POSIX shell quoting rules (single/double quotes, backslash).
// Throws kv::Error(kInvalidArguments) naming `flag` on an unterminated quote.
std::vector<std::string> shell_split(const std::string& s, const std::string& flag);

}  // namespace kv::orchestrator
