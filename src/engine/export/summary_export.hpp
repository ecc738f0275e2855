// Summary export (`--xlsx-output PATH`, docs/workload-modes.md).
//   Inputs: the results JSON (the object written by --output; its "summary" holds the metrics) and
//   a run-parameters JSON keyed by the CLI option names (snake_case, see summary_run_parameters()).
//   * PATH ending ".xlsx" -> workbook (libxlsxwriter) with the sheets
//       Summary             one header row + one value row: run parameters then metrics;
//       Run Parameters      two columns Parameter, Value;
//       Performance Metrics two columns Metric, Value;
//       QoS Metrics         QoS Level, Total Requests, Latency P95 (ms), Latency P99 (ms), SLA Met,
//                           SLA Compliance (SLA cells "N/A (throughput mode)" in the throughput
//                           profile); one row per class with data (header only when none).
//   * any other PATH -> the one-row Summary as CSV; ".csv" is appended when the name does not end
//     in ".csv" (".xlsx" never reaches this branch). Booleans are written True/False, absent
//     values as empty cells.
//   A missing key or a value of an unexpected type never throws: the cell is left empty (objects
//   and arrays are written as their JSON text). Files are written atomically (temp + rename).
//   Errors: the file cannot be written -> kv::Error (kFileNotFound / kPermissionDenied / kFailure)
//   naming the flag and the path.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <variant>
#include <vector>

namespace kv::exporter {

using Cell = std::variant<std::monostate, bool, std::int64_t, double, std::string>;

struct Column {
  std::string name;
  Cell value;
};

struct QosRow {
  std::string level;
  Cell total_requests, latency_p95_ms, latency_p99_ms, sla_met, sla_compliance;
};

// Run-parameter columns, in the reference's order. Keys read from `params`:
//   timestamp (default: local time now, "%Y-%m-%d %H:%M:%S"), model, num_users, duration,
//   gpu_mem_gb, num_gpus, tensor_parallel, [Total GPU Memory = gpu_mem_gb x num_gpus], cpu_mem_gb,
//   generation_mode, performance_profile, disable_multi_turn (-> Multi-turn = !value),
//   disable_prefix_caching (-> Prefix Caching = !value), enable_rag, enable_autoscaling, seed,
//   max_concurrent_allocs, request_rate, max_requests, dataset_path (null/"" -> "N/A"),
//   cache_dir (null/"" -> "temp"), storage_capacity_gb, precondition, precondition_size_gb,
//   precondition_threads (0 -> CPU count), trace_speedup, replay_cycles;
//   then every member of the optional object "extra" as an additional column (name -> value).
std::vector<Column> summary_run_parameters(const nlohmann::ordered_json& params);
// Metric columns (Total Requests ... Multi-turn Hit Rate) from results["summary"].
std::vector<Column> summary_metrics(const nlohmann::ordered_json& results);
std::vector<QosRow> summary_qos_rows(const nlohmann::ordered_json& results,
                                     bool throughput_profile);

// Writes the export and returns the path actually written.
std::filesystem::path write_summary(const std::filesystem::path& path,
                                    const nlohmann::ordered_json& results,
                                    const nlohmann::ordered_json& run_params,
                                    const std::string& flag = "--xlsx-output");

// CSV text of the one-row summary (header line + value line).
std::string summary_csv(const std::vector<Column>& columns);
// Text of a cell as written to CSV (Python-like: True/False, 16.0, empty for none).
std::string cell_text(const Cell& c);

}  // namespace kv::exporter
