#include "engine/summary.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>

#include "core/units.hpp"
#include "core/version.hpp"
#include "engine/metrics/latency.hpp"
#include "engine/summary_format.hpp"
#include "engine_cli/outcome.hpp"

namespace kv::engine {

using ojson = nlohmann::ordered_json;
using console::kUnmeasured;
using console::measured;
using console::millis;
using console::number;
using console::table_row;

namespace {

std::string rule(char c = '=') {
  return std::string(78, c) + "\n";
}
double num(const ojson& j, const char* k) {
  return measured(j, k).value_or(0.0);
}
std::uint64_t count(const ojson& j, const char* k) {
  return j.is_object() && j.contains(k) && j[k].is_number() ? j[k].get<std::uint64_t>() : 0;
}
std::string mib(double bytes) {
  return fmt::format("{:.1f}", bytes / static_cast<double>(kMiB));
}
const ojson& child(const ojson& j, const char* k) {
  static const ojson empty = ojson::object();
  return j.is_object() && j.contains(k) ? j[k] : empty;
}
// A share (0..1) as "12.3 %", or "—".
std::string percent(std::optional<double> share) {
  return share ? fmt::format("{:.1f} %", *share * 100) : std::string(kUnmeasured);
}
// "a / b" of two cells.
std::string pair(const std::string& a, const std::string& b) {
  return a + " / " + b;
}

constexpr std::size_t kLabel = 25;  // "  Requests completed:      "

std::string field(std::string_view label, const std::string& value) {
  return "  " + console::align_left(std::string(label), kLabel) + value + "\n";
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
  if (d.gpu_tier && !d.gpu_devices.empty()) {  // cuda: the devices instead of a modelled bandwidth
    o += fmt::format("GPU:              {}x {} GiB ({}), TP={}\n", c.num_gpus, c.gpu_mem_gb,
                     d.gpu_backend, c.tensor_parallel);
    for (std::size_t i = 0; i < d.gpu_devices.size(); ++i)  // one device a line
      o += console::wrap(d.gpu_devices[i], i == 0 ? "GPU devices:      " : "                  ",
                         "                    ");
  } else if (d.gpu_tier) {
    o += fmt::format("GPU:              {}x {} GiB ({}; {} GB/s), TP={}\n", c.num_gpus,
                     c.gpu_mem_gb, d.gpu_backend, c.gpu_bandwidth_gbps, c.tensor_parallel);
  } else {
    o += fmt::format("GPU:              none (--gpu-backend {}), TP={}\n", to_text(c.gpu_backend),
                     c.tensor_parallel);
  }
  o += fmt::format("CPU tier:         {}\n",
                   d.cpu_tier ? fmt::format("{} GiB", c.cpu_mem_gb) : std::string("disabled"));
  o += console::path_lines("Storage tier:     ", d.cache_dir, fmt::format(" ({})", d.io.backend),
                           fmt::format("Storage tier:     {}, in", d.io.backend));
  o += fmt::format("Storage capacity: {}\n",
                   d.storage_capacity_bytes
                       ? fmt::format("{:.1f} GiB", bytes_to_gib(d.storage_capacity_bytes))
                       : std::string("unlimited"));
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
  o += fmt::format("I/O:              {} engine, {}, sync {}, {} MiB chunks, depth {}\n",
                   to_text(d.io.engine), d.io.direct_io ? "O_DIRECT" : "buffered",
                   to_text(d.io.sync_mode), d.io.chunk_bytes / kMiB, d.io.io_depth);
  if (d.io.payload == PayloadMode::kStamped)
    o += "Payload:          stamped (8 MiB random base, a stamp per 4 KiB block)\n";
  for (const auto& f : d.io.fallbacks) o += console::wrap(f, "  fallback: ", "            ");

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
    o += "User context per TP rank (per-user maximum; a request draws [max/4, max]):\n";
    o += fmt::format("  tokens: min {}, mean {:.0f}, max {}\n", lo, mean, hi);
    o += fmt::format("  MiB:    min {}, mean {}, max {}\n", mib(lo * bpt), mib(mean * bpt),
                     mib(hi * bpt));
    o += fmt::format("QoS distribution: interactive {}, responsive {}, batch {}\n", qos[0], qos[1],
                     qos[2]);
  }
  o += rule('-');
  o += fmt::format(
      "Memory: I/O buffers bounded by {} MiB in flight{}\n", d.io.max_inflight_bytes / kMiB,
      d.cpu_tier ? fmt::format(", CPU tier up to {} GiB", c.cpu_mem_gb) : std::string());
  return o;
}

std::string running_line(const EngineConfig& c, unsigned workers, int ranks) {
  return console::wrap(
      fmt::format("Running for {} s with {} workers{}{}...", c.duration, workers,
                  ranks > 1 ? fmt::format(" on each of {} ranks", ranks) : std::string(),
                  c.max_requests > 0 ? " (or until --max-requests)" : ""),
      "", "  ");
}

std::optional<PerSecondSpread> per_second_spread(const ojson& timeseries,
                                                 std::string_view bytes_key, double elapsed_s) {
  if (!timeseries.is_array() || !(elapsed_s >= 1)) return std::nullopt;
  const auto whole = static_cast<std::size_t>(std::floor(elapsed_s));
  std::vector<double> per_s(whole, 0.0);  // a second without a row moved nothing
  for (const auto& row : timeseries) {
    const auto t = measured(row, "t");
    const auto b = measured(row, bytes_key);
    if (!t || *t < 0 || *t >= static_cast<double>(whole)) continue;
    per_s[static_cast<std::size_t>(*t)] += b.value_or(0.0) / static_cast<double>(kGiB);
  }
  std::sort(per_s.begin(), per_s.end());
  return PerSecondSpread{.min_gibps = per_s.front(),
                         .median_gibps = metrics::percentile_type7(per_s, 50),
                         .max_gibps = per_s.back(),
                         .seconds = whole};
}

namespace {

// Requests, throughput and the latency table.
std::string overall_text(const ojson& s, bool nothing_completed, const EngineConfig& c) {
  std::string o = "\n### OVERALL ###\n";
  o += field("Requests completed:", std::to_string(count(s, "total_requests")));
  o += field("Requests failed:", std::to_string(count(s, "failed_requests")));
  o += field("In flight / queued:",
             fmt::format("{} / {} at the stop", count(s, "interrupted_requests"),
                         count(s, "dropped_queued_requests")));
  o += field("Tokens generated:", std::to_string(count(s, "total_tokens")));
  o += field("Elapsed:", fmt::format("{:.2f} s", num(s, "elapsed_time")));
  o += field("Wall-clock throughput:",
             fmt::format("{:.2f} tok/s", num(s, "avg_throughput_tokens_per_sec")));
  // tokens / summed per-request storage time: undefined when no request completed.
  const bool no_storage_time = nothing_completed || num(s, "total_storage_io_time") <= 0;
  o += field("Storage throughput:", no_storage_time
                                        ? std::string(kUnmeasured)
                                        : fmt::format("{:.2f} tok/s (tokens / storage time)",
                                                      num(s, "storage_throughput_tokens_per_sec")));
  o += field("Requests/sec:", fmt::format("{:.2f}", num(s, "requests_per_second")));
  constexpr std::size_t kL = 22, kC = 11;
  o += "\n" + table_row("Latency (ms)", kL, {"mean", "P50", "P95", "P99"}, kC);
  auto lat = [&](const char* title, const char* key) {
    const ojson& b = child(s, key);
    o += table_row(title, kL,
                   {millis(measured(b, "mean")), millis(measured(b, "p50")),
                    millis(measured(b, "p95")), millis(measured(b, "p99"))},
                   kC);
  };
  lat("End-to-end", "end_to_end_latency_ms");
  lat("Storage I/O / request", "storage_io_latency_ms");
  if (c.generation_mode != GenerationMode::kNone) lat("Generation", "generation_latency_ms");
  lat("Queue wait (ours)", "queue_wait_ms");
  lat("TTFT proxy (ours)", "ttft_proxy_ms");
  return o;
}

// Tier bytes, bandwidth and P95 in one table; storage P95 split into device / host / total and
// the per-chunk P95; the per-second bandwidth spread and the share of the device probe.
std::string tiers_text(const ojson& j, const RunData& d) {
  const ojson& cs = child(child(j, "summary"), "cache_stats");
  constexpr std::size_t kL = 10, kC = 11;
  std::string o;
  o += table_row("Tier", kL, {"written", "read", "write", "read", "write P95", "read P95"}, kC);
  o += table_row("", kL, {"GiB", "GiB", "GiB/s", "GiB/s", "ms", "ms"}, kC);
  const std::array<std::pair<const char*, const char*>, 3> tiers = {
      {{"gpu", "GPU"}, {"cpu", "CPU"}, {"storage", "Storage"}}};
  const std::array<bool, 3> enabled = {d.gpu_tier, d.cpu_tier, true};
  for (std::size_t t = 0; t < tiers.size(); ++t) {
    const std::string k = tiers[t].first;
    if (!enabled[t] && !cs.contains(k + "_read_p95_ms") && !cs.contains(k + "_write_p95_ms") &&
        num(cs, ("tier_" + k + "_kv_bytes_written_gb").c_str()) == 0)
      continue;
    o += table_row(
        tiers[t].second, kL,
        {fmt::format("{:.2f}", num(cs, ("tier_" + k + "_kv_bytes_written_gb").c_str())),
         fmt::format("{:.2f}", num(cs, ("tier_" + k + "_kv_bytes_read_gb").c_str())),
         fmt::format("{:.3f}", num(cs, ("tier_" + k + "_write_bandwidth_gbps").c_str())),
         fmt::format("{:.3f}", num(cs, ("tier_" + k + "_read_bandwidth_gbps").c_str())),
         millis(measured(cs, k + "_write_p95_ms")), millis(measured(cs, k + "_read_p95_ms"))},
        kC);
  }
  const ojson& chunk = child(child(j, "io"), "chunk_latency_ms");
  o += "\n" + table_row("Storage P95 (ms)", 20, {"device", "host", "total", "per chunk"}, 12);
  for (const char* dir : {"read", "write"}) {
    const std::string p = std::string("storage_") + dir;
    o += table_row(
        std::string("  ") + dir, 20,
        {millis(measured(cs, p + "_device_p95_ms")), millis(measured(cs, p + "_host_p95_ms")),
         millis(measured(cs, p + "_p95_ms")), millis(measured(child(chunk, dir), "p95"))},
        12);
  }
  const double elapsed = num(child(j, "summary"), "elapsed_time");
  const auto rs = per_second_spread(child(j, "timeseries"), "storage_read_bytes", elapsed);
  const auto ws = per_second_spread(child(j, "timeseries"), "storage_write_bytes", elapsed);
  o += "\n" + table_row("Storage GiB/s", 20, {"window", "1 s min", "1 s median", "1 s max"}, 12);
  auto spread_row = [&](const char* dir, const std::optional<PerSecondSpread>& sp) {
    auto cell = [&](double PerSecondSpread::*m) {
      return sp ? fmt::format("{:.3f}", (*sp).*m) : std::string(kUnmeasured);
    };
    o += table_row(
        std::string("  ") + dir, 20,
        {fmt::format("{:.3f}",
                     num(cs, (std::string("tier_storage_") + dir + "_bandwidth_gbps").c_str())),
         cell(&PerSecondSpread::min_gibps), cell(&PerSecondSpread::median_gibps),
         cell(&PerSecondSpread::max_gibps)},
        12);
  };
  spread_row("read", rs);
  spread_row("write", ws);
  o += fmt::format("    (1 s: over the {} whole seconds of the window)\n", rs ? rs->seconds : 0);
  if (const ojson& probe = child(j, "device_probe"); !probe.empty()) {
    o += field("Device probe (--probe):", fmt::format("read {} GiB/s, write {} GiB/s",
                                                      number(measured(probe, "read_gibps"), 3),
                                                      number(measured(probe, "write_gibps"), 3)));
    o += field("Run / device probe:",
               fmt::format("read {} %, write {} %",
                           number(measured(probe, "storage_read_pct_of_probe"), 1),
                           number(measured(probe, "storage_write_pct_of_probe"), 1)));
  }
  return o;
}

std::string storage_text(const ojson& j, const RunData& d) {
  const ojson& cs = child(child(j, "summary"), "cache_stats");
  const auto& c = d.config;
  std::string o = "\n### STORAGE ###\n";
  const double rgb = num(cs, "total_read_gb"), wgb = num(cs, "total_write_gb");
  std::string rw = wgb == 0 ? (rgb > 0 ? "inf" : "0") : fmt::format("{:.2f}", rgb / wgb);
  if (rgb == 0 && wgb > 0) rw = "0";
  const bool accessed = count(cs, "cache_hits") + count(cs, "cache_misses") > 0;
  o += field("Cache hit rate:", accessed ? fmt::format("{:.1f} %", num(cs, "cache_hit_rate") * 100)
                                         : std::string(kUnmeasured));
  o += field("Read / written:", fmt::format("{:.2f} GiB / {:.2f} GiB (R/W {})", rgb, wgb, rw));
  o += field("Read / write ops/s:",
             fmt::format("{:.1f} / {:.1f} (per configured duration)",
                         num(cs, "read_iops") / c.duration, num(cs, "write_iops") / c.duration));
  o += field("Failed reads / writes:", pair(std::to_string(count(cs, "failed_reads")),
                                            std::to_string(count(cs, "failed_writes"))));
  o += field("Entries:", fmt::format("GPU {}, CPU {}, storage {}", count(cs, "gpu_entries"),
                                     count(cs, "cpu_entries"), count(cs, "storage_entries")));
  o += field("Evictions / demotions:",
             fmt::format("{} / {} ({:.2f} GiB demoted)", count(cs, "evictions"),
                         count(cs, "demotions"), bytes_to_gib(count(cs, "demoted_bytes"))));
  o += "\n" + tiers_text(j, d);
  return o;
}

std::string cache_types_text(const ojson& s) {
  const ojson& cs = child(s, "cache_stats");
  std::string o = "\n### CACHE TYPES ###\n";
  o += fmt::format("  Hits: system prompt {}, common phrase {}, user {}, multi-turn {}\n",
                   count(cs, "system_prompt_hits"), count(cs, "common_phrase_hits"),
                   count(cs, "user_cache_hits"), count(cs, "multi_turn_hits"));
  const ojson& p = child(s, "prefix_cache_stats");
  if (p.empty())
    o += "  Prefix: disabled (--disable-prefix-caching)\n";
  else
    o += fmt::format("  Prefix: detected {}, not detected {}, stored {}, {:.2f} GiB saved\n",
                     count(p, "prefix_hits"), count(p, "prefix_misses"), count(p, "prefix_stores"),
                     bytes_to_gib(count(p, "bytes_saved")));
  const ojson& mt = child(s, "multi_turn_stats");
  const bool turns = count(mt, "cache_hits") + count(mt, "cache_misses") > 0;
  o += fmt::format(
      "  Multi-turn: hits {}, misses {}, hit rate {}\n", count(mt, "cache_hits"),
      count(mt, "cache_misses"),
      turns ? fmt::format("{:.1f} %", num(mt, "hit_rate") * 100) : std::string(kUnmeasured));
  return o;
}

// The verdicts MLPerf v3.0 does not use, labelled so; none at all when nothing completed.
std::string verdicts_text(const ojson& s, bool nothing_completed, const EngineConfig& c) {
  std::string o = "\n### STORAGE HEALTH (informational, not used by MLPerf v3.0) ###\n";
  const ojson& h = child(child(s, "cache_stats"), "storage_health");
  if (nothing_completed || !h.is_object() || count(h, "total_count") == 0) {
    o += "  not assessed: nothing was measured\n";
  } else {
    o +=
        fmt::format("  {} of {} criteria met\n", count(h, "passed_count"), count(h, "total_count"));
    for (const auto& cr : child(h, "criteria")) {  // the name carries the threshold
      if (!cr.is_object() || cr.value("passed", true)) continue;
      const ojson& actual = child(cr, "actual");  // a number, or a string (throughput profile)
      const std::string value = actual.is_string()   ? actual.get<std::string>()
                                : actual.is_number() ? fmt::format("{:.4g}", actual.get<double>())
                                                     : std::string(kUnmeasured);
      o += console::wrap(
          fmt::format("{} (actual {} {})", cr.value("name", ""), value, cr.value("unit", "")),
          "  not met: ", "           ");
    }
  }
  if (c.performance_profile != PerformanceProfile::kLatency) return o;
  o += "\n### QOS (informational: end-to-end P95 vs target) ###\n";
  constexpr std::size_t kL = 12, kC = 11;
  o += table_row("Class", kL, {"requests", "P95 ms", "target ms", "in target", "SLA"}, kC + 1);
  for (const auto& [name, q] : child(s, "qos_metrics").items()) {
    if (!q.is_object() || q.contains("no_data")) {
      o += table_row(name, kL, {"0", kUnmeasured, kUnmeasured, kUnmeasured, kUnmeasured}, kC + 1);
      continue;
    }
    const ojson& sla = child(q, "sla");
    o += table_row(
        name, kL,
        {std::to_string(count(q, "total_requests")), millis(measured(sla, "actual_p95_ms")),
         number(measured(sla, "target_p95_ms"), 0), percent(measured(sla, "compliance")),
         sla.value("met", false) ? "met" : "not met"},
        kC + 1);
  }
  return o;
}

}  // namespace

std::string results_text(const ojson& j, const RunData& d) {
  const ojson& s = child(j, "summary");
  const auto& c = d.config;
  const bool nothing_completed = count(s, "total_requests") == 0;
  std::string o;
  o += "\n" + rule();
  o += fmt::format("BENCHMARK RESULTS{}\n", d.interrupted ? " (INTERRUPTED)" : "");
  o += rule();
  if (const auto why = engine_cli::nothing_measured(j))  // the same text as the exit-6 ERROR line
    o += console::wrap(fmt::format("{}. Nothing was measured: latencies print \"{}\" here and null "
                                   "in the results JSON; this run is not a benchmark result.",
                                   *why, kUnmeasured),
                       "WARNING: ", "         ");
  o += fmt::format(
      "Bytes per token:  {} ({} per TP rank)\n", d.model.bytes_per_token(),
      d.model.bytes_per_token() / static_cast<std::uint64_t>(std::max(1, c.tensor_parallel)));
  if (!d.prefill_bytes.empty()) {
    std::vector<double> sizes(d.prefill_bytes.begin(), d.prefill_bytes.end());
    std::sort(sizes.begin(), sizes.end());
    double sum = 0;
    for (double v : sizes) sum += v;
    o += fmt::format("Entries written:  {}\n", sizes.size());
    o += fmt::format("Entry size (MiB): min {}, mean {}, P95 {}, max {}\n", mib(sizes.front()),
                     mib(sum / static_cast<double>(sizes.size())),
                     mib(metrics::percentile_type7(sizes, 95)), mib(sizes.back()));
  }
  o += overall_text(s, nothing_completed, c);
  o += storage_text(j, d);
  o += cache_types_text(s);
  o += verdicts_text(s, nothing_completed, c);
  o += "\n### AUTOSCALING ###\n";
  if (const ojson& as = child(s, "autoscaling_summary"); as.is_object())
    o += fmt::format("  {} mode: users {} -> {}, {} scale events\n", as.value("mode", ""),
                     num(as, "initial_users"), num(as, "final_users"),
                     num(as, "total_scale_events"));
  else
    o += "  disabled\n";
  const ojson& r = child(j, "resources");
  o += "\n### CLIENT RESOURCES (ours) ###\n";
  o +=
      fmt::format("  CPU {:.1f} s ({:.0f} % of one core), peak RSS {} MiB\n", num(r, "cpu_seconds"),
                  num(r, "cpu_utilization") * 100, mib(num(r, "peak_rss_bytes")));
  o += fmt::format("  CPU seconds per GiB moved: {}\n",
                   number(measured(r, "cpu_seconds_per_gib"), 3));
  o += cluster_text(j);
  o += "\nNotes:\n";
  o += "  * GB = GiB. Bandwidths = tier bytes / elapsed time (the window).\n";
  o += "  * read/write_iops in the JSON are operation counts.\n";
  o += fmt::format("  * {} = not measured (null or absent in the results JSON).\n", kUnmeasured);
  o += "  * Failed requests are not counted as completed (the reference counts them).\n";
  if (d.interrupted)
    o += "  * Interrupted (SIGINT/SIGTERM): results cover the time until the signal.\n";
  o += rule();
  return o;
}

}  // namespace kv::engine
