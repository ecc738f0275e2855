// The MPI part of the console summary (engine/summary.hpp): rank 0 prints, from the merged results,
// one line per rank and the MLPerf v3.0 aggregates next to the pooled figures
// (docs/distributed.md).
#include <fmt/format.h>

#include <array>

#include "engine/summary.hpp"
#include "engine/summary_format.hpp"

namespace kv::engine {

using ojson = nlohmann::ordered_json;
using console::align_left;
using console::align_right;
using console::kUnmeasured;
using console::measured;
using console::millis;
using console::number;

namespace {

const ojson& child(const ojson& j, const char* k) {
  static const ojson empty = ojson::object();
  return j.is_object() && j.contains(k) ? j[k] : empty;
}

constexpr std::size_t kHost = 13;

std::string short_host(std::string h) {
  if (console::columns(h) <= kHost - 1) return h;
  return h.substr(0, kHost - 2) + "~";
}

// "  Rank Host Status Requests | 4 numeric cells" with the rank table's widths.
std::string rank_row(const std::string& rank, const std::string& host, const std::string& status,
                     const std::string& requests, const std::array<std::string, 4>& cells) {
  std::string o = "  " + align_right(rank, 4) + " " + align_left(host, kHost) +
                  align_left(status, 10) + align_right(requests, 8);
  for (const auto& c : cells) o += align_right(c, 10);
  return o + "\n";
}

std::string ranks_table(const ojson& ranks) {
  std::string o = "\n### RANKS (one line per rank) ###\n";
  o += rank_row("Rank", "Host", "Status", "Requests", {"read", "write", "read P95", "write P95"});
  o += rank_row("", "", "", "", {"GiB/s", "GiB/s", "ms", "ms"});
  for (const auto& r : ranks) {
    const ojson& s = child(r, "summary");
    const ojson& cs = child(s, "cache_stats");
    const bool has = !s.empty();
    o += rank_row(std::to_string(r.value("rank", -1)), short_host(r.value("host", std::string())),
                  r.value("status", std::string("?")),
                  has ? number(measured(s, "total_requests"), 0) : std::string(kUnmeasured),
                  {number(measured(cs, "tier_storage_read_bandwidth_gbps"), 3),
                   number(measured(cs, "tier_storage_write_bandwidth_gbps"), 3),
                   millis(measured(cs, "storage_read_device_p95_ms")),
                   millis(measured(cs, "storage_write_device_p95_ms"))});
  }
  o += "  (P95: the rank's own storage device P95)\n";
  return o;
}

std::string aggregate_row(const std::string& metric, const std::string& rule,
                          const std::string& value, const std::string& pooled) {
  return "  " + align_left(metric, 26) + align_left(rule, 18) + align_right(value, 12) +
         align_right(pooled, 12) + "\n";
}

std::string aggregates_table(const ojson& merged) {
  const ojson& a = child(merged, "mlperf_aggregates");
  const ojson& s = child(merged, "summary");
  const ojson& cs = child(s, "cache_stats");
  std::string o = "\n### MLPERF v3.0 AGGREGATES (beside the pooled figures) ###\n";
  o += aggregate_row("Metric", "MLPerf rule", "MLPerf", "pooled");
  o += aggregate_row("Storage read GiB/s", "sum of ranks",
                     number(measured(a, "aggregated_read_bandwidth_gbps"), 3),
                     number(measured(cs, "tier_storage_read_bandwidth_gbps"), 3));
  o += aggregate_row("Storage write GiB/s", "sum of ranks",
                     number(measured(a, "aggregated_write_bandwidth_gbps"), 3),
                     number(measured(cs, "tier_storage_write_bandwidth_gbps"), 3));
  o += aggregate_row("Storage throughput tok/s", "sum of ranks",
                     number(measured(a, "aggregated_storage_throughput_tokens_per_sec"), 1),
                     number(measured(s, "storage_throughput_tokens_per_sec"), 1));
  o += aggregate_row("Device read P95 ms", "max of rank P95s",
                     millis(measured(a, "aggregated_device_read_p95_ms")),
                     millis(measured(a, "pooled_device_read_p95_ms")));
  o += aggregate_row("Device write P95 ms", "max of rank P95s",
                     millis(measured(a, "aggregated_device_write_p95_ms")),
                     millis(measured(a, "pooled_device_write_p95_ms")));
  std::string cpu_only;
  for (const auto& r : child(a, "cpu_tier_ranks"))
    cpu_only += (cpu_only.empty() ? "" : ", ") + r.dump();
  o += console::wrap(cpu_only.empty() ? std::string("none") : cpu_only,
                     "  Ranks with no storage entries (CPU tier only): ", "    ");
  return o;
}

}  // namespace

std::string cluster_text(const ojson& merged) {
  const ojson& ranks = child(merged, "ranks");
  if (!ranks.is_array() || ranks.empty()) return {};
  std::string o = ranks_table(ranks);
  if (merged.contains("mlperf_aggregates")) o += aggregates_table(merged);
  return o;
}

}  // namespace kv::engine
