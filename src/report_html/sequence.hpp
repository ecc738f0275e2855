// The HTML report of an MLPerf submission sequence (`mlpstorage closed|open kvcache run`: Table
// KVCache-1 options x trials), one self-contained page like the run reports (inline CSS and SVG,
// no script, no network):
//
//   status and verification   the sequence's status, trials done, verdict (CLOSED/OPEN/INVALID)
//                             with every reason;
//   options x trials table    per trial the MLPerf values of the run summary (docs/mlpstorage.md,
//                             "Run summary": storage read/write GiB/s and throughputs summed over
//                             the clients, device read/write P95 the maximum over the clients)
//                             plus the trial's pooled end-to-end P95; per option the aggregate
//                             (mean of the trials' sums, maximum of their maxima) and the spread
//                             over the trials (coefficient of variation); a link to each trial's
//                             own run report; bars of read bandwidth and device read P95 per
//                             trial;
//   curves per option         per-second storage read and write bandwidth of the option's trials
//                             overlaid, storage device latency CDFs (read solid, write dashed) and
//                             end-to-end latency CDFs, one colour per trial;
//   configuration             the options as they ran (parameters.options), the sequence settings,
//                             the first trial's command.
//
// Inputs are the files mlpstorage writes (the caller reads them): the sequence metadata, the run
// summary (null before a trial has finished) and each trial's merged results. A trial that has not
// finished shows its status and "—"; nothing is ever shown as 0 that was not measured.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "report_html/report.hpp"
#include "report_html/svg.hpp"

namespace kv::report_html {

struct SequenceTrial {
  int option = 0;            // 1..3
  int trial = 0;             // 0-based, as the directory trial_<T> (shown 1-based)
  std::string status;        // the trial record's: success, failed, interrupted, running, pending
  std::optional<Run> run;    // its merged results file, when one was written
  std::string report_href;   // relative link to its own run report ("" = none)
  std::string results_href;  // relative link to its merged results file ("" = none)
};

struct Sequence {
  Json metadata = nullptr;            // the sequence's *_metadata.json
  Json summary = nullptr;             // kvcache_run_summary_<dt>.json (null: none yet)
  std::vector<SequenceTrial> trials;  // every planned trial, option-major
  std::vector<std::pair<std::string, std::string>> files;  // (label, relative href) to list
};

// The table's value columns, in order.
struct SequenceColumn {
  std::string key;  // per_trial key of the run summary ("read_bandwidth_gbps", ...)
  std::string label;
  std::string unit;
};
const std::vector<SequenceColumn>& sequence_columns();

struct SequenceRow {
  enum class Kind { kTrial, kAggregate, kSpread };
  Kind kind = Kind::kTrial;
  int option = 0;
  int trial = -1;       // kTrial: 0-based trial
  std::string status;   // kTrial: the trial's status
  bool counted = true;  // kTrial: in the option's aggregate (a failed trial is not; run summary)
  // One per sequence_columns(): kTrial the trial's value, kAggregate the option's aggregate,
  // kSpread the coefficient of variation over the trials (a fraction; nullopt below 2 trials).
  std::vector<std::optional<double>> values;
  std::string report_href;  // kTrial
};
// The rows of the options x trials table: for each option its trials, then its aggregate and its
// spread rows (those two only when the summary holds the option). A failed trial keeps its own
// values but is marked not counted: the run summary leaves it out of the aggregate.
std::vector<SequenceRow> sequence_rows(const Sequence& s);

// The option numbers of the sequence, in order.
std::vector<int> sequence_options(const Sequence& s);

// Per-second storage bandwidth (`dir` "read" or "write") of every trial of `option` that has
// results, one series per trial.
LineChart trial_bandwidth_chart(const Sequence& s, int option, const std::string& dir);
// Storage device latency CDFs of the option's trials: read (solid) and write (dashed) per trial.
LineChart trial_device_latency_chart(const Sequence& s, int option);
// End-to-end latency CDFs of the option's trials, one series per trial.
LineChart trial_end_to_end_chart(const Sequence& s, int option);

std::string render_sequence(const Sequence& s, const std::string& title = {});

}  // namespace kv::report_html
