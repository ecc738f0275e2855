// Self-contained HTML reports of kv-cache runs: one file, inline CSS and inline SVG charts, no
// script and no network access (nothing is fetched, so a report opens offline and from an archive).
//
//   render_report(run)        one run (single-rank or MPI-merged results JSON): headline metrics,
//                             per-second bandwidth per tier, latency CDFs (storage device
//                             read/write and per chunk, request-level, per QoS class), queue depth
//                             and tier occupancy over time (when the time series carries them), QoS
//                             and storage-health verdicts (labelled informational), the per-rank
//                             comparison of MPI runs, configuration and, under mlpstorage, the
//                             verification.
//   render_comparison(runs)   two or more runs: a headline table (with difference and ratio against
//                             the first run) and every run's curves overlaid in the same charts.
//                             `mlpstorage reports compare` uses it with two runs; a submission
//                             sequence (several options/trials) with all of them.
//
// A run that completed no request is shown as "not measured": its latencies are "—", never 0.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "report_html/results_view.hpp"

namespace kv::report_html {

struct Run {
  Json results;             // kv-cache results JSON (required)
  Json metadata = nullptr;  // mlpstorage *_metadata.json of the run, when there is one
  std::string label;        // short name in legends and table heads ("A", "trial 2", a dir name)
  std::string source;       // where the results came from (shown in the report)
};

// Loads a run from a results file or an mlpstorage run directory (plus the metadata next to it).
// Throws kv::Error like load_results().
Run load_run(const std::filesystem::path& path, std::string label = {});

std::string render_report(const Run& run, const std::string& title = {});

struct ComparisonRow {
  Metric first;                               // the first run's metric (key, label, unit, value)
  std::vector<std::optional<double>> values;  // one per run, the first included
  std::optional<double> diff;                 // last − first (two runs: B − A)
  std::optional<double> ratio;                // last / first
};
// The headline metrics of every run side by side, aligned by key (a key one run lacks is nullopt).
std::vector<ComparisonRow> compare_metrics(const std::vector<Run>& runs);
// Plain-text table of compare_metrics() for the console (columns fitted to the content; "—" for
// values a run did not measure).
std::string comparison_text(const std::vector<Run>& runs);
std::string render_comparison(const std::vector<Run>& runs, const std::string& title = {});

// Writes `html` atomically to `path` (kv::Error naming the path on failure).
void write_html(const std::filesystem::path& path, const std::string& html);

// "12.3", "0.0123", "1.23e+06", or "—" for nullopt (what the console and the HTML print).
std::string format_value(const std::optional<double>& v);

}  // namespace kv::report_html
