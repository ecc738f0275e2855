#include "report_html/results_view.hpp"

#include <algorithm>
#include <cmath>

#include "core/error.hpp"
#include "core/fs.hpp"

namespace kv::report_html {
namespace {

namespace stdfs = std::filesystem;

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

const Json* find_path(const Json& j, const std::string& dotted) {
  const Json* cur = &j;
  std::size_t start = 0;
  while (start <= dotted.size()) {
    const auto dot = dotted.find('.', start);
    const std::string part = dotted.substr(start, dot == std::string::npos ? dot : dot - start);
    if (!cur->is_object()) return nullptr;
    auto it = cur->find(part);
    if (it == cur->end()) return nullptr;
    cur = &*it;
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return cur;
}

const Json& histogram(const Json& results, const std::string& name) {
  static const Json kNull;
  const Json* h = find_path(results, "latency_histograms." + name);
  return h && h->is_object() ? *h : kNull;
}

// A latency percentile that counts only when its histogram has samples (older engines wrote 0.0
// for an empty one; absent histogram = trust the number).
std::optional<double> latency(const Json& r, const std::string& path, const char* hist) {
  auto v = number_at(r, path);
  if (!v) return std::nullopt;
  if (hist != nullptr && histogram(r, hist).is_object() && histogram_count(r, hist) == 0)
    return std::nullopt;
  return v;
}

const Json& rows(const Json& results) {
  static const Json kEmpty = Json::array();
  auto it = results.find("timeseries");
  return it != results.end() && it->is_array() ? *it : kEmpty;
}

// Seconds of the window covered by whole rows (the last row may be a fraction of a second).
double window_seconds(const Json& results) {
  auto e = number_at(results, "summary.elapsed_time");
  return e ? *e : static_cast<double>(rows(results).size());
}

}  // namespace

std::optional<double> number_at(const Json& j, const std::string& dotted_path) {
  const Json* v = find_path(j, dotted_path);
  if (v == nullptr || !v->is_number()) return std::nullopt;
  const double d = v->get<double>();
  return std::isfinite(d) ? std::optional<double>(d) : std::nullopt;
}

Json load_results(const stdfs::path& path, stdfs::path* resolved) {
  std::error_code ec;
  stdfs::path file = path;
  if (stdfs::is_directory(path, ec)) {
    std::vector<stdfs::path> found;
    for (const auto& e : stdfs::directory_iterator(path, ec)) {
      const std::string n = e.path().filename().string();
      if (e.is_regular_file(ec) && n.ends_with(".json") && n.find("results") != std::string::npos &&
          !n.ends_with("_metadata.json") && n.find("_rank") == std::string::npos)
        found.push_back(e.path());
    }
    if (found.empty()) {
      throw Error(ExitCode::kFileNotFound,
                  "'" + path.string() + "': no results JSON (*results*.json) in this directory",
                  "give a run directory of mlpstorage or a kv-cache --output file");
    }
    std::sort(found.begin(), found.end());
    file = found.back();
  } else if (!stdfs::exists(path, ec)) {
    throw Error(ExitCode::kFileNotFound, "'" + path.string() + "': no such file or directory");
  }
  Json j;
  try {
    j = Json::parse(kv::fs::read_file(file, "results JSON"));
  } catch (const Json::exception& e) {
    throw Error(ExitCode::kInvalidArguments,
                "'" + file.string() + "': not valid JSON (" + e.what() + ")");
  }
  if (!j.is_object() || !j.contains("summary")) {
    throw Error(ExitCode::kInvalidArguments,
                "'" + file.string() + "': not a kv-cache results JSON (no \"summary\" object)");
  }
  if (resolved) *resolved = file;
  return j;
}

Json load_metadata_near(const stdfs::path& results_file) {
  std::error_code ec;
  const stdfs::path dir = results_file.parent_path().empty() ? "." : results_file.parent_path();
  for (const auto& e : stdfs::directory_iterator(dir, ec)) {
    if (!e.path().filename().string().ends_with("_metadata.json")) continue;
    try {
      Json md = Json::parse(kv::fs::read_file(e.path(), "metadata JSON"));
      if (md.is_object()) return md;
    } catch (const std::exception&) {
    }
  }
  return nullptr;
}

bool measured(const Json& results) {
  auto n = number_at(results, "summary.total_requests");
  if (!n) n = number_at(results, "requests_completed");
  return n && *n > 0;
}

std::vector<Metric> headline_metrics(const Json& r) {
  const std::string cs = "summary.cache_stats.";
  std::vector<Metric> m;
  auto add = [&](std::string key, std::string label, std::string unit, std::optional<double> v,
                 int better) {
    m.push_back({std::move(key), std::move(label), std::move(unit), v, better});
  };
  const bool any = measured(r);
  auto lat = [&](const std::string& path, const char* hist) {
    return any ? latency(r, path, hist) : std::nullopt;
  };
  add("requests_completed", "Requests completed", "", number_at(r, "summary.total_requests"), +1);
  add("elapsed_s", "Window", "s", number_at(r, "summary.elapsed_time"), 0);
  add("storage_read_gibps", "Storage read bandwidth", "GiB/s",
      number_at(r, cs + "tier_storage_read_bandwidth_gbps"), +1);
  add("storage_write_gibps", "Storage write bandwidth", "GiB/s",
      number_at(r, cs + "tier_storage_write_bandwidth_gbps"), +1);
  add("storage_read_device_p95_ms", "Storage read device P95", "ms",
      lat(cs + "storage_read_device_p95_ms", "storage_read_device"), -1);
  add("storage_write_device_p95_ms", "Storage write device P95", "ms",
      lat(cs + "storage_write_device_p95_ms", "storage_write_device"), -1);
  add("e2e_p50_ms", "End-to-end P50", "ms", lat("summary.end_to_end_latency_ms.p50", "end_to_end"),
      -1);
  add("e2e_p95_ms", "End-to-end P95", "ms", lat("summary.end_to_end_latency_ms.p95", "end_to_end"),
      -1);
  add("e2e_p99_ms", "End-to-end P99", "ms", lat("summary.end_to_end_latency_ms.p99", "end_to_end"),
      -1);
  add("storage_io_p95_ms", "Storage I/O per request P95", "ms",
      lat("summary.storage_io_latency_ms.p95", "storage_io"), -1);
  add("tokens_per_s", "Throughput", "tok/s", number_at(r, "summary.avg_throughput_tokens_per_sec"),
      +1);
  add("storage_tokens_per_s", "Storage throughput", "tok/s",
      number_at(r, "summary.storage_throughput_tokens_per_sec"), +1);
  add("requests_per_s", "Requests per second", "req/s", number_at(r, "summary.requests_per_second"),
      +1);
  std::optional<double> hit = number_at(r, cs + "cache_hit_rate");
  add("cache_hit_rate_pct", "Cache hit rate", "%",
      any && hit ? std::optional<double>(*hit * 100) : std::nullopt, +1);
  add("storage_read_gib", "Storage read volume", "GiB",
      number_at(r, cs + "tier_storage_kv_bytes_read_gb"), 0);
  add("storage_write_gib", "Storage write volume", "GiB",
      number_at(r, cs + "tier_storage_kv_bytes_written_gb"), 0);
  add("cpu_s_per_gib", "Client CPU per GiB moved", "s/GiB",
      number_at(r, "resources.cpu_seconds_per_gib"), -1);
  std::optional<double> rss = number_at(r, "resources.peak_rss_bytes");
  add("peak_rss_mib", "Client peak RSS", "MiB",
      rss ? std::optional<double>(*rss / (1024.0 * 1024.0)) : std::nullopt, -1);
  if (r.contains("mlperf_aggregates")) {
    const std::string a = "mlperf_aggregates.";
    add("mlperf_read_gibps", "MLPerf aggregated read bandwidth", "GiB/s",
        number_at(r, a + "aggregated_read_bandwidth_gbps"), +1);
    add("mlperf_write_gibps", "MLPerf aggregated write bandwidth", "GiB/s",
        number_at(r, a + "aggregated_write_bandwidth_gbps"), +1);
    add("mlperf_device_read_p95_ms", "MLPerf device read P95 (max of ranks)", "ms",
        any ? number_at(r, a + "aggregated_device_read_p95_ms") : std::nullopt, -1);
    add("mlperf_device_write_p95_ms", "MLPerf device write P95 (max of ranks)", "ms",
        any ? number_at(r, a + "aggregated_device_write_p95_ms") : std::nullopt, -1);
  }
  return m;
}

std::vector<std::pair<double, double>> per_second_gibps(const Json& results,
                                                        const std::string& tier,
                                                        const std::string& dir) {
  std::vector<std::pair<double, double>> out;
  const std::string key = tier + "_" + dir + "_bytes";
  const double window = window_seconds(results);
  for (const auto& row : rows(results)) {
    if (!row.is_object()) continue;
    auto t = number_at(row, "t");
    auto b = number_at(row, key);
    if (!t || !b) continue;
    // The last row covers only the fraction of a second the window had left.
    const double span = std::clamp(window - *t, 0.0, 1.0);
    if (span < 0.05) continue;
    out.emplace_back(*t, *b / kGiB / span);
  }
  return out;
}

std::vector<std::pair<double, double>> timeseries_column(const Json& results,
                                                         const std::string& column) {
  std::vector<std::pair<double, double>> out;
  for (const auto& row : rows(results)) {
    auto t = number_at(row, "t");
    auto v = number_at(row, column);
    if (t && v) out.emplace_back(*t, *v);
  }
  return out;
}

std::vector<std::pair<double, double>> gauge_column(const Json& results,
                                                    const std::string& column) {
  auto out = timeseries_column(results, column);
  const double window = window_seconds(results);
  for (auto& p : out) p.first = std::min(p.first + 1, std::max(window, p.first));
  return out;
}

bool tier_has_traffic(const Json& results, const std::string& tier) {
  for (const auto& row : rows(results)) {
    for (const char* dir : {"_read_bytes", "_write_bytes"}) {
      auto v = number_at(row, tier + dir);
      if (v && *v > 0) return true;
    }
  }
  return false;
}

std::optional<Spread> per_second_spread(const Json& results, const std::string& tier,
                                        const std::string& dir) {
  auto pts = per_second_gibps(results, tier, dir);
  if (pts.empty()) return std::nullopt;
  std::vector<double> v;
  for (const auto& p : pts) v.push_back(p.second);
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return Spread{v.front(), n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2, v.back()};
}

long long histogram_count(const Json& results, const std::string& name) {
  auto c = number_at(histogram(results, name), "count");
  return c ? static_cast<long long>(*c) : 0;
}

std::vector<std::pair<double, double>> latency_cdf_ms(const Json& results,
                                                      const std::string& name) {
  const Json& h = histogram(results, name);
  std::vector<std::pair<double, double>> out;
  if (!h.is_object()) return out;
  const double count = number_at(h, "count").value_or(0);
  const double lo = number_at(h, "min").value_or(0), hi = number_at(h, "max").value_or(0);
  const int sub = static_cast<int>(number_at(h, "sub_buckets").value_or(128));
  auto b = h.find("buckets");
  if (count <= 0 || b == h.end() || !b->is_array() || sub <= 0) return out;
  // Histogram values are nanoseconds (bucket layout: docs/metrics-internals.md); min/max and the
  // "unit" of the block are seconds.
  std::vector<std::pair<long long, double>> buckets;
  for (const auto& e : *b) {
    if (e.is_array() && e.size() == 2 && e[0].is_number() && e[1].is_number())
      buckets.emplace_back(e[0].get<long long>(), e[1].get<double>());
  }
  std::sort(buckets.begin(), buckets.end());
  double cum = 0;
  out.emplace_back(lo * 1e3, 0.0);  // the curve starts at the smallest sample
  for (const auto& [idx, n] : buckets) {
    double mid_ns = 0.5;
    if (idx > 0) {
      const long long o = (idx - 1) / sub, s = (idx - 1) % sub;
      const double base = std::ldexp(1.0, static_cast<int>(o));
      mid_ns = base * (1.0 + (static_cast<double>(s) + 0.5) / sub);
    }
    const double sec = std::clamp(mid_ns * 1e-9, lo, std::max(lo, hi));
    cum += n;
    out.emplace_back(sec * 1e3, std::min(1.0, cum / count));
  }
  return out;
}

}  // namespace kv::report_html
