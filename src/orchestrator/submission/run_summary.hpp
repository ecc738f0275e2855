// kvcache_run_summary_<dt>.json: the MLPerf v3.0 aggregation of a sequence (docs/mlpstorage.md,
// "Run summary"), computed from the per-rank files option_<O>/trial_<T>/rank_<N>/
// kvcache_results_*.json exactly as the rules' harness does:
//   within a trial, SUM over ranks: summary.cache_stats.tier_storage_{read,write}_bandwidth_gbps,
//     summary.avg_throughput_tokens_per_sec, summary.storage_throughput_tokens_per_sec;
//     MAX over ranks: summary.cache_stats.storage_{read,write}_device_p95_ms (a missing key reads
//     0);
//   across trials: arithmetic MEAN of the per-trial sums, MAX of the per-trial maxima, over the
//     SUCCESSFUL trials only (we differ from the reference here: a failed trial, i.e. an engine
//     error, a trial that completed no request or one missing a client's results, is listed in
//     failed_trials and per_trial but never averaged in as zeros; trial_count counts the
//     successful trials, partial_failure is set); every aggregated_* is null when no successful
//     trial read a file;
//   a missing rank directory/file or an unparsable file goes to missing_files and sets
//     partial_failure; a rank with summary.cache_stats.storage_entries == 0 is listed (by file) in
//     cpu_tier_ranks and still contributes its values.
// Our additions, under new keys of each option: failed_trials (0-based trial numbers), per_trial
// (the per-trial values above, `counted`, plus the trial's pooled percentiles from its merged
// results file), trial_spread ({mean, stdev, cv} of each
// per-trial value over the successful trials; stdev is the sample standard deviation, null below 2
// trials; cv = stdev / mean, null when the mean is 0), pooled_percentiles ({mean, max} over trials
// of the per-trial pooled values). Pooled values are cluster-wide within a trial (the engine merges
// the ranks' histograms); across trials they are averaged, not re-pooled.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "orchestrator/options.hpp"

namespace kv::orchestrator::submission {

struct TrialInput {
  int trial = 0;
  std::filesystem::path dir;  // option_<O>/trial_<T>
  std::string status;         // the trial record's status (success, failed, …)
};

// The per-option record (the reference's keys first, then ours; docs/mlpstorage.md, "Run summary").
Json summarize_option(int option, const std::vector<TrialInput>& trials, int expected_ranks);

struct SummaryHeader {
  std::string run_datetime;
  int npernode = 1;
  int host_count = 1;
  int total_ranks = 1;
  int trials_per_option = 3;
};

// {schema_version "1.0", run_datetime, npernode, host_count, total_ranks, trials_per_option,
//  options {"1": …}, partial_failure} — `options` holds the records of summarize_option in order.
Json build_run_summary(const SummaryHeader& h, const std::vector<Json>& options);

// The flat `metrics` object of the metadata (what the reference's report generator shows):
// option_<O>_<aggregated key> = number, plus total_ranks and partial_failure.
Json flat_metrics(const Json& summary);

}  // namespace kv::orchestrator::submission
