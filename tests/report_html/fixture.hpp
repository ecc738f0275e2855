// Results JSON fixtures for the report tests, built with the engine's own histogram encoder
// (kv_metrics), so the report's decoder is checked against what the engine really writes.
#pragma once

#include <nlohmann/json.hpp>
#include <vector>

#include "engine/metrics/latency.hpp"
#include "report_html/results_view.hpp"

namespace rhtest {

using Json = kv::report_html::Json;

inline Json histogram_of(const std::vector<double>& seconds) {
  kv::metrics::Histogram h;
  for (double s : seconds) h.add(s);
  return Json::parse(h.to_json().dump());
}

// A measured single-rank run: 3 s window (+0.5 s partial fourth row), storage and CPU traffic.
inline Json measured_run() {
  Json r;
  r["requests_completed"] = 4;
  r["engine_version"] = "test";
  r["stop_reason"] = "duration";
  r["config"] = {{"model", "tiny-1b"}, {"num_users", 2}, {"duration", 3}};
  r["summary"] = {{"total_requests", 4},
                  {"elapsed_time", 3.5},
                  {"avg_throughput_tokens_per_sec", 100.0},
                  {"end_to_end_latency_ms", {{"p50", 20.0}, {"p95", 40.0}, {"p99", 41.0}}},
                  {"storage_io_latency_ms", {{"p95", 10.0}}},
                  {"cache_stats",
                   {{"cache_hit_rate", 0.5},
                    {"tier_storage_read_bandwidth_gbps", 1.25},
                    {"tier_storage_write_bandwidth_gbps", 0.75},
                    {"storage_read_device_p95_ms", 8.0},
                    {"storage_write_device_p95_ms", 0.0}}}};
  const double gib = 1024.0 * 1024 * 1024;
  r["timeseries"] = Json::array();
  const double reads[] = {1, 2, 3, 0.25};  // GiB per row; the last row is half a second long
  for (int t = 0; t < 4; ++t) {
    r["timeseries"].push_back({{"t", t},
                               {"storage_read_bytes", reads[t] * gib},
                               {"storage_write_bytes", 0.5 * gib},
                               {"cpu_read_bytes", 0},
                               {"cpu_write_bytes", 0},
                               {"gpu_read_bytes", 0},
                               {"gpu_write_bytes", 0}});
  }
  r["latency_histograms"] = {{"unit", "seconds"},
                             {"end_to_end", histogram_of({0.010, 0.020, 0.030, 0.040})},
                             {"storage_read_device", histogram_of({0.002, 0.004, 0.008})},
                             {"storage_write_device", histogram_of({})},
                             {"qos_batch", histogram_of({0.010, 0.040})}};
  return r;
}

// The same run with nothing completed: the engine's zero-request shape (null percentiles).
inline Json unmeasured_run() {
  Json r = measured_run();
  r["requests_completed"] = 0;
  r["summary"]["total_requests"] = 0;
  r["summary"]["end_to_end_latency_ms"] = {{"p50", nullptr}, {"p95", nullptr}, {"p99", nullptr}};
  r["summary"]["cache_stats"]["storage_read_device_p95_ms"] = nullptr;
  r["latency_histograms"]["end_to_end"] = histogram_of({});
  r["latency_histograms"]["storage_read_device"] = histogram_of({});
  return r;
}

}  // namespace rhtest
