#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "core/error.hpp"
#include "engine/replay/rag_plan.hpp"
#include "engine/replay/validation_trace.hpp"
#include "model/model.hpp"
#include "test_util.hpp"

using namespace kv::replay;
using replay_test::expect_error;
using replay_test::TempDir;

TEST(ValidationTrace, LoadsStatsFromRecords) {
  TempDir d;
  auto f = d.write("v.json", R"([
 {"timestamp": 1.0, "request_id": "r1", "user_id": "u1", "context_tokens": 1000, "generation_tokens": 100,
  "phase": "prefill", "cache_hit": false, "cache_tier": "gpu", "read_bytes": 0, "write_bytes": 1000,
  "read_latency_ms": 0, "write_latency_ms": 2.0, "model_name": "m", "prefix_cached": false},
 {"timestamp": 2.0, "request_id": "r2", "user_id": "u1", "context_tokens": 2000, "generation_tokens": 300,
  "phase": "decode", "cache_hit": true, "cache_tier": "cpu", "read_bytes": 5000, "write_bytes": 0,
  "read_latency_ms": 1.0, "write_latency_ms": 0, "model_name": "m", "conversation_id": "c", "turn_number": 2,
  "prefix_cached": true},
 {"cache_hit": true, "read_bytes": 5000},
 {"cache_hit": 0}
])");
  const auto st = load_validation_trace(f);
  EXPECT_EQ(st.records, 4u);
  EXPECT_EQ(st.cache_hits, 2u);
  EXPECT_DOUBLE_EQ(st.cache_hit_rate, 0.5);
  EXPECT_EQ(st.total_read_bytes, 10000u);
  EXPECT_EQ(st.total_write_bytes, 1000u);
  EXPECT_DOUBLE_EQ(st.read_write_ratio, 10.0);
  EXPECT_DOUBLE_EQ(st.mean_context_tokens, 750.0);
  EXPECT_FALSE(st.synthetic);

  const auto pass = compare_validation(0.52, st);
  EXPECT_NEAR(pass.avg_error_pct, 4.0, 1e-9);
  EXPECT_TRUE(pass.passed);
  const auto fail = compare_validation(0.45, st);
  EXPECT_NEAR(fail.avg_error_pct, 10.0, 1e-9);
  EXPECT_FALSE(fail.passed);
  const auto j = to_json(fail);
  EXPECT_EQ(j["passed"], false);
  EXPECT_DOUBLE_EQ(j["comparison"]["cache_hit_rate"]["trace"].get<double>(), 0.5);
  EXPECT_EQ(j["trace_stats"]["records"], 4);
}

TEST(ValidationTrace, BuiltinStatsAndEdgeCases) {
  const auto b = builtin_validation_stats();
  EXPECT_TRUE(b.synthetic);
  EXPECT_DOUBLE_EQ(b.cache_hit_rate, 0.65);
  EXPECT_TRUE(compare_validation(0.65 * 1.049, b).passed);  // under 5 % passes
  EXPECT_FALSE(compare_validation(0.65 * 1.06, b).passed);
  EXPECT_DOUBLE_EQ(error_pct(0, 0), 0.0);
  EXPECT_DOUBLE_EQ(error_pct(0.1, 0), 100.0);
}

TEST(ValidationTrace, ErrorsNameFileRecordAndLine) {
  TempDir d;
  auto bad_type = d.write("t.json", "[{\"cache_hit\": true},\n {\"cache_hit\": \"yes\"}]");
  expect_error([&] { load_validation_trace(bad_type); }, kv::ExitCode::kInvalidArguments,
               {"--validation-trace", "t.json:2", "record 1", "cache_hit"});
  auto empty = d.write("e.json", "[]");
  expect_error([&] { load_validation_trace(empty); }, kv::ExitCode::kInvalidArguments,
               {"no records"});
  auto bad_json = d.write("j.json", "[{\"cache_hit\": tru}]");
  expect_error([&] { load_validation_trace(bad_json); }, kv::ExitCode::kInvalidArguments,
               {"j.json:1", "invalid JSON"});
  expect_error([] { load_validation_trace("/nonexistent/v.json"); }, kv::ExitCode::kFileNotFound,
               {"--validation-trace"});
}

TEST(Rag, ChunkTokensRule) {
  EXPECT_EQ(rag_chunk_tokens(131072, 268435456), 512u);    // 256 MiB / 128 KiB = 2048 -> 512
  EXPECT_EQ(rag_chunk_tokens(1048576, 268435456), 256u);   // 1 MiB per token -> 256
  EXPECT_EQ(rag_chunk_tokens(1ULL << 30, 268435456), 1u);  // never 0
  EXPECT_EQ(rag_chunk_tokens(100, 1000, 512), 10u);
}

