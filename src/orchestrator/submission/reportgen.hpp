// `mlpstorage reports reportgen --results-dir D [--output-dir O]`: walks D (our layout and the
// reference's), treats every directory holding a `*_metadata.json` as one run, and writes
// O/results.json (a list of rows) and O/results.csv (the rows flattened to dotted keys, the header
// the sorted union of all keys, null values left empty). O defaults to D.
//
// One row per run: run_id ("<benchmark_type>_<command>_<model>_<run_datetime>"), benchmark_type,
// model, command, num_processes, division, status, verification, result_dir, parameters, metrics.
// `metrics` is the metadata's flat `metrics` object; without one, the scalars of `kvcache_metrics`.
// A run directory with a `kvcache_run_summary_*.json` (a sequence, ours or the reference's) adds
// one row per option: run_id + "_option<O>", the option's aggregated values and trial count as
// metrics, and partial_failure. Unreadable metadata is reported and skipped. Every sequence
// directory found also gets its HTML reports (re)written in place (sequence_report.hpp); a
// directory that cannot be written keeps its old pages, with a warning. Exit codes: 0; 3 when D
// does not exist or holds no run; 4 when the output cannot be written.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "orchestrator/kvcache.hpp"
#include "orchestrator/options.hpp"

namespace kv::orchestrator::submission {

Json collect_report_rows(const std::filesystem::path& root, std::vector<std::string>* errors);
std::string rows_to_csv(const Json& rows);

BenchmarkResult run_reportgen(const Invocation& inv, const Environment& env);

}  // namespace kv::orchestrator::submission
