// The reference's 5 metadata cases (fields for history, kvcache fields, distributed info,
// model/kvcache_model consistency, non-distributed metadata), plus metrics read from the engine's
// real summary.* keys and the key order.
#include "orchestrator/metadata.hpp"

#include <gtest/gtest.h>

#include <functional>

#include "test_util.hpp"

using namespace kv::orchestrator;
using orchtest::parse;

namespace {

struct MetadataFixture : ::testing::Test {
  orchtest::TempDir tmp;
  PlanEnv env;
  void SetUp() override {
    orchtest::write_file(tmp.path / "kv-cache", "#!/bin/sh\n", true);
    env.self_dir = tmp.path;
  }
  Json metadata(const std::vector<std::string>& args,
                const std::function<void(Invocation&)>& tweak = {}) {
    auto p = parse(args);
    EXPECT_TRUE(p.r.ok()) << p.r.err;
    Invocation inv = p.inv();
    if (tweak) tweak(inv);
    RunPlan plan = build_run_plan(inv, "20260124_120000", env);
    RunRecord rec;
    rec.status = "success";
    rec.runtime_s = 63.2;
    return build_run_metadata(inv, plan,
                              verify(Workload::from_options(inv.kv, plan.cache_dir.string())), rec);
  }
};

}  // namespace

using Metadata = MetadataFixture;

TEST_F(Metadata, RequiredFieldsForHistory) {
  Json md = metadata({"kvcache", "run", "-rd", "/results"});
  EXPECT_EQ(md["benchmark_type"], "kv_cache");
  EXPECT_EQ(md["model"], "llama3.1-8b");
  EXPECT_EQ(md["command"], "run");
  EXPECT_EQ(md["run_datetime"], "20260124_120000");
  EXPECT_EQ(md["result_dir"], "/results/kv_cache/llama3.1-8b/run/20260124_120000");
}

TEST_F(Metadata, KvcacheSpecificFields) {
  Json md = metadata({"kvcache", "run", "-m", "tiny-1b", "-nu", "2", "-d", "3", "--gpu-mem-gb", "0",
                      "--cpu-mem-gb", "0.5", "--cache-dir", "/mnt/nvme", "--generation-mode",
                      "none", "--performance-profile", "throughput"});
  EXPECT_EQ(md["kvcache_model"], "tiny-1b");
  EXPECT_EQ(md["num_users"], 2);
  EXPECT_EQ(md["duration"], 3);
  EXPECT_DOUBLE_EQ(md["gpu_mem_gb"].get<double>(), 0.0);
  EXPECT_DOUBLE_EQ(md["cpu_mem_gb"].get<double>(), 0.5);
  EXPECT_EQ(md["cache_dir"], "/mnt/nvme");
  EXPECT_EQ(md["generation_mode"], "none");
  EXPECT_EQ(md["performance_profile"], "throughput");
  // parameters mirror the workload keys (the reference wrote {}), so a rules checker can read them
  // back
  EXPECT_EQ(md["parameters"]["model"], "tiny-1b");
  EXPECT_EQ(md["parameters"]["num_users"], 2);
  EXPECT_EQ(md["parameters"]["cache_dir"], "/mnt/nvme");
  Workload back = Workload::from_parameters(md["parameters"]);
  EXPECT_EQ(back.model, "tiny-1b");
  EXPECT_EQ(back.duration, 3);
  EXPECT_EQ(back.generation_mode, "none");
}

TEST_F(Metadata, DistributedExecutionInfo) {
  Json md = metadata({"kvcache", "run", "--hosts", "host1", "host2", "-np", "4"});
  EXPECT_EQ(md["num_processes"], 4);
  EXPECT_EQ(md["exec_type"], "mpi");
  EXPECT_EQ(md["hosts"], (std::vector<std::string>{"host1", "host2"}));
  EXPECT_EQ(
      md["executed_command"].get<std::string>().rfind("mpirun -n 4 -host host1:2,host2:2 ", 0), 0u);
  EXPECT_EQ(md["executed_argv"][0], "mpirun");
}