TEST(Rag, PlanUsesTheModelSizeRule) {
  const auto table = kv::model::ModelTable::builtin();
  const kv::model::ModelConfig* small = nullptr;
  const kv::model::ModelConfig* large = nullptr;
  for (const auto& m : table.models()) {
    if (m.is_large() && large == nullptr) large = &m;
    if (!m.is_large() && small == nullptr) small = &m;
  }
  ASSERT_NE(small, nullptr);
  ASSERT_NE(large, nullptr);
  RagOptions o;
  o.num_docs = 20;
  std::mt19937_64 rng(42);
  const auto docs = plan_rag_documents(*small, o, rng);
  ASSERT_EQ(docs.size(), 20u);
  EXPECT_EQ(docs[0].id, "doc_0000");
  EXPECT_EQ(docs[19].id, "doc_0019");
  EXPECT_EQ(docs[3].request_key(), "rag_doc_0003");
  const std::uint32_t chunk = rag_chunk_tokens(small->bytes_per_token(), o.max_chunk_bytes);
  for (const auto& d : docs) {
    EXPECT_GE(d.total_tokens, 4000u);
    EXPECT_LE(d.total_tokens, 12000u);
    ASSERT_EQ(d.chunks.size(), (d.total_tokens + chunk - 1) / chunk);
    std::uint64_t sum = 0;
    for (const auto& c : d.chunks) sum += c.tokens;
    EXPECT_EQ(sum, d.total_tokens);
    EXPECT_EQ(d.chunks[1].key, "rag_" + d.id + "_chunk_1");
    EXPECT_EQ(d.chunks[0].tokens, chunk);
  }
  std::mt19937_64 rng2(42);
  const auto big = plan_rag_documents(*large, o, rng2);
  for (const auto& d : big) {
    EXPECT_GE(d.total_tokens, 1024u);
    EXPECT_LE(d.total_tokens, 4096u);
  }
  // Same seed, same plan.
  std::mt19937_64 rng3(42);
  EXPECT_EQ(plan_rag_documents(*small, o, rng3)[7].total_tokens, docs[7].total_tokens);
}

// Issue 15 item 7: the plan lives in memory, so a plan of more than 2^22 chunks is a usage error
// naming --rag-num-docs (before any document is planned), not a bad_alloc.
TEST(Rag, PlanOfTooManyChunksIsAUsageError) {
  const auto table = kv::model::ModelTable::builtin();
  const kv::model::ModelConfig* m = table.find("tiny-1b");
  ASSERT_NE(m, nullptr);
  RagOptions o;
  o.num_docs = 100000;
  o.small_doc_tokens_min = o.small_doc_tokens_max = 1 << 20;
  o.large_doc_tokens_min = o.large_doc_tokens_max = 1 << 20;
  std::mt19937_64 rng(1);
  try {
    (void)plan_rag_documents(*m, o, rng);
    FAIL() << "planned";
  } catch (const kv::Error& e) {
    EXPECT_EQ(e.code(), kv::ExitCode::kInvalidArguments);
    EXPECT_NE(std::string(e.what()).find("--rag-num-docs: 100000 documents"), std::string::npos)
        << e.what();
  }
  o.num_docs = 2;  // the same documents, few of them: planned
  EXPECT_EQ(plan_rag_documents(*m, o, rng).size(), 2u);
}

TEST(Rag, ZipfWeightsAndSelection) {
  const auto w = retrieval_weights(4, RetrievalDistribution::kZipfian);
  const double h = 1 + 1.0 / 2 + 1.0 / 3 + 1.0 / 4;
  ASSERT_EQ(w.size(), 4u);
  EXPECT_DOUBLE_EQ(w[0], 1 / h);
  EXPECT_DOUBLE_EQ(w[3], 0.25 / h);
  const auto u = retrieval_weights(5, RetrievalDistribution::kUniform);
  for (double x : u) EXPECT_DOUBLE_EQ(x, 0.2);

  std::mt19937_64 rng(7);
  // Without replacement: k distinct indices, k capped at n.
  for (int i = 0; i < 200; ++i) {
    auto s = select_chunks(8, 5, RetrievalDistribution::kZipfian, rng);
    ASSERT_EQ(s.size(), 5u);
    std::sort(s.begin(), s.end());
    EXPECT_EQ(std::unique(s.begin(), s.end()), s.end());
    EXPECT_LT(s.back(), 8u);
  }
  EXPECT_EQ(select_chunks(3, 5, RetrievalDistribution::kUniform, rng).size(), 3u);
  EXPECT_TRUE(select_chunks(0, 5, RetrievalDistribution::kUniform, rng).empty());

  // Single draws follow the weights: chunk 0 about 1/H(10) = 34 %, chunk 9 about 3.4 %.
  std::map<std::size_t, int> counts;
  const int n = 20000;
  for (int i = 0; i < n; ++i)
    ++counts[select_chunks(10, 1, RetrievalDistribution::kZipfian, rng)[0]];
  const auto zw = retrieval_weights(10, RetrievalDistribution::kZipfian);
  for (std::size_t i = 0; i < 10; ++i) EXPECT_NEAR(counts[i] / double(n), zw[i], 0.015) << i;
  EXPECT_GT(counts[0], counts[9] * 5);
}

TEST(Rag, RequestSumsRetrievedChunks) {
  RagDocument doc;
  doc.id = "doc_0001";
  doc.total_tokens = 1100;
  doc.chunks = {{"c0", 512}, {"c1", 512}, {"c2", 76}};
  RagOptions o;
  std::mt19937_64 rng(1);
  const auto r = make_rag_request(doc, o, rng);
  EXPECT_EQ(r.key, "rag_doc_0001");
  EXPECT_EQ(r.chunks.size(), 3u);
  EXPECT_EQ(r.context_tokens, 1100u);
  EXPECT_GE(r.generation_tokens, 50u);
  EXPECT_LE(r.generation_tokens, 200u);
  expect_error([] { parse_retrieval_distribution("pareto"); }, kv::ExitCode::kInvalidArguments,
               {"pareto"});
  EXPECT_EQ(parse_retrieval_distribution("random"), RetrievalDistribution::kUniform);
}
