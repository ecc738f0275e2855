// Combining the results of the ranks of one MPI job into ONE results JSON (docs/distributed.md;
// the rule of every block and key is the table in docs/metrics.md, "MPI merge", and make_rules() in
// results_merge.cpp). Pure functions of JSON, so they are unit-tested without MPI.
//
// * Reference keys stay where they are and mean the cluster: counts are summed, and so are the
//   rates the MLPerf rules sum (tokens/s, requests/s, tier bandwidths); hit rates and other ratios
//   are recomputed from the summed counts; every percentile and latency mean is pooled from the
//   merged latency histograms (or from histograms of the ranks' raw per-request lists), so it is a
//   true cluster-wide percentile within the histogram's 0.4 % error; elapsed_time is the longest
//   rank window; raw per-request lists are concatenated in rank order; time series are added
//   second by second.
// * Mode and feature blocks by their own rules: settings and input files the same on every rank
//   (a difference is named in merge_notes), work summed, completion flags true only when true on
//   every rank, validation / block_hit_rate / reference-style rates recomputed, one I/O trace file
//   per rank.
// * `mlperf_aggregates`: the MLPerf v3.0 rules' aggregation (sum of per-rank storage bandwidth and
//   tokens/s, MAX over ranks of the per-rank device read/write P95), next to the pooled P95s.
// * `ranks` (rank, host, pid, status, window, the rank's own summary), `rank_count`, `host_count`,
//   `cluster_info`, `partial_failure`, `failed_ranks`, `window`.
// Keys without a rule (e.g. new counters) are summed when numeric and taken from the first rank
// otherwise.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "engine/run_status.hpp"

namespace kv::engine {

struct RankOutcome {
  int rank = 0;
  std::string host;
  long pid = 0;
  // ok: results and exit code 0 (or 8 when the whole job was interrupted); failed: an error, a
  // non-zero exit code or no result at all; cancelled: did not run because another rank failed.
  RankStatus status = RankStatus::kOk;
  std::string reason;  // why it failed / was cancelled (empty when ok)
  int exit_code = 0;
  std::optional<nlohmann::ordered_json> results;  // the rank's own results JSON, if received
  nlohmann::ordered_json last_heartbeat;          // null when none was received
};

struct MergeContext {
  std::optional<std::int64_t> base_seed;  // --seed as given (ranks use base + rank)
  std::string cache_dir;                  // --cache-dir as given ("" = per-rank temporary dirs)
  nlohmann::ordered_json cluster_info;    // cluster::normalise(...) of the hosts
  bool interrupted = false;               // the job was stopped by a signal
  // Results used as the key skeleton when no rank has any (e.g. build_results of an empty run).
  std::optional<nlohmann::ordered_json> empty_results;
};

// One results JSON for the job. `ranks` must hold every rank of the job, in rank order.
nlohmann::ordered_json merge_rank_results(const std::vector<RankOutcome>& ranks,
                                          const MergeContext& ctx);

// `<dir>/<stem>_rank<r><ext>` next to `output` (e.g. out.json → out_rank1.json).
std::string per_rank_output_path(const std::string& output, int rank);

}  // namespace kv::engine
