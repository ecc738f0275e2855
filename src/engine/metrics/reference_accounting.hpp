// The reference's accounting of a run, computed beside ours (docs/metrics.md, "Reference
// accounting"). The reference counts an operation when it starts (read bytes and all op counts;
// its tier write bytes once the write succeeded), keeps its workers running after the window
// until their requests are done, and divides everything by the window's length. Our headline keys
// count only what completed inside the window; this block says what the reference would print for
// the same run: counters taken after the drain, failed or cancelled operations included as
// started, requests completed in the window or the drain, all divided by the window.
// Pure arithmetic over plain numbers (no engine types), so it is tested on its own.
#pragma once

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>

namespace kv::metrics {

// Counters after the drain (cumulative since the window's start). Tiers indexed gpu, cpu, storage.
struct TrafficCounters {
  std::array<std::uint64_t, 3> read_bytes{};         // completed reads (hits and demotions out)
  std::array<std::uint64_t, 3> failed_read_bytes{};  // reads that failed or were cancelled
  std::array<std::uint64_t, 3> written_bytes{};      // completed writes (admissions, demotions in)
  std::uint64_t read_ops = 0, failed_reads = 0;
  std::uint64_t write_ops = 0, failed_writes = 0;
  std::uint64_t total_read_bytes = 0, total_write_bytes = 0, failed_write_bytes = 0;
};

struct ReferenceAccountingInput {
  double window_s = 0;  // workers' start → stop instant (the reference's divisor)
  double drain_s = 0;   // stop instant → end of the drain
  std::uint64_t requests_in_window = 0, tokens_in_window = 0;
  std::uint64_t requests_in_drain = 0, tokens_in_drain = 0;  // completed after the stop instant
  std::uint64_t in_flight_at_stop = 0;  // requests that were being processed at the stop instant
  TrafficCounters after_drain;
};

// The `reference_accounting` block: requests_completed, total_tokens, requests_per_second,
// avg_throughput_tokens_per_sec, tier_{gpu,cpu,storage}_kv_bytes_{read,written}_gb,
// tier_*_{read,write}_bandwidth_gbps, total_{read,write}_bytes, read_iops, write_iops (counts, as
// the reference), window_s, drain_s, in_flight_at_stop.
nlohmann::ordered_json reference_accounting_json(const ReferenceAccountingInput& in);

// Sets the block's rates from its counts over its `window_s` (0 when the window is empty):
// requests_per_second, avg_throughput_tokens_per_sec, tier_*_{read,write}_bandwidth_gbps. The MPI
// merge sums the ranks' counts, takes the longest window and calls this (docs/metrics.md, "MPI
// merge").
void set_reference_rates(nlohmann::ordered_json& block);

}  // namespace kv::metrics
