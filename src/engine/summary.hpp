// Console output in the reference's order (docs/reference-behaviour.md#console-order): the banner
// and workload distribution before the run, then "BENCHMARK RESULTS" built from the results JSON
// (so the console and the file never disagree). Everything goes to stdout; logs and the status line
// go to stderr. Rules (docs/engine.md, "Console output"; engine/summary_format.hpp): every line
// fits 79 columns; a value that was never measured prints "—" (never 0.0 ms); a run that completed
// no request says so in a WARNING and prints no verdict; verdicts that MLPerf does not use
// (storage health, QoS SLA) are labelled informational. With merged MPI results (`ranks` present)
// the results end with one line per rank and the MLPerf v3.0 aggregates beside the pooled figures.
#pragma once

#include <cstddef>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/results.hpp"
#include "engine/workload/users.hpp"

namespace kv::engine {

std::string banner_text(const RunData& d, const std::vector<workload::UserProfile>& users);
// "Running for 60 s with 100 workers..." (", on each of N ranks" in an MPI job, whose rank 0 alone
// prints it, once every rank has been told to start).
std::string running_line(const EngineConfig& c, unsigned workers, int ranks);
std::string results_text(const nlohmann::ordered_json& results, const RunData& d);

// The spread of a per-second series of the results' `timeseries` (bytes per second, e.g.
// "storage_read_bytes") over the whole seconds of the window (t < floor(elapsed_s)), in GiB/s;
// nullopt when the window has no whole second.
struct PerSecondSpread {
  double min_gibps = 0, median_gibps = 0, max_gibps = 0;
  std::size_t seconds = 0;
};
std::optional<PerSecondSpread> per_second_spread(const nlohmann::ordered_json& timeseries,
                                                 std::string_view bytes_key, double elapsed_s);

// MPI rank 0 (merged results): one line per rank (rank, host, status, requests, storage read/write
// GiB/s, device P95s) and the MLPerf aggregates (sums, max of per-rank P95s) beside the pooled
// figures. Empty when `merged` has no `ranks`.
std::string cluster_text(const nlohmann::ordered_json& merged);

}  // namespace kv::engine
