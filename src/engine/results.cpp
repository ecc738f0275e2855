#include "engine/results.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/units.hpp"
#include "core/version.hpp"
#include "engine/metrics/latency.hpp"
#include "engine/report/health.hpp"
#include "engine/report/latency_blocks.hpp"
#include "engine/workload/request.hpp"

namespace kv::engine {

using ojson = nlohmann::ordered_json;

namespace {

constexpr const char* kTierNames[3] = {"gpu", "cpu", "storage"};
using report::kPercentiles;

std::vector<double> sorted(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v;
}
double mean(const std::vector<double>& v) {
  return v.empty() ? 0.0 : std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}
double sum(const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0); }
double gib(std::uint64_t b) { return bytes_to_gib(b); }
double ratio(double a, double b) { return b > 0 ? a / b : 0.0; }

// "<prefix>_p50_ms" ... only when samples exist (as the reference).
void add_percentiles(ojson& o, const std::string& prefix, const std::vector<double>& seconds) {
  if (seconds.empty()) return;
  const auto s = sorted(seconds);
  for (const auto& p : kPercentiles)
    o[report::percentile_key(prefix, p)] = metrics::percentile_type7(s, p.p) * 1e3;
}

double p95_ms(const std::vector<double>& seconds) {
  return seconds.empty() ? 0.0 : metrics::percentile_type7(sorted(seconds), 95) * 1e3;
}

ojson histogram_json(const std::vector<double>& seconds) {
  metrics::Histogram h;
  for (double s : seconds) h.add(s);
  return h.to_json();
}

// The health rules (report/health.hpp) over this rank's window: its storage volume and bandwidth,
// P95s of its samples (device time when measured, else the tier's).
ojson storage_health(const RunData& d) {
  const auto st = static_cast<std::size_t>(tier::TierId::kStorage);
  const auto cpu = static_cast<std::size_t>(tier::TierId::kCpu);
  auto device_or_tier_p95 =
      [](const std::vector<double>& device,
         const std::vector<double>& tier) -> std::optional<report::StorageP95> {
    if (device.empty() && tier.empty()) return std::nullopt;
    return report::StorageP95{p95_ms(!device.empty() ? device : tier), !device.empty()};
  };
  report::HealthInputs in;
  in.profile = d.config.performance_profile;
  in.storage_read_gib = gib(d.stats.tiers[st].bytes_read);
  in.storage_write_gib = gib(d.stats.tiers[st].bytes_written);
  in.storage_read_gibps = ratio(in.storage_read_gib, d.elapsed_s);
  in.storage_write_gibps = ratio(in.storage_write_gib, d.elapsed_s);
  in.storage_write_p95 = device_or_tier_p95(d.storage_write_device_s, d.tier_write_s[st]);
  in.storage_read_p95 = device_or_tier_p95(d.storage_read_device_s, d.tier_read_s[st]);
  if (!d.tier_read_s[cpu].empty() || !d.tier_write_s[cpu].empty()) {
    std::vector<double> both = d.tier_read_s[cpu];
    both.insert(both.end(), d.tier_write_s[cpu].begin(), d.tier_write_s[cpu].end());
    in.cpu_p95_ms = p95_ms(both);
  }
  in.cache_hits = static_cast<double>(d.stats.cache_hits);
  in.cache_misses = static_cast<double>(d.stats.cache_misses);
  return report::storage_health(
      in, "informational only (not used by MLPerf v3.0); the reference no longer prints it");
}

ojson qos_metrics(const RunData& d) {
  ojson q;
  for (int i = 0; i < workload::kNumQos; ++i) {
    const auto& samples = d.qos_e2e_s[static_cast<std::size_t>(i)];
    const auto& cls = d.yaml.qos[static_cast<std::size_t>(i)];
    const char* name = workload::qos_name(static_cast<workload::QosLevel>(i));
    if (samples.empty()) {
      q[name] = ojson{{"no_data", true}};
      continue;
    }
    const auto s = sorted(samples);
    ojson c;
    c["total_requests"] = samples.size();
    c["latency_ms"] = ojson{{"mean", mean(samples) * 1e3},
                            {"p50", metrics::percentile_type7(s, 50) * 1e3},
                            {"p95", metrics::percentile_type7(s, 95) * 1e3},
                            {"p99", metrics::percentile_type7(s, 99) * 1e3},
                            {"max", s.back() * 1e3}};
    std::size_t violations = 0;
    for (double v : samples) violations += (v * 1e3 > cls.target_p95_ms) ? 1 : 0;
    const double compliance = 1.0 - static_cast<double>(violations) / static_cast<double>(samples.size());
    c["sla"] =
        report::qos_sla(cls.target_p95_ms, metrics::percentile_type7(s, 95) * 1e3, compliance);
    q[name] = std::move(c);
  }
  return q;
}

ojson cache_stats(const RunData& d) {
  const auto& s = d.stats;
  const auto& e = d.end_stats;
  ojson c;
  const std::uint64_t accesses = s.cache_hits + s.cache_misses;
  c["cache_hit_rate"] = accesses ? static_cast<double>(s.cache_hits) / static_cast<double>(accesses) : 0.0;
  c["cache_hits"] = s.cache_hits;
  c["cache_misses"] = s.cache_misses;
  c["gpu_entries"] = e.tiers[0].entries;
  c["cpu_entries"] = e.tiers[1].entries;
  c["storage_entries"] = e.tiers[2].entries;
  c["gpu_memory_used_gb"] = gib(e.tiers[0].usage_bytes);
  c["cpu_memory_used_gb"] = gib(e.tiers[1].usage_bytes);
  c["offloads_cpu"] = s.tiers[1].offloads;
  c["offloads_storage"] = s.tiers[2].offloads;
  c["storage_health"] = storage_health(d);
  c["prefill_writes"] = s.prefill_writes;
  c["decode_reads"] = s.decode_reads;
  for (int t = 0; t < 3; ++t) {
    c[std::string("tier_") + kTierNames[t] + "_kv_bytes_written_gb"] = gib(s.tiers[static_cast<std::size_t>(t)].bytes_written);
    c[std::string("tier_") + kTierNames[t] + "_kv_bytes_read_gb"] = gib(s.tiers[static_cast<std::size_t>(t)].bytes_read);
  }
  for (int t = 0; t < 3; ++t) {
    const auto& tc = s.tiers[static_cast<std::size_t>(t)];
    c[std::string("tier_") + kTierNames[t] + "_read_bandwidth_gbps"] = ratio(gib(tc.bytes_read), d.elapsed_s);
    c[std::string("tier_") + kTierNames[t] + "_write_bandwidth_gbps"] = ratio(gib(tc.bytes_written), d.elapsed_s);
  }
  c["system_prompt_hits"] = s.system_prompt_hits;
  c["common_phrase_hits"] = s.common_phrase_hits;
  c["user_cache_hits"] = s.user_cache_hits;
  c["multi_turn_hits"] = s.multi_turn_hits;
  c["total_read_bytes"] = s.total_read_bytes;
  c["total_write_bytes"] = s.total_write_bytes;
  c["total_read_gb"] = gib(s.total_read_bytes);
  c["total_write_gb"] = gib(s.total_write_bytes);
  c["read_write_ratio"] = static_cast<double>(s.total_read_bytes) /
                          static_cast<double>(std::max<std::uint64_t>(s.total_write_bytes, 1));
  c["read_iops"] = s.read_operations;
  c["write_iops"] = s.write_operations;
  c["storage_tokens_processed"] = s.storage_tokens_processed;
  for (int t = 0; t < 3; ++t) {
    add_percentiles(c, std::string(kTierNames[t]) + "_read", d.tier_read_s[static_cast<std::size_t>(t)]);
    add_percentiles(c, std::string(kTierNames[t]) + "_write", d.tier_write_s[static_cast<std::size_t>(t)]);
  }
  add_percentiles(c, "storage_read_device", d.storage_read_device_s);
  add_percentiles(c, "storage_read_host", d.storage_read_host_s);
  add_percentiles(c, "storage_write_device", d.storage_write_device_s);
  add_percentiles(c, "storage_write_host", d.storage_write_host_s);
  // ---- ours ----
  c["failed_reads"] = s.failed_reads;
  c["failed_writes"] = s.failed_writes;
  c["failed_demotions"] = s.failed_demotions;
  c["forced_storage_admissions"] = s.forced_storage_admissions;
  c["storage_admission_waits"] = s.storage_admission_waits;
  c["skipped_demotions"] = s.skipped_demotions;
  c["evictions"] = s.evictions;
  c["demotions"] = s.demotions;
  c["demoted_bytes"] = s.demoted_bytes;
  for (int t = 0; t < 3; ++t) {
    const auto& tc = s.tiers[static_cast<std::size_t>(t)];
    const std::string n = kTierNames[t];
    c[n + "_demotions_out"] = tc.demotions_out;
    c[n + "_demoted_bytes_out"] = tc.demoted_bytes_out;
    c[n + "_evictions"] = tc.evictions;
    c[n + "_evicted_bytes"] = tc.evicted_bytes;
  }
  c["storage_used_gb"] = gib(e.tiers[2].usage_bytes);
  add_percentiles(c, "demotion", d.demotion_s);
  return c;
}

}  // namespace

