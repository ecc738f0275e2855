// The engine's validated configuration: every command-line flag (flags.hpp declares them in one
// table with type, default, limits and help) plus the --config YAML settings (yaml_config.hpp).
// Plain data; field defaults here are placeholders — the flag table's defaults are applied by
// parse_flags(), so the table stays the one source of truth. Choice flags are enums
// (engine_cli/choices.hpp maps each text to its value; to_text(value) gives the text back).
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>

#include "core/log.hpp"
#include "engine_cli/choices.hpp"

namespace kv::engine {

using engine_cli::AutoscalerMode;
using engine_cli::from_text;
using engine_cli::GenerationMode;
using engine_cli::GpuBackend;
using engine_cli::IoEngine;
using engine_cli::PayloadMode;
using engine_cli::PerformanceProfile;
using engine_cli::SyncMode;
using engine_cli::to_text;

struct EngineConfig {
  // ---- reference flags ----
  log::Level log_level = log::Level::kInfo;
  std::string model;
  int num_users = 0;
  int duration = 0;
  double gpu_mem_gb = 0;
  int num_gpus = 0;
  int tensor_parallel = 0;
  double cpu_mem_gb = 0;
  std::string cache_dir;  // empty = None (temp dir)
  GenerationMode generation_mode = GenerationMode::kRealistic;
  PerformanceProfile performance_profile = PerformanceProfile::kLatency;
  bool disable_multi_turn = false;
  bool disable_prefix_caching = false;
  bool enable_rag = false;
  int rag_num_docs = 0;
  bool enable_autoscaling = false;
  AutoscalerMode autoscaler_mode = AutoscalerMode::kQos;
  double target_saturation = 0;
  bool use_burst_trace = false;
  std::string burst_trace_path;
  std::string validation_trace;
  std::string dataset_path;
  int max_conversations = 0;
  std::string output;  // empty = benchmark_results_<timestamp>.json
  std::optional<std::int64_t> seed;
  int max_concurrent_allocs = 0;
  double request_rate = 0;
  int max_requests = 0;
  std::string xlsx_output;
  std::string config_path;
  double storage_capacity_gb = 0;
  bool precondition = false;
  double precondition_size_gb = 0;
  int precondition_threads = 0;
  double trace_speedup = 0;
  int replay_cycles = 0;
  bool prefill_only = false;
  bool decode_only = false;
  std::string io_trace_log;
  std::string mooncake_trace;  // workload-modes issue #5
  bool io_trace_real = false;  // ours: --io-trace-log with real I/O (+ Latency_ms column)
  bool enable_latency_tracing = false;

  // ---- ours ----
  GpuBackend gpu_backend = GpuBackend::kAuto;
  double gpu_bandwidth_gbps = 0;
  bool keep_cache = false;
  bool quiet = false;
  double progress_interval = 10;  // s between progress records when stderr is not a terminal
  std::string html_report;        // --html-report PATH (run/html_report.hpp)
  IoEngine io_engine = IoEngine::kPosix;
  bool direct_io = false;
  int io_depth = 0;
  int io_chunk_mib = 0;
  SyncMode sync_mode = SyncMode::kFsync;
  PayloadMode payload = PayloadMode::kFull;  // --payload (docs/performance.md "Payload generator")
  int max_inflight_mib = 0;
  bool probe = false;
  bool probe_device = false;
  bool list_users = false;  // print the user population and exit (docs/metrics.md)
  // MPI multi-client runs (engine/mpi/distributed_run.hpp)
  bool per_rank_output = false;
  double rank_timeout = 0;  // seconds a rank waits for its peers at a synchronisation point

  // Flags given on the command line (canonical names, e.g. "--num-users").
  std::set<std::string> given;
  bool was_given(const std::string& flag) const { return given.count(flag) != 0; }
};

}  // namespace kv::engine
