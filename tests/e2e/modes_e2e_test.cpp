// kv-cache workload modes end to end (issue #5), each on tiny inputs with a micro model (256 bytes
// per token, defined through --config): what each mode must change in the run and its results.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "support/argv.hpp"
#include "support/files.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

using namespace kv::testsupport;

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const std::string kData = KV_TEST_DATA_DIR;

constexpr const char* kMicroModel =
    "model_configs:\n"
    "  micro: {name: Micro, num_layers: 1, hidden_dim: 64, num_heads: 1, kv_heads: 1, dtype: "
    "float16}\n";

struct Run {
  TempDir dir;
  ProcessResult res;
  json j;
  fs::path cache() const { return dir.path / "cache"; }
};

// Runs kv-cache with the micro model (plus `yaml` config lines) and the given flags; parses the
// JSON.
std::unique_ptr<Run> run_kv(const std::vector<std::string>& flags, const std::string& yaml = "",
                            int duration = 10, int users = 2) {
  auto r = std::make_unique<Run>();
  { std::ofstream(r->dir.path / "cfg.yaml") << kMicroModel << yaml; }
  r->res =
      run(engine_argv({.cache = r->cache(),
                       .output = r->dir.path / "out.json",
                       .model = "micro",
                       .users = users,
                       .duration = duration,
                       .extra = concat({"--config", (r->dir.path / "cfg.yaml").string()}, flags)}));
  if (r->res.exit_code == 0) {
    std::ifstream in(r->dir.path / "out.json");
    r->j = json::parse(in);
  }
  return r;
}

const json& cs(const Run& r) {
  return r.j["summary"]["cache_stats"];
}

}  // namespace

TEST(ModesE2E, RagReadsAppearInHitStatisticsAndEvictionDeletesTheOldestDocuments) {
  auto r = run_kv({"--enable-rag", "--rag-num-docs", "4", "--keep-cache"},
                  "rag:\n  max_documents: 2\n  request_probability: 0.5\n", 8,
                  4);  // room to ingest under load
  ASSERT_EQ(r->res.exit_code, 0) << r->res.err;
  const json& rag = r->j["rag_stats"];
  ASSERT_EQ(rag["ingestion_complete"], true) << rag.dump();
  EXPECT_GT(rag["chunk_hits"].get<int>(), 0) << rag.dump();
  EXPECT_GT(rag["rag_requests"].get<int>(), 0) << rag.dump();
  EXPECT_GE(cs(*r)["cache_hits"].get<int>(), rag["chunk_hits"].get<int>());
  EXPECT_EQ(rag["documents_evicted"], 2);
  EXPECT_EQ(rag["live_documents"], 2);
  // The evicted documents' chunk files are really gone; the live ones' are there.
  std::set<std::string> docs_with_files;
  for (const auto& e : fs::directory_iterator(r->cache())) {
    const std::string name = e.path().filename().string();
    if (name.rfind("rag_doc_", 0) == 0 && name.find("_chunk_") != std::string::npos)
      docs_with_files.insert(name.substr(0, name.find("_chunk_")));
  }
  EXPECT_EQ(docs_with_files, (std::set<std::string>{"rag_doc_0002", "rag_doc_0003"}));
  EXPECT_NE(r->res.out.find("RAG: 4 / 4 documents ingested"), std::string::npos) << r->res.out;
}

