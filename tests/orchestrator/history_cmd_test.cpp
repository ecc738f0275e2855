// `mlpstorage history` formatting: the metrics of `history show` and the list table.
#include "orchestrator/history_cmd.hpp"

#include <gtest/gtest.h>

using kv::orchestrator::format_history_table;
using kv::orchestrator::format_metrics;
using Json = kv::history::Json;

TEST(HistoryShow, MetricsOnePerLineAlignedWithBlocksOnOneLine) {
  const Json m = Json::parse(R"({"total_requests": 42, "elapsed_time": 3.0012345,
      "end_to_end_latency_ms": {"mean": 10.5, "p95": null},
      "qos_metrics": {"batch": {"total_requests": 2, "latency_ms": {"p95": 12.25}}},
      "results_file": "/r/x.json"})");
  const std::string s = format_metrics(m, 2);
  EXPECT_NE(s.find("  total_requests:         42\n"), std::string::npos) << s;
  EXPECT_NE(s.find("  elapsed_time:           3.001\n"), std::string::npos) << s;
  EXPECT_NE(s.find("  end_to_end_latency_ms:  mean 10.5, p95 —\n"), std::string::npos) << s;
  EXPECT_NE(s.find("  qos_metrics:\n    batch:\n      total_requests:  2\n"), std::string::npos)
      << s;
  EXPECT_NE(s.find("      latency_ms:      p95 12.25\n"), std::string::npos) << s;
  EXPECT_NE(s.find("  results_file:           /r/x.json\n"), std::string::npos) << s;
}

TEST(HistoryList, VerificationColumn) {
  kv::history::Entry a, b;
  a.id = 1;
  a.verification = "CLOSED";
  b.id = 2;
  const std::string t = format_history_table({a, b});
  const auto head_end = t.find('\n');
  EXPECT_NE(t.substr(0, head_end).find("VERIF."), std::string::npos);
  const auto line1 = t.substr(head_end + 1, t.find('\n', head_end + 1) - head_end - 1);
  EXPECT_NE(line1.find("CLOSED"), std::string::npos) << t;
}
