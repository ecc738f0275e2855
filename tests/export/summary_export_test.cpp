#include "engine/export/summary_export.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.hpp"
#include "support/files.hpp"
#include "support/temp_dir.hpp"

using namespace kv::exporter;
using ojson = nlohmann::ordered_json;
namespace stdfs = std::filesystem;
using kv::testsupport::slurp;
using kv::testsupport::TempDir;

namespace {
ojson sample_results() {
  return ojson::parse(R"({
    "requests_completed": 10,
    "summary": {
      "total_requests": 10, "total_tokens": 2000, "elapsed_time": 5.5,
      "avg_throughput_tokens_per_sec": 363.6, "storage_throughput_tokens_per_sec": 1000.0,
      "requests_per_second": 1.8,
      "end_to_end_latency_ms": {"mean": 10.0, "p50": 9.0, "p95": 20.0, "p99": 30.0, "p999": 31.0, "p9999": 32.0},
      "storage_io_latency_ms": {"mean": 1.0, "p50": 0.9},
      "cache_stats": {"cache_hit_rate": 0.75, "storage_read_p95_ms": 2.5, "storage_write_device_p99_ms": 4.0,
                      "tier_cpu_kv_bytes_read_gb": 1.25, "tier_storage_write_bandwidth_gbps": 3.5,
                      "gpu_entries": 0, "storage_entries": 12},
      "qos_metrics": {
        "interactive": {"total_requests": 4, "latency_ms": {"p95": 50.0, "p99": 60.0},
                        "sla": {"met": true, "compliance": 0.99}},
        "responsive": {"no_data": true},
        "batch": {"total_requests": 6, "latency_ms": {"p95": 500.0, "p99": 700.0}, "sla": {"met": false}}
      },
      "multi_turn_stats": {"hit_rate": 0.5}
    }
  })");
}

ojson sample_params() {
  return ojson::parse(R"({
    "timestamp": "2026-02-01 10:00:00", "model": "llama3.1-8b", "num_users": 4, "duration": 30,
    "gpu_mem_gb": 16.0, "num_gpus": 2, "tensor_parallel": 1, "cpu_mem_gb": 32.0,
    "generation_mode": "none", "performance_profile": "latency", "disable_multi_turn": false,
    "disable_prefix_caching": true, "enable_rag": false, "enable_autoscaling": false, "seed": 42,
    "max_concurrent_allocs": 0, "request_rate": 0.0, "max_requests": 0, "dataset_path": null,
    "cache_dir": "/tmp/kv", "storage_capacity_gb": 0.0, "precondition": false, "precondition_size_gb": 0.0,
    "precondition_threads": 3, "trace_speedup": 1.0, "replay_cycles": 0,
    "extra": {"Mooncake Trace": "trace.jsonl"}
  })");
}

const Column* find(const std::vector<Column>& cols, const std::string& name) {
  for (const auto& c : cols) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

std::vector<std::string> csv_split(const std::string& line) {
  std::vector<std::string> out(1);
  bool q = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (q) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        out.back() += '"';
        ++i;
      } else if (c == '"') {
        q = false;
      } else {
        out.back() += c;
      }
    } else if (c == '"') {
      q = true;
    } else if (c == ',') {
      out.emplace_back();
    } else {
      out.back() += c;
    }
  }
  return out;
}
}  // namespace