TEST(ModesE2E, ShareGptReplayProducesExactlyItsTurnsWithMultiTurnReads) {
  TempDir t;
  const auto ds = t.path / "sg.json";
  {
    std::ofstream(ds) << R"([
 {"id": "a", "conversations": [{"from":"human","value":"hello there how are you"},{"from":"gpt","value":"fine thanks"},
   {"from":"human","value":"good to hear"},{"from":"gpt","value":"indeed"},{"from":"human","value":"bye"},{"from":"gpt","value":"bye"}]},
 {"id": "b", "conversations": [{"from":"human","value":"question one"},{"from":"gpt","value":"answer one"},
   {"from":"human","value":"question two"},{"from":"gpt","value":"answer two"}]},
 {"id": "c", "conversations": [{"from":"human","value":"single"},{"from":"gpt","value":"answer"}]}
])";
  }
  auto r =
      run_kv({"--dataset-path", ds.string(), "--replay-cycles", "1", "--disable-prefix-caching"});
  ASSERT_EQ(r->res.exit_code, 0) << r->res.err;
  EXPECT_EQ(r->j["requests_completed"], 6);
  EXPECT_EQ(r->j["stop_reason"], "replay_complete");
  EXPECT_LT(r->j["summary"]["elapsed_time"].get<double>(), 10.0);
  // Turn n reads turns 1..n-1 of its conversation: (1 + 2) for "a" + 1 for "b", all cached.
  EXPECT_EQ(r->j["multi_turn_cache_hits"], 4);
  EXPECT_EQ(r->j["multi_turn_cache_misses"], 0);
  EXPECT_EQ(cs(*r)["multi_turn_hits"], 4);
  EXPECT_EQ(r->j["dataset_stats"]["turns_issued"], 6);
  EXPECT_EQ(r->j["workload_mode"]["mode"], "sharegpt");

  // The shipped dataset: exactly its turns, twice with --replay-cycles 2, and --disable-multi-turn
  // works.
  auto s = run_kv({"--dataset-path", kData + "/sharegpt_small.json", "--replay-cycles", "2",
                   "--disable-multi-turn"});
  ASSERT_EQ(s->res.exit_code, 0) << s->res.err;
  const int turns = s->j["dataset_stats"]["turns"].get<int>();
  EXPECT_EQ(turns, 8);
  EXPECT_EQ(s->j["requests_completed"], 2 * turns);
  EXPECT_EQ(s->j["stop_reason"], "replay_complete");
  EXPECT_EQ(s->j["summary"]["failed_requests"], 0);
  EXPECT_EQ(s->j["multi_turn_cache_hits"].get<int>() + s->j["multi_turn_cache_misses"].get<int>(),
            0);
}

TEST(ModesE2E, BurstTraceReplayCountsBadLines) {
  auto r = run_kv({"--use-burst-trace", "--burst-trace-path", kData + "/burstgpt_small*.csv",
                   "--trace-speedup", "0", "--replay-cycles", "1"});
  ASSERT_EQ(r->res.exit_code, 0) << r->res.err;
  EXPECT_EQ(r->j["requests_completed"], 10);  // 8 + 2 valid rows
  EXPECT_EQ(r->j["stop_reason"], "replay_complete");
  const json& ts = r->j["trace_stats"];
  EXPECT_EQ(ts["bad_lines_skipped"], 3);
  EXPECT_EQ(ts["files"], 2);
  EXPECT_EQ(ts["format"], "burstgpt");
  EXPECT_EQ(ts["bad_line_samples"].size(), 3u);
}

TEST(ModesE2E, MooncakeSharedHashIdsHitTheSharedBlocks) {
  // 4 valid records (one bad line): ids {1,2} {1,2,3} {1,4} {5}: 8 lookups of 5 distinct blocks.
  // One worker processes them one at a time, so the counts are exact whatever the order.
  for (int cycles : {1, 2}) {
    auto r = run_kv({"--mooncake-trace", kData + "/modes_mooncake_shared.jsonl", "--trace-speedup",
                     "0", "--replay-cycles", std::to_string(cycles)},
                    "", 10, 1);
    ASSERT_EQ(r->res.exit_code, 0) << r->res.err;
    const json& mc = r->j["mooncake_stats"];
    EXPECT_EQ(r->j["requests_completed"], 4 * cycles);
    EXPECT_EQ(r->j["stop_reason"], "replay_complete");
    EXPECT_EQ(mc["block_lookups"], 8 * cycles);
    EXPECT_EQ(mc["block_writes"], 5);  // each distinct block written once
    EXPECT_EQ(mc["block_hits"],
              3 + 8 * (cycles - 1));  // shared blocks read; a second pass reads all
    EXPECT_EQ(r->j["trace_stats"]["bad_lines_skipped"], 1);
    // Cache: block hits + decode reads (1 + ceil(10 / 32) = 2 per request) hit; the 5 new blocks
    // miss.
    EXPECT_EQ(cs(*r)["cache_hits"], mc["block_hits"].get<int>() + 2 * 4 * cycles);
    EXPECT_EQ(cs(*r)["cache_misses"], 5);
    EXPECT_EQ(cs(*r)["storage_entries"], 5);
  }
}

