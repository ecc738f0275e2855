#include "engine/report/health.hpp"

#include <string>

#include "engine/run_status.hpp"

namespace kv::engine::report {

using ojson = nlohmann::ordered_json;

namespace {

// Latency-profile thresholds (P95, milliseconds) and the hit-rate floor.
constexpr double kStorageWriteP95Ms = 500.0;
constexpr double kStorageReadP95Ms = 200.0;
constexpr double kCpuTierP95Ms = 150.0;
constexpr double kMinCacheHitRate = 0.30;

}  // namespace

ojson storage_health(const HealthInputs& in, std::string_view note) {
  ojson criteria = ojson::array();
  auto add = [&](const char* name, double target, double actual, const char* unit, bool passed) {
    criteria.push_back(ojson{{"name", name},
                             {"target", target},
                             {"actual", actual},
                             {"unit", unit},
                             {"passed", passed}});
  };
  if (in.profile == PerformanceProfile::kThroughput) {
    if (in.storage_read_gib > 0 || in.storage_write_gib == 0)
      add("Storage read bandwidth", 0.0, in.storage_read_gibps, "GiB/s", in.storage_read_gibps > 0);
    if (in.storage_write_gib > 0 || in.storage_read_gib == 0)
      add("Storage write bandwidth", 0.0, in.storage_write_gibps, "GiB/s",
          in.storage_write_gibps > 0);
  } else {
    if (const auto v = in.storage_write_p95_ms)
      add("Storage write P95 latency", kStorageWriteP95Ms, *v, "ms", *v < kStorageWriteP95Ms);
    if (const auto v = in.storage_read_p95_ms)
      add("Storage read P95 latency", kStorageReadP95Ms, *v, "ms", *v < kStorageReadP95Ms);
    if (const auto v = in.cpu_p95_ms)
      add("CPU tier P95 latency", kCpuTierP95Ms, *v, "ms", *v < kCpuTierP95Ms);
    if (in.cache_hits + in.cache_misses > 0) {
      const double hr = in.cache_hits / (in.cache_hits + in.cache_misses);
      add("Cache hit rate", kMinCacheHitRate, hr, "ratio", hr > kMinCacheHitRate);
    }
  }
  std::size_t passed = 0;
  for (const auto& c : criteria) passed += c["passed"].get<bool>() ? 1 : 0;
  ojson h;
  h["overall_status"] =
      to_text(passed == criteria.size() ? HealthStatus::kPass : HealthStatus::kFail);
  h["passed_count"] = passed;
  h["total_count"] = criteria.size();
  h["criteria"] = std::move(criteria);
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
