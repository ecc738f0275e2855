// The reference's accounting arithmetic: reads and op counts at start (failed/cancelled included),
// tier writes after success, requests of the window and the drain, all over the window's length.
#include "engine/metrics/reference_accounting.hpp"

#include <gtest/gtest.h>

using kv::metrics::reference_accounting_json;
using kv::metrics::ReferenceAccountingInput;

namespace {
constexpr std::uint64_t kGiB = 1ULL << 30;
}

TEST(ReferenceAccounting, CountsTheDrainAndStartedOperationsOverTheWindow) {
  ReferenceAccountingInput in;
  in.window_s = 10;
  in.drain_s = 1.5;
  in.requests_in_window = 4;
  in.tokens_in_window = 400;
  in.requests_in_drain = 2;
  in.tokens_in_drain = 100;
  in.in_flight_at_stop = 3;
  auto& t = in.after_drain;
  t.read_bytes = {0, 1 * kGiB, 3 * kGiB};
  t.failed_read_bytes = {0, 0, 1 * kGiB};  // e.g. cancelled at the drain deadline
  t.written_bytes = {0, 0, 2 * kGiB};
  t.read_ops = 7;
  t.failed_reads = 1;
  t.write_ops = 5;
  t.failed_writes = 2;
  t.total_read_bytes = 4 * kGiB;
  t.total_write_bytes = 2 * kGiB;
  t.failed_write_bytes = 3 * kGiB;
  const auto j = reference_accounting_json(in);
  EXPECT_EQ(j["requests_completed"], 6);
  EXPECT_EQ(j["total_tokens"], 500);
  EXPECT_DOUBLE_EQ(j["requests_per_second"].get<double>(), 0.6);
  EXPECT_DOUBLE_EQ(j["avg_throughput_tokens_per_sec"].get<double>(), 50.0);
  EXPECT_DOUBLE_EQ(j["tier_storage_kv_bytes_read_gb"].get<double>(), 4.0);
  EXPECT_DOUBLE_EQ(j["tier_storage_read_bandwidth_gbps"].get<double>(), 0.4);
  EXPECT_DOUBLE_EQ(j["tier_storage_kv_bytes_written_gb"].get<double>(), 2.0);  // successes only
  EXPECT_DOUBLE_EQ(j["tier_storage_write_bandwidth_gbps"].get<double>(), 0.2);
  EXPECT_DOUBLE_EQ(j["tier_cpu_read_bandwidth_gbps"].get<double>(), 0.1);
  EXPECT_DOUBLE_EQ(j["tier_gpu_kv_bytes_read_gb"].get<double>(), 0.0);
  EXPECT_EQ(j["total_read_bytes"], 5 * kGiB);
  EXPECT_EQ(j["total_write_bytes"], 5 * kGiB);
  EXPECT_EQ(j["read_iops"], 8);
  EXPECT_EQ(j["write_iops"], 7);
  EXPECT_EQ(j["in_flight_at_stop"], 3);
  EXPECT_DOUBLE_EQ(j["drain_s"].get<double>(), 1.5);
}

// Nothing in flight and nothing failed: the reference's figures are ours.
TEST(ReferenceAccounting, EqualsTheWindowFiguresWithoutDrainOrFailures) {
  ReferenceAccountingInput in;
  in.window_s = 4;
  in.requests_in_window = 9;
  in.tokens_in_window = 90;
  in.after_drain.read_bytes = {0, 0, 2 * kGiB};
  in.after_drain.written_bytes = {0, 0, kGiB};
  in.after_drain.read_ops = 3;
  const auto j = reference_accounting_json(in);
  EXPECT_EQ(j["requests_completed"], 9);
  EXPECT_DOUBLE_EQ(j["tier_storage_read_bandwidth_gbps"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(j["tier_storage_write_bandwidth_gbps"].get<double>(), 0.25);
  EXPECT_EQ(j["read_iops"], 3);
  // A zero-length window (stopped before it began) gives rates of 0, not a division by zero.
  in.window_s = 0;
  EXPECT_DOUBLE_EQ(reference_accounting_json(in)["requests_per_second"].get<double>(), 0.0);
}