TEST(ModesE2E, DecodeOnlyDoesNoWritesDuringTheMeasuredWindow) {
  auto r = run_kv({"--decode-only", "--disable-prefix-caching", "--max-concurrent-allocs", "1"}, "",
                  2, 3);
  ASSERT_EQ(r->res.exit_code, 0) << r->res.err;
  EXPECT_NE(r->res.out.find("Pre-populating 30 entries"), std::string::npos) << r->res.out;
  EXPECT_GT(r->j["requests_completed"].get<int>(), 0);
  EXPECT_EQ(cs(*r)["total_write_bytes"], 0);
  EXPECT_EQ(cs(*r)["prefill_writes"], 0);
  EXPECT_EQ(cs(*r)["write_iops"], 0);
  EXPECT_GT(cs(*r)["cache_hits"].get<int>(), 0);
  EXPECT_EQ(cs(*r)["cache_misses"], 0);
  EXPECT_EQ(cs(*r)["storage_entries"], 30);  // num_users × 10 pre-populated, nothing added

  // With RAG the documents are ingested before the window: chunk reads hit, still no write.
  auto g = run_kv({"--decode-only", "--enable-rag", "--rag-num-docs", "2"},
                  "rag:\n  request_probability: 0.5\n", 2, 3);
  ASSERT_EQ(g->res.exit_code, 0) << g->res.err;
  EXPECT_EQ(cs(*g)["total_write_bytes"], 0);
  EXPECT_EQ(g->j["rag_stats"]["ingestion_complete"], true);
  EXPECT_GT(g->j["rag_stats"]["chunk_hits"].get<int>(), 0);
  EXPECT_EQ(g->j["rag_stats"]["chunk_misses"], 0);
}

TEST(ModesE2E, PreconditionFillsThenResetsTheStatistics) {
  auto r = run_kv({"--precondition", "--precondition-size-gb", "0.01", "--precondition-threads",
                   "2", "--max-requests", "1", "--disable-prefix-caching"});
  ASSERT_EQ(r->res.exit_code, 0) << r->res.err;
  EXPECT_NE(r->res.out.find("Preconditioning: writing 0.01 GiB"), std::string::npos) << r->res.out;
  EXPECT_NE(r->res.out.find("Preconditioning done:"), std::string::npos) << r->res.out;
  const json& p = r->j["precondition"];
  const auto entry = 2048u * 256u;
  EXPECT_GE(p["written_bytes"].get<std::uint64_t>(), 10737418u);
  EXPECT_EQ(p["written_bytes"].get<std::uint64_t>(), p["entries"].get<std::uint64_t>() * entry);
  EXPECT_EQ(p["stopped_on_consecutive_failures"], false);
  // The entries stay, but the run's counters start from zero.
  EXPECT_GE(cs(*r)["storage_entries"].get<std::uint64_t>(), p["entries"].get<std::uint64_t>());
  EXPECT_LE(cs(*r)["prefill_writes"].get<int>(), 2);
  EXPECT_LT(cs(*r)["total_write_bytes"].get<std::uint64_t>(),
            p["written_bytes"].get<std::uint64_t>());
}

TEST(ModesE2E, AutoscalingChangesTheNumberOfActiveProducers) {
  auto r = run_kv({"--enable-autoscaling"},
                  "autoscaler:\n  sample_interval_s: 0.2\n  max_users: 6\n", 3, 2);
  ASSERT_EQ(r->res.exit_code, 0) << r->res.err;
  const json& sum = r->j["summary"]["autoscaling_summary"];
  ASSERT_TRUE(sum.is_object()) << r->j["summary"].dump();
  EXPECT_EQ(sum["initial_users"], 2);
  EXPECT_EQ(sum["offered_load_scaled"], true);
  EXPECT_GT(sum["final_users"].get<int>(), 2);
  EXPECT_GT(sum["max_active_producers"].get<int>(), 2);
  EXPECT_GT(sum["producers_started"].get<int>(), 2) << "added users really issued requests";
  EXPECT_GT(sum["total_scale_events"].get<int>(), 0);
  const json& log = r->j["summary"]["autoscaling_stats"];
  ASSERT_GE(log.size(), 5u);
  EXPECT_EQ(log[0]["action"], "scale_up");
  EXPECT_EQ(log[0]["active_producers"], 3);
  EXPECT_EQ(r->j["throughput_timeline"].size(), log.size());
  EXPECT_EQ(r->j["config"]["workers"], 6);

  auto c = run_kv({"--enable-autoscaling", "--autoscaler-mode", "capacity"},
                  "autoscaler:\n  sample_interval_s: 0.2\n  max_users: 4\n", 3, 1);
  ASSERT_EQ(c->res.exit_code, 0) << c->res.err;
  const json& cap = c->j["summary"]["autoscaling_summary"];
  EXPECT_EQ(cap["mode"], "capacity");
  EXPECT_TRUE(cap.contains("peak_user_count"));
  EXPECT_TRUE(cap.contains("peak_throughput_tokens_per_sec"));
  EXPECT_EQ(cap["final_users"], 4);  // the first sample scales up by at least 5, capped at 4
  const std::string reason = c->j["stop_reason"];
  EXPECT_TRUE(reason == "autoscaler_capacity" || reason == "duration") << reason;
}