TEST_F(Metadata, ModelFieldConsistency) {
  for (const char* m : {"tiny-1b", "llama3.1-70b-instruct"}) {
    Json md = metadata({"kvcache", "run", "--model", m});
    EXPECT_EQ(md["model"], m);
    EXPECT_EQ(md["kvcache_model"], md["model"]);
  }
}

TEST_F(Metadata, NonDistributedOmitsExecTypeAndHosts) {
  Json md = metadata({"kvcache", "run"}, [](Invocation& inv) {
    inv.kv.exec_type.clear();
    inv.kv.hosts.clear();
  });
  EXPECT_FALSE(md.contains("exec_type"));
  EXPECT_FALSE(md.contains("hosts"));
  ASSERT_TRUE(md.contains("num_processes"));
  EXPECT_TRUE(md["num_processes"].is_null());
  EXPECT_TRUE(
      md["cache_dir"].is_null());  // the user gave none; the defaulted path is resolved_cache_dir
  EXPECT_NE(md["resolved_cache_dir"].get<std::string>().find("/kvcache_data"), std::string::npos);
  EXPECT_EQ(md["num_ranks"], 1);
}

TEST_F(Metadata, BaseKeysComeFirstInReferenceOrder) {
  Json md = metadata({"kvcache", "run"});
  const std::vector<std::string> expected = {
      "benchmark_type", "model",        "command",          "run_datetime",         "num_processes",
      "accelerator",    "result_dir",   "parameters",       "override_parameters",  "system_info",
      "runtime",        "verification", "executed_command", "command_output_files", "args",
      "kvcache_model"};
  std::size_t i = 0;
  for (auto it = md.begin(); it != md.end() && i < expected.size(); ++it, ++i)
    EXPECT_EQ(it.key(), expected[i]);
  EXPECT_EQ(md["status"], "success");
  EXPECT_EQ(md["schema_version"], kMetadataSchemaVersion);
  EXPECT_DOUBLE_EQ(md["runtime"].get<double>(), 63.2);
  EXPECT_EQ(md["verification"], "OPEN");
  EXPECT_TRUE(md["args"].contains("hosts"));
  EXPECT_EQ(md["argv"][0], "mlpstorage");
}

TEST(Metrics, ReadFromSummaryNotTopLevel) {
  Json results = Json::parse(R"({
    "total_requests": 999, "avg_latency_ms": 1,
    "summary": {
      "total_requests": 42, "total_tokens": 4200, "elapsed_time": 3.0,
      "avg_throughput_tokens_per_sec": 1400.0, "storage_throughput_tokens_per_sec": 2100.0,
      "requests_per_second": 14.0,
      "end_to_end_latency_ms": {"mean": 1, "p95": 2},
      "storage_io_latency_ms": {"p95": 12.5},
      "cache_stats": {"tier_storage_read_bandwidth_gbps": 1.25, "tier_storage_write_bandwidth_gbps": 0.5,
                      "storage_read_device_p95_ms": 3.5, "storage_entries": 0,
                      "storage_health": {"overall_status": "FAIL"}},
      "multi_turn_stats": {"hit_rate": 0.5},
      "qos_metrics": {"interactive": {"no_data": true}}
    }})");
  Json m = extract_metrics(results);
  EXPECT_EQ(m["total_requests"], 42);
  EXPECT_DOUBLE_EQ(m["tier_storage_read_bandwidth_gbps"].get<double>(), 1.25);
  EXPECT_DOUBLE_EQ(m["tier_storage_write_bandwidth_gbps"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(m["storage_io_latency_ms"]["p95"].get<double>(), 12.5);
  EXPECT_EQ(m["storage_entries"], 0);
  EXPECT_EQ(m["storage_health_status"], "FAIL");
  EXPECT_EQ(m["overall_passed"], false);
  EXPECT_DOUBLE_EQ(m["multi_turn_hit_rate"].get<double>(), 0.5);
  EXPECT_TRUE(m.contains("qos_metrics"));
  EXPECT_FALSE(m.contains("avg_latency_ms"));
  EXPECT_TRUE(extract_metrics(Json::object()).empty());
  EXPECT_TRUE(extract_metrics(Json::parse(R"({"summary": 3})")).empty());
}