TEST(SummaryExport, RunParameterColumnsInReferenceOrder) {
  const auto cols = summary_run_parameters(sample_params());
  const std::vector<std::string> expected = {"Timestamp",
                                             "Model",
                                             "Num Users",
                                             "Duration (s)",
                                             "GPU Memory per Card (GiB)",
                                             "Num GPUs",
                                             "Tensor Parallel",
                                             "Total GPU Memory (GiB)",
                                             "CPU Memory (GiB)",
                                             "Generation Mode",
                                             "Performance Profile",
                                             "Multi-turn",
                                             "Prefix Caching",
                                             "RAG Enabled",
                                             "Autoscaling",
                                             "Seed",
                                             "Max Concurrent Allocs",
                                             "Request Rate",
                                             "Max Requests",
                                             "Dataset Path",
                                             "Cache Dir",
                                             "Storage Capacity (GiB)",
                                             "Precondition",
                                             "Precondition Size (GiB)",
                                             "Precondition Threads",
                                             "Trace Speedup",
                                             "Replay Cycles",
                                             "Mooncake Trace"};
  ASSERT_EQ(cols.size(), expected.size());
  for (std::size_t i = 0; i < cols.size(); ++i) EXPECT_EQ(cols[i].name, expected[i]);
  EXPECT_EQ(cell_text(find(cols, "Total GPU Memory (GiB)")->value), "32.0");
  EXPECT_EQ(cell_text(find(cols, "Multi-turn")->value), "True");
  EXPECT_EQ(cell_text(find(cols, "Prefix Caching")->value), "False");
  EXPECT_EQ(cell_text(find(cols, "Dataset Path")->value), "N/A");
  EXPECT_EQ(cell_text(find(cols, "Cache Dir")->value), "/tmp/kv");
  EXPECT_EQ(cell_text(find(cols, "Seed")->value), "42");
  EXPECT_EQ(cell_text(find(cols, "Mooncake Trace")->value), "trace.jsonl");
}

TEST(SummaryExport, MissingKeysGiveEmptyCellsNeverACrash) {
  const auto params = summary_run_parameters(ojson::object());
  EXPECT_EQ(params.size(), 27u);
  for (const auto& c : params) {
    if (c.name == "Timestamp") {
      EXPECT_FALSE(cell_text(c.value).empty());  // defaults to now
    } else {
      EXPECT_EQ(cell_text(c.value), "") << c.name;
    }
  }
  // Wrong shapes everywhere: still no throw.
  const auto odd = ojson::parse(R"({"summary": {"end_to_end_latency_ms": 5, "cache_stats": [1, 2],
                                    "qos_metrics": {"interactive": 3}, "total_tokens": {"a": 1}}})");
  const auto metrics = summary_metrics(odd);
  EXPECT_EQ(cell_text(find(metrics, "E2E Latency P95 (ms)")->value), "");
  EXPECT_EQ(cell_text(find(metrics, "Total Tokens")->value), "{\"a\":1}");
  EXPECT_TRUE(summary_qos_rows(odd, false).empty());
  EXPECT_EQ(summary_metrics(ojson()).size(), metrics.size());
  EXPECT_EQ(summary_metrics(ojson::array()).size(), metrics.size());
}

TEST(SummaryExport, MetricColumnsMapTheResultKeys) {
  const auto m = summary_metrics(sample_results());
  EXPECT_EQ(m.front().name, "Total Requests");
  EXPECT_EQ(m.back().name, "Multi-turn Hit Rate");
  EXPECT_EQ(m.size(), 6u + 6 + 6 + 4 + 30 + 4 + 6 + 6 + 3 + 1);
  EXPECT_EQ(cell_text(find(m, "Elapsed Time (s)")->value), "5.5");
  EXPECT_EQ(cell_text(find(m, "E2E Latency P99.99 (ms)")->value), "32.0");
  EXPECT_EQ(cell_text(find(m, "Storage Latency P95 (ms)")->value), "");
  EXPECT_EQ(cell_text(find(m, "Storage Tier Read Total P95 (ms)")->value), "2.5");
  EXPECT_EQ(cell_text(find(m, "Storage Tier Write Device P99 (ms)")->value), "4.0");
  EXPECT_EQ(cell_text(find(m, "Tier CPU KV Bytes Read (GiB)")->value), "1.25");
  EXPECT_EQ(cell_text(find(m, "Tier Storage Write Bandwidth (GiB/s)")->value), "3.5");
  EXPECT_EQ(cell_text(find(m, "GPU Entries")->value), "0");
  EXPECT_EQ(cell_text(find(m, "Multi-turn Hit Rate")->value), "0.5");
  ASSERT_NE(find(m, "Storage Tier Write Host P99.99 (ms)"), nullptr);
  ASSERT_NE(find(m, "Gen Latency P99 (ms)"), nullptr);
  EXPECT_EQ(find(m, "Gen Latency P99.9 (ms)"), nullptr);
}

