// The one table of latency blocks in the results JSON, read by the results builder
// (engine/results.cpp) and the MPI merge (engine/results_merge.cpp), so the merge never re-parses
// key names: every percentile key either side writes is named here.
#pragma once

#include <string>

namespace kv::engine::report {

// The percentiles of every latency block, in output order.
struct Percentile {
  const char* name;  // "p95"
  double p;          // 95
};
inline constexpr Percentile kPercentiles[] = {{.name = "p50", .p = 50},
                                              {.name = "p95", .p = 95},
                                              {.name = "p99", .p = 99},
                                              {.name = "p999", .p = 99.9},
                                              {.name = "p9999", .p = 99.99}};

// summary.<key> = {mean, p50 … p9999} in ms. The merge pools it from latency_histograms.<histogram>
// or, where the ranks have no such histogram, from histograms of their raw per-request lists.
struct SummaryBlock {
  const char* key;
  const char* histogram;
  const char* raw_list;  // top-level raw list in seconds, or nullptr
};
inline constexpr SummaryBlock kSummaryBlocks[] = {
    {.key = "end_to_end_latency_ms", .histogram = "end_to_end", .raw_list = "end_to_end_latencies"},
    {.key = "storage_io_latency_ms", .histogram = "storage_io", .raw_list = "storage_latencies"},
    {.key = "generation_latency_ms", .histogram = "generation", .raw_list = "generation_latencies"},
    {.key = "queue_wait_ms", .histogram = "queue_wait", .raw_list = nullptr},
    {.key = "ttft_proxy_ms", .histogram = "ttft_proxy", .raw_list = nullptr},
    {.key = "prefill_latency_ms", .histogram = "prefill", .raw_list = "prefill_latencies"},
    {.key = "decode_latency_ms", .histogram = "decode", .raw_list = "decode_latencies"},
};

// summary.cache_stats.<family>_<pNN>_ms (written only when the family has samples); the merge pools
// each from latency_histograms.<family>.
inline constexpr const char* kCacheStatsFamilies[] = {"gpu_read",
                                                      "gpu_write",
                                                      "cpu_read",
                                                      "cpu_write",
                                                      "storage_read",
                                                      "storage_write",
                                                      "storage_read_device",
                                                      "storage_read_host",
                                                      "storage_write_device",
                                                      "storage_write_host",
                                                      "demotion"};

// "storage_read_device" + p95 -> "storage_read_device_p95_ms".
inline std::string percentile_key(const std::string& family, const Percentile& p) {
  return family + "_" + p.name + "_ms";
}

}  // namespace kv::engine::report
