#include "engine/report/health.hpp"

#include <fmt/format.h>

#include <string>
#include <utility>

#include "engine/run_status.hpp"

namespace kv::engine::report {

using ojson = nlohmann::ordered_json;

namespace {

// Latency-profile thresholds (P95, milliseconds; integers, as the reference writes them) and the
// hit-rate floor.
constexpr int kStorageWriteP95Ms = 500;
constexpr int kStorageReadP95Ms = 200;
constexpr int kCpuTierP95Ms = 150;
constexpr double kMinCacheHitRate = 0.30;

ojson criterion(std::string name, const ojson& target, const ojson& actual, const char* unit,
                bool passed) {
  return ojson{{"name", std::move(name)},
               {"target", target},
               {"actual", actual},
               {"unit", unit},
               {"passed", passed}};
}

// Throughput profile: target the string ">0", actual the bandwidth as a string with two decimals
// (the reference's f"{x:.2f}"); passed compares the unrounded value.
ojson bandwidth_criterion(const char* name, double gibps) {
  return criterion(name, ">0", fmt::format("{:.2f}", gibps), "GiB/s", gibps > 0);
}

// Latency profile: "Storage Tier Write Device P95 < 500ms" (or "Total" without device samples).
ojson storage_p95_criterion(const char* op, const StorageP95& v, int target_ms) {
  return criterion(
      fmt::format("Storage Tier {} {} P95 < {}ms", op, v.device ? "Device" : "Total", target_ms),
      target_ms, v.ms, "ms", v.ms < target_ms);
}

}  // namespace

ojson storage_health(const HealthInputs& in, std::string_view note) {
  ojson criteria = ojson::array();
  if (in.profile == PerformanceProfile::kThroughput) {
    // A direction is checked only when it moved bytes or the other did not (prefill-only runs
    // have no reads, decode-only runs no writes).
    if (in.storage_read_gib > 0 || in.storage_write_gib == 0)
      criteria.push_back(bandwidth_criterion("Storage KV Read Bandwidth", in.storage_read_gibps));
    if (in.storage_write_gib > 0 || in.storage_read_gib == 0)
      criteria.push_back(bandwidth_criterion("Storage KV Write Bandwidth", in.storage_write_gibps));
  } else {
    if (in.storage_write_p95)
      criteria.push_back(storage_p95_criterion("Write", *in.storage_write_p95, kStorageWriteP95Ms));
    if (in.storage_read_p95)
      criteria.push_back(storage_p95_criterion("Read", *in.storage_read_p95, kStorageReadP95Ms));
    if (const auto v = in.cpu_p95_ms)
      criteria.push_back(criterion(fmt::format("CPU RAM P95 < {}ms", kCpuTierP95Ms), kCpuTierP95Ms,
                                   *v, "ms", *v < kCpuTierP95Ms));
    if (in.cache_hits + in.cache_misses > 0) {
      const double hr = in.cache_hits / (in.cache_hits + in.cache_misses);
      criteria.push_back(
          criterion("Cache Hit Rate > 30%", kMinCacheHitRate, hr, "ratio", hr > kMinCacheHitRate));
    }
  }
  std::size_t passed = 0;
  for (const auto& c : criteria) passed += c["passed"].get<bool>() ? 1 : 0;
  const std::size_t total = criteria.size();
  ojson h;
  h["overall_status"] = to_text(passed == total ? HealthStatus::kPass : HealthStatus::kFail);
  h["criteria"] = std::move(criteria);
  h["passed_count"] = passed;
  h["total_count"] = total;
  h["note"] = note;
  return h;
}

ojson qos_sla(double target_p95_ms, double actual_p95_ms, double compliance) {
  return ojson{{"target_p95_ms", target_p95_ms},
               {"actual_p95_ms", actual_p95_ms},
               {"compliance", compliance},
               {"met", compliance >= kQosComplianceGoal}};
}

}  // namespace kv::engine::report
