#include "engine/summary.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>

#include "core/units.hpp"
#include "core/version.hpp"
#include "engine/metrics/latency.hpp"

namespace kv::engine {

using ojson = nlohmann::ordered_json;

namespace {
std::string rule(char c = '=') {
  return std::string(78, c) + "\n";
}
double num(const ojson& j, const char* k) {
  return j.contains(k) && j[k].is_number() ? j[k].get<double>() : 0.0;
}
std::string mib(double bytes) {
  return fmt::format("{:.1f} MiB", bytes / static_cast<double>(kMiB));
}
}  // namespace

std::string banner_text(const RunData& d, const std::vector<workload::UserProfile>& users) {
  const auto& c = d.config;
  std::string o;
  o += rule();
  o += fmt::format("MLPerf Storage KV-cache benchmark (kv-cache {}, C++ engine)\n", kVersion);
  o += rule();
  o += fmt::format("Model:            {} ({}), {} bytes/token\n", d.model.name, d.model.key,
                   d.model.bytes_per_token());
  if (d.gpu_tier && !d.gpu_devices.empty())  // cuda: the devices instead of a modelled bandwidth
    o += fmt::format("GPU:              {}x {} GiB ({}: {}), TP={}\n", c.num_gpus, c.gpu_mem_gb,
                     d.gpu_backend, fmt::join(d.gpu_devices, ", "), c.tensor_parallel);
  else if (d.gpu_tier)
    o += fmt::format("GPU:              {}x {} GiB ({}; {} GB/s), TP={}\n", c.num_gpus,
                     c.gpu_mem_gb, d.gpu_backend, c.gpu_bandwidth_gbps, c.tensor_parallel);
  else
    o += fmt::format("GPU:              none (--gpu-backend {}), TP={}\n", to_text(c.gpu_backend),
                     c.tensor_parallel);
  o += fmt::format("CPU tier:         {}\n",
                   d.cpu_tier ? fmt::format("{} GiB", c.cpu_mem_gb) : std::string("disabled"));
  o += fmt::format("Storage tier:     {} ({}){}\n", d.cache_dir, d.io.backend,
                   d.storage_capacity_bytes ? fmt::format(", capacity {:.1f} GiB",
                                                          bytes_to_gib(d.storage_capacity_bytes))
                                            : std::string(", capacity unlimited"));
  o += fmt::format("Users:            {} ({} workers)\n", c.num_users, d.workers);
  o += fmt::format(
      "Duration:         {} s{}\n", c.duration,
      c.max_requests > 0 ? fmt::format(" or {} requests", c.max_requests) : std::string());
  o += fmt::format("Seed:             {}\n",
                   c.seed ? std::to_string(*c.seed) : std::string("none (random workload)"));
  o += fmt::format("Generation mode:  {}\n", to_text(c.generation_mode));
  o += fmt::format("Features:         multi-turn {}, prefix caching {}{}{}\n",
                   c.disable_multi_turn ? "off" : "on", c.disable_prefix_caching ? "off" : "on",
                   c.prefill_only ? ", prefill-only" : "", c.decode_only ? ", decode-only" : "");
  o += fmt::format("Allocation limit: {}\n",
                   c.max_concurrent_allocs > 0
                       ? fmt::format("{} concurrent allocations", c.max_concurrent_allocs)
                       : std::string("unlimited"));
  o += fmt::format(
      "I/O:              {} engine, {}, sync {}, {} MiB chunks, depth {}, in-flight budget {} "
      "MiB\n",
      to_text(d.io.engine), d.io.direct_io ? "O_DIRECT" : "buffered", to_text(d.io.sync_mode),
      d.io.chunk_bytes / kMiB, d.io.io_depth, d.io.max_inflight_bytes / kMiB);
  for (const auto& f : d.io.fallbacks) o += fmt::format("  fallback: {}\n", f);

  if (!users.empty()) {
    std::uint32_t lo = users[0].context_length, hi = lo;
    double sum = 0;
    std::array<int, 3> qos{};
    for (const auto& u : users) {
      lo = std::min(lo, u.context_length);
      hi = std::max(hi, u.context_length);
      sum += u.context_length;
      ++qos[static_cast<std::size_t>(u.qos)];
    }
    const double mean = sum / static_cast<double>(users.size());
    const double bpt =
        static_cast<double>(d.model.bytes_per_token()) / std::max(1, c.tensor_parallel);
    o += rule('-');
    o += "User context distribution (per-user maximum; each request draws [max/4, max]):\n";
    o += fmt::format(
        "  min {} tokens ({}), max {} tokens ({}), mean {:.0f} tokens ({}) per TP rank\n", lo,
        mib(lo * bpt), hi, mib(hi * bpt), mean, mib(mean * bpt));
    o += fmt::format("QoS distribution: interactive {}, responsive {}, batch {}\n", qos[0], qos[1],
                     qos[2]);
  }
  o += rule('-');
  o += fmt::format(
      "Memory: I/O buffers bounded by {} MiB in flight{}\n", d.io.max_inflight_bytes / kMiB,
      d.cpu_tier ? fmt::format(", CPU tier up to {} GiB", c.cpu_mem_gb) : std::string());
  return o;
}

std::string results_text(const ojson& j, const RunData& d) {
  const auto& s = j["summary"];
  const auto& cs = s["cache_stats"];
  const auto& c = d.config;
  std::string o;
  o += "\n" + rule();
  o += fmt::format("BENCHMARK RESULTS{}\n", d.interrupted ? " (INTERRUPTED)" : "");
  o += rule();
  // Block-size context.
  o += fmt::format(
      "Bytes per token: {} ({} per TP rank)\n", d.model.bytes_per_token(),
      d.model.bytes_per_token() / static_cast<std::uint64_t>(std::max(1, c.tensor_parallel)));
  if (!d.prefill_bytes.empty()) {
    std::vector<double> sizes(d.prefill_bytes.begin(), d.prefill_bytes.end());
    std::sort(sizes.begin(), sizes.end());
    double sum = 0;
    for (double v : sizes) sum += v;
    o += fmt::format("Entries written: {} (min {}, mean {}, P95 {}, max {})\n", sizes.size(),
                     mib(sizes.front()), mib(sum / static_cast<double>(sizes.size())),
                     mib(metrics::percentile_type7(sizes, 95)), mib(sizes.back()));
  }
  o += "\n### OVERALL ###\n";
  o += fmt::format(
      "  Requests completed:      {}  (failed {}, in flight at stop {}, queued at stop {})\n",
      s["total_requests"].get<std::uint64_t>(), s["failed_requests"].get<std::uint64_t>(),
      s["interrupted_requests"].get<std::uint64_t>(),
      s["dropped_queued_requests"].get<std::uint64_t>());
  o += fmt::format("  Tokens generated:        {}\n", s["total_tokens"].get<std::uint64_t>());
  o += fmt::format("  Elapsed:                 {:.2f} s\n", num(s, "elapsed_time"));
  o += fmt::format("  Wall-clock throughput:   {:.2f} tok/s\n",
                   num(s, "avg_throughput_tokens_per_sec"));
  o += fmt::format(
      "  Storage throughput:      {:.2f} tok/s  (tokens / sum of per-request storage time)\n",
      num(s, "storage_throughput_tokens_per_sec"));
  o += fmt::format("  Requests/sec:            {:.2f}\n", num(s, "requests_per_second"));
  auto lat = [&](const char* title, const ojson& b) {
    o += fmt::format("  {:<24} mean {:.1f}  P50 {:.1f}  P95 {:.1f}  P99 {:.1f} ms\n", title,
                     num(b, "mean"), num(b, "p50"), num(b, "p95"), num(b, "p99"));
  };
  lat("End-to-end latency:", s["end_to_end_latency_ms"]);
  lat("Storage I/O / request:", s["storage_io_latency_ms"]);
  if (c.generation_mode != GenerationMode::kNone)
    lat("Generation latency:", s["generation_latency_ms"]);
  lat("Queue wait (ours):", s["queue_wait_ms"]);
  lat("TTFT proxy (ours):", s["ttft_proxy_ms"]);

  o += "\n### STORAGE ###\n";
  const double rgb = num(cs, "total_read_gb"), wgb = num(cs, "total_write_gb");
  std::string rw = wgb == 0 ? (rgb > 0 ? "inf" : "0") : fmt::format("{:.2f}", rgb / wgb);
  if (rgb == 0 && wgb > 0) rw = "0";
  o += fmt::format("  Cache hit rate:          {:.1f} %\n", num(cs, "cache_hit_rate") * 100);
  o += fmt::format("  Read / written:          {:.2f} GiB / {:.2f} GiB (R/W {})\n", rgb, wgb, rw);
  o += fmt::format("  Read / write ops/s:      {:.1f} / {:.1f}  (per configured duration)\n",
                   num(cs, "read_iops") / c.duration, num(cs, "write_iops") / c.duration);
  o += fmt::format("  Failed reads / writes:   {} / {}\n", cs["failed_reads"].get<std::uint64_t>(),
                   cs["failed_writes"].get<std::uint64_t>());
  o += fmt::format("  Entries:                 GPU {}, CPU {}, storage {}\n",
                   cs["gpu_entries"].get<std::uint64_t>(), cs["cpu_entries"].get<std::uint64_t>(),
                   cs["storage_entries"].get<std::uint64_t>());
  const char* tiers[3] = {"gpu", "cpu", "storage"};
  const char* titles[3] = {"GPU", "CPU", "Storage"};
  o += "  Tier KV bytes (GiB)      written / read:\n";
  for (int t = 0; t < 3; ++t)
    o += fmt::format("    {:<8} {:>10.2f} / {:.2f}\n", titles[t],
                     num(cs, fmt::format("tier_{}_kv_bytes_written_gb", tiers[t]).c_str()),
                     num(cs, fmt::format("tier_{}_kv_bytes_read_gb", tiers[t]).c_str()));
  o += "  Tier bandwidth (GiB/s)   read / write:\n";
  for (int t = 0; t < 3; ++t)
    o += fmt::format("    {:<8} {:>10.3f} / {:.3f}\n", titles[t],
                     num(cs, fmt::format("tier_{}_read_bandwidth_gbps", tiers[t]).c_str()),
                     num(cs, fmt::format("tier_{}_write_bandwidth_gbps", tiers[t]).c_str()));
  o += "  Tier P95 latency (ms)    read / write:\n";
  for (int t = 0; t < 3; ++t) {
    const std::string rk = fmt::format("{}_read_p95_ms", tiers[t]),
                      wk = fmt::format("{}_write_p95_ms", tiers[t]);
    if (!cs.contains(rk) && !cs.contains(wk)) continue;
    o += fmt::format("    {:<8} {:>10.1f} / {:.1f}\n", titles[t], num(cs, rk.c_str()),
                     num(cs, wk.c_str()));
  }
  if (cs.contains("storage_read_device_p95_ms") || cs.contains("storage_write_device_p95_ms")) {
    o += "  Storage P95 (ms)         device / host / total:\n";
    o += fmt::format("    read     {:>10.1f} / {:.1f} / {:.1f}\n",
                     num(cs, "storage_read_device_p95_ms"), num(cs, "storage_read_host_p95_ms"),
                     num(cs, "storage_read_p95_ms"));
    o += fmt::format("    write    {:>10.1f} / {:.1f} / {:.1f}\n",
                     num(cs, "storage_write_device_p95_ms"), num(cs, "storage_write_host_p95_ms"),
                     num(cs, "storage_write_p95_ms"));
  }
  o += fmt::format("  Evictions / demotions:   {} / {} ({:.2f} GiB demoted)\n",
                   cs["evictions"].get<std::uint64_t>(), cs["demotions"].get<std::uint64_t>(),
                   bytes_to_gib(cs["demoted_bytes"].get<std::uint64_t>()));

  o += "\n### CACHE TYPES ###\n";
  o += fmt::format(
      "  Hits: system prompt {}, common phrase {}, user {}, multi-turn {}\n",
      cs["system_prompt_hits"].get<std::uint64_t>(), cs["common_phrase_hits"].get<std::uint64_t>(),
      cs["user_cache_hits"].get<std::uint64_t>(), cs["multi_turn_hits"].get<std::uint64_t>());
  const auto& p = s["prefix_cache_stats"];
  if (p.empty()) o += "  Prefix: disabled (--disable-prefix-caching)\n";
  if (!p.empty()) o += fmt::format("  Prefix: detected {}, not detected {}, stored {}, bytes saved {:.2f} GiB\n",
                   p["prefix_hits"].get<std::uint64_t>(), p["prefix_misses"].get<std::uint64_t>(),
                   p["prefix_stores"].get<std::uint64_t>(),
                   bytes_to_gib(p["bytes_saved"].get<std::uint64_t>()));
  const auto& mt = s["multi_turn_stats"];
  o += fmt::format("  Multi-turn: hits {}, misses {}, hit rate {:.1f} %\n",
                   mt["cache_hits"].get<std::uint64_t>(), mt["cache_misses"].get<std::uint64_t>(),
                   num(mt, "hit_rate") * 100);

  if (c.performance_profile == PerformanceProfile::kLatency) {
    o += "\n### QOS (end-to-end latency vs P95 target) ###\n";
    for (const auto& [name, q] : s["qos_metrics"].items()) {
      if (q.contains("no_data")) {
        o += fmt::format("  {:<12} no data\n", name);
        continue;
      }
      o += fmt::format(
          "  {:<12} {:>6} req  P95 {:.1f} ms (target {:.0f})  compliance {:.1f} %  {}\n", name,
          q["total_requests"].get<std::uint64_t>(), num(q["sla"], "actual_p95_ms"),
          num(q["sla"], "target_p95_ms"), num(q["sla"], "compliance") * 100,
          q["sla"]["met"].get<bool>() ? "met" : "not met");
    }
  }
  o += "\n### AUTOSCALING ###\n";
  if (const auto& as = s["autoscaling_summary"]; as.is_object())  // details: workload-mode section
    o += fmt::format("  {} mode: users {} -> {}, {} scale events (producers started/stopped)\n",
                     as.value("mode", ""), num(as, "initial_users"), num(as, "final_users"),
                     num(as, "total_scale_events"));
  else
    o += "  disabled\n";
  const auto& r = j["resources"];
  o += "\n### CLIENT RESOURCES (ours) ###\n";
  o += fmt::format(
      "  CPU {:.1f} s ({:.0f} % of one core), peak RSS {}, {} CPU s per GiB moved\n",
      num(r, "cpu_seconds"), num(r, "cpu_utilization") * 100, mib(num(r, "peak_rss_bytes")),
      r["cpu_seconds_per_gib"].is_null() ? std::string("n/a")
                                         : fmt::format("{:.3f}", num(r, "cpu_seconds_per_gib")));
  o += "\nNotes:\n";
  o += "  * GB = GiB. Bandwidths = tier bytes / elapsed time. read/write_iops in the JSON are op "
       "counts.\n";
  o += "  * Failed operations are not counted as completed requests or tokens (the reference "
       "counts them).\n";
  if (d.interrupted)
    o += "  * The run was interrupted (SIGINT/SIGTERM): results cover the time until the signal.\n";
  o += rule();
  return o;
}

}  // namespace kv::engine