TEST(ModesE2E, ValidationTraceComparesTheHitRate) {
  auto r = run_kv({"--validation-trace", kData + "/modes_validation_trace.json"}, "", 2);
  ASSERT_EQ(r->res.exit_code, 0) << r->res.err;
  const json& v = r->j["validation"];
  EXPECT_TRUE(v["passed"].is_boolean());
  EXPECT_DOUBLE_EQ(v["comparison"]["cache_hit_rate"]["trace"].get<double>(), 0.75);
  EXPECT_DOUBLE_EQ(v["comparison"]["cache_hit_rate"]["benchmark"].get<double>(),
                   cs(*r)["cache_hit_rate"].get<double>());
  EXPECT_EQ(v["trace_stats"]["records"], 4);
  EXPECT_NE(r->res.out.find("Validation: hit-rate error"), std::string::npos);
}

TEST(ModesE2E, IoTraceLogWithoutAndWithRealIo) {
  TempDir t;
  const auto csv = t.path / "trace.csv";
  // Reference mode: null tiers (no real I/O), the GPU tier always present.
  auto r =
      run_kv({"--io-trace-log", csv.string(), "--gpu-mem-gb", "0.005", "--keep-cache"}, "", 3, 4);
  ASSERT_EQ(r->res.exit_code, 0) << r->res.err;
  auto lines = read_lines(csv);
  ASSERT_GE(lines.size(), 3u);
  EXPECT_EQ(lines[0], "Timestamp,Operation,Object_Size_Bytes,Tier,Key,Phase");
  EXPECT_EQ(r->j["io_trace"]["rows"], lines.size() - 1);
  EXPECT_EQ(r->j["io_trace"]["real_io"], false);
  std::set<std::string> tiers, ops;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    std::stringstream ss(lines[i]);
    std::vector<std::string> f;
    for (std::string x; std::getline(ss, x, ',');) f.push_back(x);
    ASSERT_EQ(f.size(), 6u) << lines[i];
    ops.insert(f[1] + "/" + f[5]);
    tiers.insert(f[3]);
  }
  EXPECT_TRUE(tiers.count("Tier-0")) << "GPU tier present in trace mode";
  EXPECT_TRUE(ops.count("Write/Prefill"));
  EXPECT_TRUE(ops.count("Read/Decode"));
  EXPECT_TRUE(ops.count("Read/Evict") && ops.count("Write/Evict")) << "a 5 MiB GPU tier demotes";
  bool npy = false;
  if (fs::exists(r->cache()))
    for (const auto& e : fs::directory_iterator(r->cache())) npy |= e.path().extension() == ".npy";
  EXPECT_FALSE(npy) << "no real I/O in trace mode";
  EXPECT_EQ(cs(*r)["gpu_entries"].get<int>() + cs(*r)["storage_entries"].get<int>() > 0, true);

  // Real mode: real files, measured latency column; .zst compressed.
  const auto zst = t.path / "trace.csv.zst";
  auto z = run_kv({"--io-trace-log", zst.string(), "--io-trace-real"}, "", 2, 3);
  ASSERT_EQ(z->res.exit_code, 0) << z->res.err;
  EXPECT_EQ(z->j["io_trace"]["real_io"], true);
  EXPECT_EQ(z->j["io_trace"]["latency_column"], true);
  EXPECT_EQ(z->j["io_trace"]["compressed"], true);
  const std::string bytes = slurp(zst);
  ASSERT_GE(bytes.size(), 4u);
  EXPECT_EQ(bytes.substr(0, 4), std::string("\x28\xb5\x2f\xfd", 4));  // zstd frame magic
  EXPECT_GT(cs(*z)["total_write_bytes"].get<std::uint64_t>(), 0u);

  const auto real_csv = t.path / "real.csv";
  auto p = run_kv({"--io-trace-log", real_csv.string(), "--io-trace-real"}, "", 2, 3);
  ASSERT_EQ(p->res.exit_code, 0) << p->res.err;
  lines = read_lines(real_csv);
  ASSERT_GE(lines.size(), 2u);
  EXPECT_EQ(lines[0], "Timestamp,Operation,Object_Size_Bytes,Tier,Key,Phase,Latency_ms");
  EXPECT_NE(lines[1].find(",Tier-2,"), std::string::npos) << lines[1];
  EXPECT_NE(lines[1].back(), ',') << "a measured latency";
}