ojson latency_block_ms(const std::vector<double>& seconds) {
  ojson o;
  if (seconds.empty()) {  // never measured: null, not 0 (docs/metrics.md)
    o["mean"] = nullptr;
    for (const auto& p : kPercentiles) o[p.name] = nullptr;
    return o;
  }
  const auto s = sorted(seconds);
  o["mean"] = mean(seconds) * 1e3;
  for (const auto& p : kPercentiles) o[p.name] = metrics::percentile_type7(s, p.p) * 1e3;
  return o;
}

ojson chunk_latency_ms(const metrics::Histogram& h) {
  if (h.count() == 0)
    return ojson{{"count", 0},     {"mean", nullptr}, {"p50", nullptr},   {"p95", nullptr},
                 {"p99", nullptr}, {"p999", nullptr}, {"p9999", nullptr}, {"max", nullptr}};
  const metrics::PercentileSet p = metrics::summary_ms(h);
  return ojson{{"count", p.count}, {"mean", p.mean}, {"p50", p.p50},     {"p95", p.p95},
               {"p99", p.p99},     {"p999", p.p999}, {"p9999", p.p9999}, {"max", p.max}};
}

ojson build_results(const RunData& d) {
  ojson j;
  const double storage_total = sum(d.storage_s);
  const double generation_total = sum(d.generation_s);
  j["requests_completed"] = d.requests_completed;
  j["total_tokens_generated"] = d.total_tokens;
  j["total_storage_io_latency"] = storage_total;
  j["total_generation_latency"] = generation_total;
  j["end_to_end_latencies"] = d.e2e_s;
  j["storage_latencies"] = d.storage_s;
  j["generation_latencies"] = d.generation_s;
  j["prefill_latencies"] = d.prefill_s;
  j["decode_latencies"] = d.decode_s;
  j["throughput_timeline"] = ojson::array();
  j["multi_turn_cache_hits"] = d.multi_turn_hits;
  j["multi_turn_cache_misses"] = d.multi_turn_misses;
  j["seed"] = d.config.seed ? ojson(*d.config.seed) : ojson(nullptr);

  ojson s;
  s["total_requests"] = d.requests_completed;
  s["total_tokens"] = d.total_tokens;
  s["elapsed_time"] = d.elapsed_s;
  s["avg_throughput_tokens_per_sec"] = ratio(static_cast<double>(d.total_tokens), d.elapsed_s);
  s["total_storage_io_time"] = storage_total;
  s["storage_throughput_tokens_per_sec"] = ratio(static_cast<double>(d.total_tokens), storage_total);
  s["requests_per_second"] = ratio(static_cast<double>(d.requests_completed), d.elapsed_s);
  s["end_to_end_latency_ms"] = latency_block_ms(d.e2e_s);
  s["storage_io_latency_ms"] = latency_block_ms(d.storage_s);
  s["generation_latency_ms"] = latency_block_ms(d.generation_s);
  s["cache_stats"] = cache_stats(d);
  s["qos_metrics"] = qos_metrics(d);
  // {} with --disable-prefix-caching, as the reference (it has no prefix cache manager then).
  s["prefix_cache_stats"] = d.config.disable_prefix_caching ? ojson::object() : ojson{{"prefix_hits", d.prefix.prefix_hits},
                                  {"prefix_misses", d.prefix.prefix_misses},
                                  {"system_prompt_reuse", d.prefix.system_prompt_reuse},
                                  {"common_phrase_reuse", d.prefix.common_phrase_reuse},
                                  {"bytes_saved", d.prefix.bytes_saved},
                                  {"prefix_stores", d.prefix.stores},
                                  {"prefix_reads", d.prefix.reads},
                                  {"prefix_read_misses", d.prefix.read_misses}};
  s["autoscaling_stats"] = ojson::array();
  s["autoscaling_summary"] = nullptr;
  const std::uint64_t mt = d.multi_turn_hits + d.multi_turn_misses;
  s["multi_turn_stats"] = ojson{{"cache_hits", d.multi_turn_hits},
                                {"cache_misses", d.multi_turn_misses},
                                {"hit_rate", static_cast<double>(d.multi_turn_hits) /
                                                 static_cast<double>(std::max<std::uint64_t>(mt, 1))}};
  // ---- ours ----
  s["failed_requests"] = d.failed_requests;
  s["interrupted_requests"] = d.interrupted_requests;
  s["dropped_queued_requests"] = d.dropped_queued;
  s["queue_wait_ms"] = latency_block_ms(d.queue_wait_s);
  s["ttft_proxy_ms"] = latency_block_ms(d.ttft_s);
  s["prefill_latency_ms"] = latency_block_ms(d.prefill_s);
  s["decode_latency_ms"] = latency_block_ms(d.decode_s);
  for (const auto& [k, v] : d.mode_summary.items()) s[k] = v;
  j["summary"] = std::move(s);

  // ---- ours, top level ----
  j["engine_version"] = kVersion;
  j["interrupted"] = d.interrupted;
  j["stop_reason"] = to_text(d.stop_reason);
  j["workers_abandoned_at_stop"] = d.workers_abandoned;

  const auto& c = d.config;
  ojson cfg;
  cfg["model"] = d.model.key;
  cfg["model_name"] = d.model.name;
  cfg["bytes_per_token"] = d.model.bytes_per_token();
  cfg["num_users"] = c.num_users;
  cfg["duration"] = c.duration;
  cfg["gpu_mem_gb"] = c.gpu_mem_gb;
  cfg["num_gpus"] = c.num_gpus;
  cfg["tensor_parallel"] = c.tensor_parallel;
  cfg["cpu_mem_gb"] = c.cpu_mem_gb;
  cfg["generation_mode"] = to_text(c.generation_mode);
  cfg["performance_profile"] = to_text(c.performance_profile);
  cfg["multi_turn"] = !c.disable_multi_turn;
  cfg["prefix_caching"] = !c.disable_prefix_caching;
  cfg["max_concurrent_allocs"] = c.max_concurrent_allocs;
  cfg["max_requests"] = c.max_requests;
  cfg["storage_capacity_gb"] = c.storage_capacity_gb;
  cfg["prefill_only"] = c.prefill_only;
  cfg["decode_only"] = c.decode_only;
  cfg["config_file"] = c.config_path.empty() ? ojson(nullptr) : ojson(c.config_path);
  cfg["config_keys"] = d.yaml.keys_given;
  cfg["gpu_backend"] = d.gpu_backend;
  cfg["gpu_backend_note"] = d.gpu_note.empty() ? ojson(nullptr) : ojson(d.gpu_note);
  cfg["gpu_devices"] = d.gpu_devices;
  cfg["gpu_tier"] = d.gpu_tier;
  cfg["cpu_tier"] = d.cpu_tier;
  cfg["gpu_bandwidth_gbps"] = c.gpu_bandwidth_gbps;
  cfg["workload_seed"] = d.workload_seed;
  cfg["payload_seed"] = d.payload_seed;
  cfg["workers"] = d.workers;
  j["config"] = std::move(cfg);

  ojson io;
  io["engine"] = to_text(d.io.engine);
  io["backend"] = d.io.backend;
  io["direct_io"] = d.io.direct_io;
  io["sync_mode"] = to_text(d.io.sync_mode);
  io["payload"] = to_text(d.io.payload);
  io["chunk_bytes"] = d.io.chunk_bytes;
  io["io_depth"] = d.io.io_depth;
  io["max_inflight_bytes"] = d.io.max_inflight_bytes;
  io["peak_inflight_bytes"] = d.io.peak_inflight_bytes;
  io["fallbacks"] = d.io.fallbacks;
  io["chunk_latency_ms"] = ojson{{"read", chunk_latency_ms(d.io.chunk_read)},
                                 {"write", chunk_latency_ms(d.io.chunk_write)}};
  io["window_chunk_bytes"] =
      ojson{{"read", d.io.window_chunk_bytes_read}, {"write", d.io.window_chunk_bytes_written}};
  j["io"] = std::move(io);
  if (d.device_probe) {
    ojson probe = *d.device_probe;
    const auto st = static_cast<std::size_t>(tier::TierId::kStorage);
    const double rbw = ratio(gib(d.stats.tiers[st].bytes_read), d.elapsed_s);
    const double wbw = ratio(gib(d.stats.tiers[st].bytes_written), d.elapsed_s);
    const double pr = probe.value("read_gibps", 0.0), pw = probe.value("write_gibps", 0.0);
    probe["storage_read_pct_of_probe"] = pr > 0 ? ojson(rbw / pr * 100) : ojson(nullptr);
    probe["storage_write_pct_of_probe"] = pw > 0 ? ojson(wbw / pw * 100) : ojson(nullptr);
    j["device_probe"] = std::move(probe);
  }

  const double cpu_s = d.resources.user_cpu_s + d.resources.sys_cpu_s;
  const double moved_gib = gib(d.stats.total_read_bytes) + gib(d.stats.total_write_bytes);
  j["resources"] = ojson{{"cpu_seconds", cpu_s},
                         {"user_cpu_seconds", d.resources.user_cpu_s},
                         {"sys_cpu_seconds", d.resources.sys_cpu_s},
                         {"peak_rss_bytes", d.resources.peak_rss_bytes},
                         {"cpu_seconds_per_gib", moved_gib > 0 ? ojson(cpu_s / moved_gib) : ojson(nullptr)},
                         {"cpu_utilization", ratio(cpu_s, d.elapsed_s)}};

  j["workload"] = ojson{{"num_users", c.num_users},
                        {"users", d.user_population},
                        {"workers", d.workers},
                        {"requests_enqueued", d.enqueued},
                        {"queue_max_depth", d.queue_max_depth},
                        {"conversations_started", d.conversations_started},
                        {"failure_examples", d.failure_examples}};

  j["cache_dir"] = ojson{{"path", d.cache_dir},
                         {"temporary", d.cache_dir_temporary},
                         {"kept", d.cache_kept},
                         {"stale_files_removed_at_start", d.stale_files_removed},
                         {"foreign_npy_files_left_untouched", d.foreign_npy_files},
                         {"files_removed_at_end", d.files_removed_at_end},
                         {"storage_capacity_bytes", d.storage_capacity_bytes == 0
                                                        ? ojson(nullptr)
                                                        : ojson(d.storage_capacity_bytes)}};

  j["timeseries"] = d.timeseries;

  ojson h;
  h["unit"] = "seconds";
  h["end_to_end"] = histogram_json(d.e2e_s);
  h["storage_io"] = histogram_json(d.storage_s);
  h["queue_wait"] = histogram_json(d.queue_wait_s);
  h["ttft_proxy"] = histogram_json(d.ttft_s);
  for (int t = 0; t < 3; ++t) {
    if (!d.tier_read_s[static_cast<std::size_t>(t)].empty())
      h[std::string(kTierNames[t]) + "_read"] = histogram_json(d.tier_read_s[static_cast<std::size_t>(t)]);
    if (!d.tier_write_s[static_cast<std::size_t>(t)].empty())
      h[std::string(kTierNames[t]) + "_write"] = histogram_json(d.tier_write_s[static_cast<std::size_t>(t)]);
  }
  h["storage_read_device"] = histogram_json(d.storage_read_device_s);
  h["storage_write_device"] = histogram_json(d.storage_write_device_s);
  h["storage_read_host"] = histogram_json(d.storage_read_host_s);
  h["storage_write_host"] = histogram_json(d.storage_write_host_s);
  h["demotion"] = histogram_json(d.demotion_s);
  if (d.io.chunk_read.count() > 0) h["storage_read_chunk"] = ojson(d.io.chunk_read.to_json());
  if (d.io.chunk_write.count() > 0) h["storage_write_chunk"] = ojson(d.io.chunk_write.to_json());
  for (int i = 0; i < workload::kNumQos; ++i)  // per QoS class end-to-end, so ranks pool qos_metrics
    if (!d.qos_e2e_s[static_cast<std::size_t>(i)].empty())
      h[std::string("qos_") + workload::qos_name(static_cast<workload::QosLevel>(i))] =
          histogram_json(d.qos_e2e_s[static_cast<std::size_t>(i)]);
  j["latency_histograms"] = std::move(h);
  for (const auto& [k, v] : d.mode_results.items()) j[k] = v;
  return j;
}

}  // namespace kv::engine
