#include "engine/metrics/reference_accounting.hpp"

namespace kv::metrics {

namespace {
constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
constexpr const char* kTiers[3] = {"gpu", "cpu", "storage"};
}  // namespace

nlohmann::ordered_json reference_accounting_json(const ReferenceAccountingInput& in) {
  const TrafficCounters& t = in.after_drain;
  const auto per_s = [&](double v) { return in.window_s > 0 ? v / in.window_s : 0.0; };
  nlohmann::ordered_json j;
  const std::uint64_t requests = in.requests_in_window + in.requests_in_drain;
  const std::uint64_t tokens = in.tokens_in_window + in.tokens_in_drain;
  j["requests_completed"] = requests;
  j["total_tokens"] = tokens;
  j["requests_per_second"] = per_s(static_cast<double>(requests));
  j["avg_throughput_tokens_per_sec"] = per_s(static_cast<double>(tokens));
  for (std::size_t i = 0; i < 3; ++i) {
    // Reads count when they start: completed ones and those that failed or were cancelled.
    const double read_gib = static_cast<double>(t.read_bytes[i] + t.failed_read_bytes[i]) / kGiB;
    // The reference adds a tier's write bytes once the write succeeded.
    const double written_gib = static_cast<double>(t.written_bytes[i]) / kGiB;
    const std::string tier = kTiers[i];
    j["tier_" + tier + "_kv_bytes_read_gb"] = read_gib;
    j["tier_" + tier + "_kv_bytes_written_gb"] = written_gib;
    j["tier_" + tier + "_read_bandwidth_gbps"] = per_s(read_gib);
    j["tier_" + tier + "_write_bandwidth_gbps"] = per_s(written_gib);
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
  return j;
}

}  // namespace kv::metrics