TEST(ModesE2E, XlsxAndCsvSummaryExports) {
  TempDir t;
  auto r = run_kv({"--xlsx-output", (t.path / "s.xlsx").string()}, "", 2);
  ASSERT_EQ(r->res.exit_code, 0) << r->res.err;
  EXPECT_EQ(slurp(t.path / "s.xlsx").substr(0, 2), "PK");
  auto c = run_kv(
      {"--xlsx-output", (t.path / "s.csv").string(), "--mooncake-trace",
       kData + "/modes_mooncake_shared.jsonl", "--trace-speedup", "0", "--replay-cycles", "1"},
      "", 5, 1);
  ASSERT_EQ(c->res.exit_code, 0) << c->res.err;
  const auto lines = read_lines(t.path / "s.csv");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].rfind("Timestamp,Model,Num Users,", 0), 0u) << lines[0];
  EXPECT_NE(lines[0].find("Total Requests"), std::string::npos);
  EXPECT_NE(lines[0].find("Mooncake Trace"), std::string::npos);
  EXPECT_NE(lines[1].find(",micro,1,"), std::string::npos) << lines[1];
}

TEST(ModesE2E, BadInputsGiveClearErrors) {
  TempDir t;
  {
    std::ofstream(t.path / "bad.json")
        << "[\n {\"id\": 1, \"conversations\": [\n  {\"from\": \"human\" \"value\": \"x\"}]}\n]\n";
  }
  struct Case {
    std::vector<std::string> args;
    int code;
    std::vector<std::string> needles;
  };
  const std::string missing = (t.path / "missing.json").string();
  const std::vector<Case> cases = {
      {{"--dataset-path", missing}, 3, {"--dataset-path", missing}},
      {{"--mooncake-trace", (t.path / "m.jsonl").string()}, 3, {"--mooncake-trace", "m.jsonl"}},
      {{"--use-burst-trace", "--burst-trace-path", (t.path / "none*.csv").string()},
       3,
       {"--burst-trace-path"}},
      {{"--validation-trace", missing}, 3, {"--validation-trace"}},
      {{"--xlsx-output", (t.path / "no" / "x.xlsx").string()},
       3,
       {"--xlsx-output", "does not exist"}},
      {{"--dataset-path", (t.path / "bad.json").string()}, 2, {"--dataset-path", "bad.json:3"}},
      {{"--request-rate", "-1"}, 2, {"--request-rate: must be >= 0"}},
      {{"--trace-speedup", "-2"}, 2, {"--trace-speedup: must be >= 0"}},
      {{"--prefill-only", "--decode-only"},
       2,
       {"--prefill-only", "--decode-only", "mutually exclusive"}},
      {{"--enable-latency-tracing"}, 2, {"--enable-latency-tracing: out of scope"}},
      {{"--enable-autoscaling", "--mooncake-trace", kData + "/modes_mooncake_shared.jsonl"},
       2,
       {"--enable-autoscaling"}},
      {{"--io-trace-real"}, 2, {"--io-trace-real", "--io-trace-log"}},
  };
  for (const auto& c : cases) {
    auto r = run_kv(c.args, "", 1);
    EXPECT_EQ(r->res.exit_code, c.code) << c.args[0] << ": " << r->res.err;
    for (const auto& n : c.needles)
      EXPECT_NE(r->res.err.find(n), std::string::npos) << n << " in: " << r->res.err;
    EXPECT_FALSE(fs::exists(r->dir.path / "out.json")) << "no run happened for " << c.args[0];
  }
}