TEST(SummaryExport, QosRows) {
  const auto rows = summary_qos_rows(sample_results(), false);
  ASSERT_EQ(rows.size(), 2u);  // responsive has no data
  EXPECT_EQ(rows[0].level, "interactive");
  EXPECT_EQ(cell_text(rows[0].latency_p99_ms), "60.0");
  EXPECT_EQ(cell_text(rows[0].sla_met), "True");
  EXPECT_EQ(cell_text(rows[1].sla_compliance), "");
  const auto tp = summary_qos_rows(sample_results(), true);
  EXPECT_EQ(cell_text(tp[0].sla_met), "N/A (throughput mode)");
}

TEST(SummaryExport, CsvHasTheSameColumns) {
  TempDir d;
  const auto out = write_summary(d / "summary.csv", sample_results(), sample_params());
  EXPECT_EQ(out, d / "summary.csv");
  const std::string text = slurp(out);
  std::stringstream ss(text);
  std::string header, values, extra;
  ASSERT_TRUE(std::getline(ss, header));
  ASSERT_TRUE(std::getline(ss, values));
  EXPECT_FALSE(std::getline(ss, extra));
  const auto h = csv_split(header);
  const auto v = csv_split(values);
  ASSERT_EQ(h.size(), v.size());
  auto params = summary_run_parameters(sample_params());
  const auto metrics = summary_metrics(sample_results());
  ASSERT_EQ(h.size(), params.size() + metrics.size());
  for (std::size_t i = 0; i < params.size(); ++i) EXPECT_EQ(h[i], params[i].name);
  for (std::size_t i = 0; i < metrics.size(); ++i) EXPECT_EQ(h[params.size() + i], metrics[i].name);
  EXPECT_EQ(v[0], "2026-02-01 10:00:00");
  EXPECT_EQ(v[1], "llama3.1-8b");
  EXPECT_EQ(v[params.size()], "10");  // Total Requests

  // Any other name gets ".csv" appended.
  const auto other = write_summary(d / "summary.out", sample_results(), sample_params());
  EXPECT_EQ(other, d / "summary.out.csv");
  EXPECT_EQ(slurp(other), text);
}

TEST(SummaryExport, XlsxIsAZipWithFourSheets) {
  TempDir d;
  const auto out = write_summary(d / "summary.xlsx", sample_results(), sample_params());
  EXPECT_EQ(out, d / "summary.xlsx");
  const std::string bytes = slurp(out);
  ASSERT_GT(bytes.size(), 1000u);
  EXPECT_EQ(bytes.substr(0, 2), "PK");
  // Zip member names are stored uncompressed: four worksheets, no fifth.
  for (int i = 1; i <= 4; ++i) {
    EXPECT_NE(bytes.find("xl/worksheets/sheet" + std::to_string(i) + ".xml"), std::string::npos)
        << i;
  }
  EXPECT_EQ(bytes.find("xl/worksheets/sheet5.xml"), std::string::npos);
  for (const auto& e : stdfs::directory_iterator(d.path)) {
    EXPECT_EQ(e.path().filename(), "summary.xlsx");  // no temp left behind
  }
  // Empty inputs still produce a workbook.
  const auto empty = write_summary(d / "empty.xlsx", ojson::object(), ojson::object());
  EXPECT_EQ(slurp(empty).substr(0, 2), "PK");
}

TEST(SummaryExport, MissingDirectoryNamesTheFlag) {
  for (const char* name : {"/nonexistent-kv-dir/s.xlsx", "/nonexistent-kv-dir/s.csv"}) {
    try {
      write_summary(name, sample_results(), sample_params());
      FAIL() << "expected an error for " << name;
    } catch (const kv::Error& e) {
      EXPECT_EQ(e.code(), kv::ExitCode::kFileNotFound);
      EXPECT_NE(std::string(e.what()).find("--xlsx-output"), std::string::npos);
    }
  }
}

TEST(SummaryExport, CellText) {
  EXPECT_EQ(cell_text(Cell{}), "");
  EXPECT_EQ(cell_text(Cell{true}), "True");
  EXPECT_EQ(cell_text(Cell{std::int64_t{-3}}), "-3");
  EXPECT_EQ(cell_text(Cell{16.0}), "16.0");
  EXPECT_EQ(cell_text(Cell{0.1}), "0.1");
  EXPECT_EQ(cell_text(Cell{std::string("x")}), "x");
  EXPECT_EQ(summary_csv({{"a,b", Cell{std::string("say \"hi\"")}}}),
            "\"a,b\"\n\"say \"\"hi\"\"\"\n");
}
