// The HTML reports of a submission sequence's run directory (docs/mlpstorage.md, "Reports of a
// sequence"):
//   <run dir>/kvcache_sequence_report_<dt>.html               the sequence: options x trials,
//                                                              curves per option, verification
//                                                              (report_html/sequence.hpp)
//   <run dir>/option_<O>/trial_<T>/kvcache_report_<dt>.html  each trial that has a merged results
//                                                              file: the single-run report
//                                                              (report_html/report.hpp)
// Everything is read back from the files the sequence writes (its *_metadata.json with the
// `sequence` object, the run summary, the trial records and merged results), so one call serves
// the end of a sequence (also interrupted or resumed) and `reports reportgen` on an existing tree.
// Paths are taken relative to the run directory, not from the metadata, so a copied or moved
// tree still gets working links.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "orchestrator/options.hpp"

namespace kv::orchestrator::submission {

// File names: kvcache_sequence_report_<dt>.html (in the run directory) and
// kvcache_report_<dt>.html (in each trial directory).
std::string sequence_report_name(const std::string& datetime);
std::string trial_report_name(const std::string& datetime);

// The sequence metadata in `dir` (a *_metadata.json holding a `sequence` object), or nullopt.
std::optional<Json> sequence_metadata(const std::filesystem::path& dir);

struct SequenceReports {
  std::filesystem::path sequence_report;  // empty when it could not be written
  int trial_reports = 0;                  // trial reports written by this call
  std::vector<std::string> problems;      // what could not be read or written
};

// Writes the sequence report, and the trial reports of every trial with results (nullopt) or of
// one (option, trial) only (the sequence calls it after each trial, then once for all at the
// end). Never throws: problems are collected (the caller logs them) and the rest is written.
SequenceReports write_sequence_reports(
    const std::filesystem::path& run_dir,
    std::optional<std::pair<int, int>> only_trial = std::nullopt);

}  // namespace kv::orchestrator::submission
