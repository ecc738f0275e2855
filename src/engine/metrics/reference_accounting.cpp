#include "engine/metrics/reference_accounting.hpp"

#include <string>

namespace kv::metrics {

namespace {
constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
constexpr const char* kTiers[3] = {"gpu", "cpu", "storage"};
}  // namespace

void set_reference_rates(nlohmann::ordered_json& j) {
  const double window_s = j.value("window_s", 0.0);
  const auto per_s = [&](const std::string& count_key) {
    return window_s > 0 ? j.value(count_key, 0.0) / window_s : 0.0;
  };
  j["requests_per_second"] = per_s("requests_completed");
  j["avg_throughput_tokens_per_sec"] = per_s("total_tokens");
  for (const char* t : kTiers) {
    const std::string tier = std::string("tier_") + t;
    j[tier + "_read_bandwidth_gbps"] = per_s(tier + "_kv_bytes_read_gb");
    j[tier + "_write_bandwidth_gbps"] = per_s(tier + "_kv_bytes_written_gb");
  }
}

nlohmann::ordered_json reference_accounting_json(const ReferenceAccountingInput& in) {
  const TrafficCounters& t = in.after_drain;
  nlohmann::ordered_json j;
  j["requests_completed"] = in.requests_in_window + in.requests_in_drain;
  j["total_tokens"] = in.tokens_in_window + in.tokens_in_drain;
  j["requests_per_second"] = 0.0;  // the rates: set_reference_rates() below
  j["avg_throughput_tokens_per_sec"] = 0.0;
  for (std::size_t i = 0; i < 3; ++i) {
    // Reads count when they start: completed ones and those that failed or were cancelled.
    const double read_gib = static_cast<double>(t.read_bytes[i] + t.failed_read_bytes[i]) / kGiB;
    // The reference adds a tier's write bytes once the write succeeded.
    const double written_gib = static_cast<double>(t.written_bytes[i]) / kGiB;
    const std::string tier = kTiers[i];
    j["tier_" + tier + "_kv_bytes_read_gb"] = read_gib;
    j["tier_" + tier + "_kv_bytes_written_gb"] = written_gib;
    j["tier_" + tier + "_read_bandwidth_gbps"] = 0.0;
    j["tier_" + tier + "_write_bandwidth_gbps"] = 0.0;
  }
  std::uint64_t failed_read_bytes = 0;
  for (auto b : t.failed_read_bytes) failed_read_bytes += b;
  j["total_read_bytes"] = t.total_read_bytes + failed_read_bytes;
  j["total_write_bytes"] = t.total_write_bytes + t.failed_write_bytes;
  j["read_iops"] = t.read_ops + t.failed_reads;
  j["write_iops"] = t.write_ops + t.failed_writes;
  j["window_s"] = in.window_s;
  j["drain_s"] = in.drain_s;
  j["in_flight_at_stop"] = in.in_flight_at_stop;
  set_reference_rates(j);
  return j;
}

}  // namespace kv::metrics
