// The one rule set for the storage-health verdict and the QoS SLA, used by a single rank's results
// (engine/results.cpp, from its samples) and by the MPI merge (engine/results_merge.cpp, from the
// pooled histograms and summed counters), so 1-rank and N-rank verdicts come from the same rules.
// The caller measures; these functions only judge and format. Criterion names, targets and value
// types are the reference's, key for key (docs/metrics.md, "storage_health").
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>

#include "engine/config/config.hpp"

namespace kv::engine::report {

// A storage P95 and what it was taken over: the device part of the latency when any device time
// was recorded, else the tier's total latency (the criterion's name says which).
struct StorageP95 {
  double ms = 0;
  bool device = true;
};

// What the health rules look at. Latency profile: storage write/read P95, CPU tier P95 (reads and
// writes together), the cache hit rate. Throughput profile: storage read/write volume and
// bandwidth.
struct HealthInputs {
  PerformanceProfile profile = PerformanceProfile::kLatency;
  double storage_read_gib = 0, storage_write_gib = 0;      // volume moved in the window
  double storage_read_gibps = 0, storage_write_gibps = 0;  // bandwidth over the window
  std::optional<StorageP95> storage_write_p95, storage_read_p95;  // nullopt: no samples
  std::optional<double> cpu_p95_ms;                               // nullopt: no CPU-tier samples
  double cache_hits = 0, cache_misses = 0;
};

// storage_health {overall_status, criteria[{name, target, actual, unit, passed}], passed_count,
// total_count} as the reference writes it, plus our `note`.
nlohmann::ordered_json storage_health(const HealthInputs& in, std::string_view note);

// A QoS class meets its SLA when at least this share of its requests met the P95 target.
inline constexpr double kQosComplianceGoal = 0.95;

// qos_metrics.<class>.sla {target_p95_ms, actual_p95_ms, compliance, met}.
nlohmann::ordered_json qos_sla(double target_p95_ms, double actual_p95_ms, double compliance);

}  // namespace kv::engine::report
