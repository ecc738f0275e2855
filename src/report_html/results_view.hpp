// Read-only views of a kv-cache results JSON (single-rank or the MPI-merged file), shared by the
// HTML report, the run comparison and the console tables: headline metrics, per-second series,
// latency CDFs from the mergeable histograms. The layouts read here are documented in
// docs/metrics.md (keys), docs/metrics-internals.md (histogram buckets, time series) and
// docs/distributed.md (merged keys: ranks, mlperf_aggregates).
//
// Rules:
//  * A value that was never measured is std::nullopt, never 0: a null or absent key, or a latency
//    whose histogram holds no sample (the engine wrote 0.0 there before the zero-requests rule).
//  * Nothing here throws on a missing or mistyped key; only load_results() throws (kv::Error).
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace kv::report_html {

using Json = nlohmann::ordered_json;

// Reads a results JSON. `path` may be the file or an mlpstorage run directory (the newest
// *results*.json in it, not the *_metadata.json). Throws kv::Error: kFileNotFound naming the path,
// kInvalidArguments when it is not a kv-cache results object.
Json load_results(const std::filesystem::path& path, std::filesystem::path* resolved = nullptr);
// The mlpstorage metadata (`*_metadata.json`) next to a results file, or null when there is none.
Json load_metadata_near(const std::filesystem::path& results_file);

struct Metric {
  std::string key;    // stable identifier, e.g. "storage_read_gibps"
  std::string label;  // "Storage read bandwidth"
  std::string unit;   // "GiB/s", "ms", "", "%"
  std::optional<double> value;
  int better = 0;  // +1 higher is better, -1 lower is better, 0 neutral
};

// The headline metrics of a run, in display order (same keys for every run, so two runs line up).
std::vector<Metric> headline_metrics(const Json& results);

// True when the run completed at least one request inside the window.
bool measured(const Json& results);

// Per-second rates of one tier and direction, GiB/s, as (t seconds, value) points.
std::vector<std::pair<double, double>> per_second_gibps(const Json& results,
                                                        const std::string& tier,
                                                        const std::string& dir);
// Any series column (e.g. "queue_depth") from the time-series rows, as (t, value); empty when the
// rows do not carry it.
std::vector<std::pair<double, double>> timeseries_column(const Json& results,
                                                         const std::string& column);
// A gauge column of the time-series rows (`queue_depth`, `<tier>_used_bytes`, ...: a value sampled
// at the end of its row's second, docs/metrics.md) as (sample instant, value): x = t + 1, or the
// window's end for the last, partial row. Rows whose value is null (no sample) are left out.
std::vector<std::pair<double, double>> gauge_column(const Json& results, const std::string& column);
// True when any row of the time series has a non-zero `<tier>_*_bytes`.
bool tier_has_traffic(const Json& results, const std::string& tier);

struct Spread {
  double min = 0, median = 0, max = 0;
};
// min / median / max of the per-second storage bandwidth (GiB/s) over the seconds of the window;
// nullopt without a time series.
std::optional<Spread> per_second_spread(const Json& results, const std::string& tier,
                                        const std::string& dir);

// Empirical CDF (x in ms, y in [0, 1]) of `latency_histograms.<name>`: one point per non-empty
// bucket at the bucket's representative value (midpoint clamped to the exact min/max), y = the
// fraction of samples at or below it. Empty when the histogram is absent or empty.
std::vector<std::pair<double, double>> latency_cdf_ms(const Json& results, const std::string& name);
// Sample count of `latency_histograms.<name>` (0 when absent).
long long histogram_count(const Json& results, const std::string& name);

// Value at `path` ("summary.cache_stats.storage_read_device_p95_ms") if it is a number.
std::optional<double> number_at(const Json& j, const std::string& dotted_path);

}  // namespace kv::report_html
