// Run metadata `kv_cache_<dt>_metadata.json` (docs/mlpstorage.md, "Metadata"),
// written once, atomically (kv::fs::atomic_write), after the run — also after a failed or
// interrupted run, with its status. Key order: the reference's base keys, then its kvcache keys,
// then ours.
//
//   base:    benchmark_type "kv_cache", model, command, run_datetime, num_processes (null when not
//            given), accelerator (null), result_dir, parameters (the workload, verify.hpp),
//            override_parameters {}, system_info (cluster.hpp normalise() or null), runtime (s),
//            verification ("CLOSED"|"OPEN"|"INVALID"), executed_command (string),
//            command_output_files
//            [{command, stdout, stderr}], args (every option of the command)
//   kvcache: kvcache_model, num_users, duration, gpu_mem_gb, cpu_mem_gb, cache_dir (user value or
//            null), generation_mode, performance_profile, exec_type / hosts (only when set),
//            kvcache_metrics (only when the engine's results JSON was read)
//   ours:    schema_version, mlpstorage_version, status (success|failed|interrupted|error),
//            exit_code (mlpstorage's), child_exit_code, child_signal, error (message or null),
//            start_time / end_time (ISO-8601 local), argv (exactly as typed), cwd, program,
//            executed_argv, engine, resolved_cache_dir, results_file, verification_issues,
//            matched_option
//
// kvcache_metrics comes from the engine's real `summary.*` keys, flattened: summary scalars
// (total_requests, total_tokens, elapsed_time, avg_throughput_tokens_per_sec,
// storage_throughput_tokens_per_sec, requests_per_second, total_storage_io_time), the latency
// blocks (end_to_end_latency_ms, storage_io_latency_ms, generation_latency_ms), every scalar of
// summary.cache_stats (tier_storage_read_bandwidth_gbps, storage_read_device_p95_ms,
// storage_entries, …), storage_health_status + overall_passed, multi_turn_hit_rate, qos_metrics.
// Missing keys stay absent.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "orchestrator/options.hpp"
#include "orchestrator/plan.hpp"
#include "orchestrator/verify.hpp"

namespace kv::orchestrator {

inline constexpr int kMetadataSchemaVersion = 1;

// `measured` (true when the run completed at least one request) is set whenever there is a
// summary; `overall_passed` is the informational storage-health verdict and false for an
// unmeasured run.
Json extract_metrics(const Json& engine_results);
// True when summary.total_requests > 0 (the zero-requests rule, docs/metrics.md).
bool results_measured(const Json& engine_results);
// The rule for a run that measured nothing (docs/safety.md), on mlpstorage's record of a finished
// engine run: when `engine_results` completed no request, `status` was "success" or "failed" with
// the engine's exit 0 or 6, and no rank failed (a partial failure has its own error), the run
// failed: status "failed", exit_code 6, error the engine's cause (engine_cli/outcome.hpp). An
// engine that exited 0 without a completed request fails the same way. Returns true when it did.
bool apply_nothing_measured_rule(const Json& engine_results, std::string& status, int& exit_code,
                                 std::string& error);

struct RunRecord {
  std::string status;  // success | failed | interrupted | error
  int exit_code = 0;   // what mlpstorage returns
  std::optional<int> child_exit_code;
  std::optional<int> child_signal;
  std::string error;  // message when status is error/failed
  double runtime_s = 0;
  std::string start_time;  // ISO-8601 local
  std::string end_time;
  std::optional<Json> system_info;
  std::optional<Json> metrics;       // kvcache_metrics
  std::optional<Json> rank_layout;   // multi-rank runs: ranks per host (distributed_results.hpp)
  std::optional<Json> rank_results;  // no merged results: the ranks' own files (same header)
  bool logs_written = false;         // command_output_files only when the child ran
};

Json build_run_metadata(const Invocation& inv, const RunPlan& plan, const Verification& v,
                        const RunRecord& rec);

// Metadata of `kvcache datasize` when it is given an explicit --results-dir.
Json build_datasize_metadata(const Invocation& inv, const std::string& datetime,
                             const std::string& run_dir, const Json& estimate);

std::string iso_now();

}  // namespace kv::orchestrator
