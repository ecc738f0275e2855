// The results JSON (docs/metrics.md) built from one run's data: every key of the reference
// with its meaning and unit (top-level raw per-request lists in seconds, summary.*,
// summary.cache_stats.* with percentiles only when samples exist, qos_metrics, prefix_cache_stats,
// multi_turn_stats, autoscaling_stats [] / autoscaling_summary null, storage_health), plus our
// additions under clearly named keys (docs/metrics.md marks each metric "reference" or "ours").
// Pure function of RunData, so tests build it without running the engine.
#pragma once

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "engine/cache/cache.hpp"
#include "engine/config/config.hpp"
#include "engine/config/yaml_config.hpp"
#include "engine/metrics/latency.hpp"
#include "engine/metrics/resources.hpp"
#include "engine/run_status.hpp"
#include "engine/workload/prefix.hpp"
#include "model/model.hpp"

namespace kv::engine {

struct IoInfo {
  IoEngine engine = IoEngine::kPosix;  // what ran (after fallbacks)
  std::string backend;           // backend name()
  bool direct_io = false;
  SyncMode sync_mode = SyncMode::kFsync;
  PayloadMode payload = PayloadMode::kFull;  // --payload
  std::uint64_t chunk_bytes = 0;
  unsigned io_depth = 0;
  std::uint64_t max_inflight_bytes = 0;
  std::uint64_t peak_inflight_bytes = 0;
  std::vector<std::string> fallbacks;
  metrics::Histogram chunk_read, chunk_write;  // per-chunk device latency (seconds)
  // Chunk bytes (incl. .npy headers, O_DIRECT padding) completed between window start and stop.
  std::uint64_t window_chunk_bytes_read = 0, window_chunk_bytes_written = 0;
};

struct RunData {
  EngineConfig config;
  YamlSettings yaml;
  model::ModelConfig model;
  std::uint64_t workload_seed = 0;
  std::uint64_t payload_seed = 0;

  double elapsed_s = 0;  // worker start → stop
  bool interrupted = false;
  StopReason stop_reason = StopReason::kDuration;
  std::uint32_t workers = 0;
  // Workers still inside an I/O operation after the drain and the cancel grace, left running
  // (run/window.cpp join_workers): their requests and cache entries are not counted, though an
  // object they were writing may be on disk (kept with --keep-cache).
  std::uint64_t workers_abandoned = 0;

  // Requests (only those completed before the stop instant count).
  std::uint64_t requests_completed = 0;
  std::uint64_t total_tokens = 0;
  std::uint64_t failed_requests = 0;       // an op failed: not completed, tokens not counted
  std::uint64_t interrupted_requests = 0;  // in flight at stop
  std::uint64_t dropped_queued = 0;        // still queued at stop
  std::uint64_t enqueued = 0;
  std::uint64_t queue_max_depth = 0;
  std::vector<std::string> failure_examples;  // first few failure messages

  // Per completed request, seconds, in completion order.
  std::vector<double> e2e_s, storage_s, generation_s, prefill_s, decode_s, queue_wait_s, ttft_s;
  std::array<std::vector<double>, 3> qos_e2e_s;  // interactive, responsive, batch
  std::vector<std::uint64_t> prefill_bytes;       // object bytes of each prefill write

  // Cache: traffic counters snapshotted at the stop instant; occupancy after workers finished.
  cache::CacheStats stats;
  cache::CacheStats end_stats;
  // Per-op latency samples (seconds), per TierId.
  std::array<std::vector<double>, 3> tier_read_s, tier_write_s;
  std::vector<double> storage_read_device_s, storage_read_host_s, storage_write_device_s, storage_write_host_s;
  std::vector<double> demotion_s;

  workload::PrefixStats prefix;
  std::uint64_t multi_turn_hits = 0, multi_turn_misses = 0;
  std::uint64_t conversations_started = 0;

  nlohmann::json timeseries = nlohmann::json::array();
  metrics::ResourceUsage resources;
  IoInfo io;
  std::optional<nlohmann::json> device_probe;

  // Storage directory.
  std::string cache_dir;
  bool cache_dir_temporary = false;
  bool cache_kept = false;
  std::uint64_t stale_files_removed = 0, foreign_npy_files = 0, files_removed_at_end = 0;
  std::uint64_t storage_capacity_bytes = 0;  // 0 = unlimited
  bool gpu_tier = false, cpu_tier = false;
  std::string gpu_backend;  // what ran: "none", "simulated", "cuda", "null" (--io-trace-log)
  std::string gpu_note;     // --gpu-backend auto without a usable device: why (else empty)
  std::vector<std::string> gpu_devices;  // cuda: "<ordinal>: <name> (<GiB> GiB)" per device used

  // Workload modes (engine/modes): members merged into the results' top level and into "summary"
  // last, so they may replace a default (throughput_timeline, autoscaling_stats/_summary).
  nlohmann::ordered_json mode_results = nlohmann::ordered_json::object();
  // The synthetic users the run started with (workload::users_json; [] in replay modes).
  nlohmann::ordered_json user_population = nlohmann::ordered_json::array();
  nlohmann::ordered_json mode_summary = nlohmann::ordered_json::object();
};

// Mean and type-7 percentiles in milliseconds of samples in seconds: {mean, p50, p95, p99, p999, p9999}.
nlohmann::ordered_json latency_block_ms(const std::vector<double>& seconds);

// io.chunk_latency_ms.{read,write}: {count, mean, p50, p95, p99, p999, p9999, max} in ms of a
// per-chunk histogram (also used by the MPI merge over the pooled histograms); every value but the
// count null without samples.
nlohmann::ordered_json chunk_latency_ms(const metrics::Histogram& h);

nlohmann::ordered_json build_results(const RunData& d);

}  // namespace kv::engine
