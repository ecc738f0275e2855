// RAG (docs/workload-modes.md): ingestion writes every chunk of every document; rag.max_documents
// really deletes the oldest document's chunk entries (and its rag_<doc> entry); chunk reads of a
// RAG request are exactly its retrieved chunks and show up as cache hits; background retrievals and
// follow-up RAG requests happen with the configured probability; every draw is deterministic.
#include "engine/modes/rag.hpp"

#include <gtest/gtest.h>

#include <set>

#include "modes_test_util.hpp"

using namespace kv;
using namespace kv::engine::modes;

namespace {

RagSettings settings(std::uint32_t docs, std::uint32_t max_docs, double p) {
  RagSettings s;
  s.options.num_docs = docs;
  s.options.small_doc_tokens_min =
      1000;  // 2 chunks of 512 tokens each (micro is not a large model)
  s.options.small_doc_tokens_max = 1024;
  s.request_probability = p;
  s.max_documents = max_docs;
  return s;
}

workload::Request normal_request(std::uint32_t user, std::uint64_t index) {
  workload::Request q;
  q.user_index = user;
  q.request_index = index;
  q.priority = 2;
  q.qos = workload::QosLevel::kResponsive;
  q.cache_key = "k";
  return q;
}

}  // namespace

TEST(Rag, IngestionWritesEveryChunkAndEvictionReallyDeletesTheOldestDocuments) {
  modestest::NullCache nc;
  modestest::CacheStore store(*nc.cache);
  workload::StopFlag stop;
  RagWorkload rag(modestest::micro_model(), settings(5, 2, 0.1), 7);
  ASSERT_EQ(rag.documents().size(), 5u);
  // A RAG request entry of the first document exists before it is evicted.
  ASSERT_TRUE(nc.cache->allocate(rag.documents()[0].request_key(), 100).ok);
  rag.ingest(store, *nc.cache, stop);

  EXPECT_EQ(rag.live_documents(), (std::vector<std::uint32_t>{3, 4}));
  std::uint64_t chunks = 0, evicted_chunks = 0;
  for (std::uint32_t d = 0; d < 5; ++d) {
    for (const auto& c : rag.documents()[d].chunks) {
      ++chunks;
      EXPECT_EQ(nc.cache->contains(c.key), d >= 3) << c.key;
      if (d < 3) ++evicted_chunks;
    }
  }
  EXPECT_FALSE(nc.cache->contains(rag.documents()[0].request_key()));
  const auto s = rag.stats();
  EXPECT_EQ(s["chunks_written"], chunks);
  EXPECT_EQ(s["documents_ingested"], 5);
  EXPECT_EQ(s["documents_evicted"], 3);
  EXPECT_EQ(s["entries_deleted"], evicted_chunks + 1);
  EXPECT_EQ(s["live_documents"], 2);
  EXPECT_EQ(s["ingestion_complete"], true);
  EXPECT_EQ(nc.cache->stats().tiers[2].entries, chunks - evicted_chunks);
}

TEST(Rag, UnlimitedDocumentsStayAndChunkTokensFollowTheModel) {
  modestest::NullCache nc;
  modestest::CacheStore store(*nc.cache);
  workload::StopFlag stop;
  RagWorkload rag(modestest::micro_model(), settings(3, 0, 0.1), 1);
  rag.ingest(store, *nc.cache, stop);
  EXPECT_EQ(rag.live_documents().size(), 3u);
  for (const auto& d : rag.documents()) {
    std::uint64_t total = 0;
    for (const auto& c : d.chunks) {
      EXPECT_LE(c.tokens, 512u);
      EXPECT_TRUE(nc.cache->contains(c.key));
      total += c.tokens;
    }
    EXPECT_EQ(total, d.total_tokens);
  }
  EXPECT_EQ(rag.stats()["chunk_tokens"], 512);
}

TEST(Rag, RagRequestsReadTheirRetrievedChunksAsCacheHits) {
  modestest::NullCache nc;
  modestest::CacheStore store(*nc.cache);
  workload::StopFlag stop;
  RagSettings s = settings(4, 0, 1.0);  // p = 1: every normal request is followed by a RAG request
  s.options.small_doc_tokens_min = 4096;
  s.options.small_doc_tokens_max = 4096;  // 8 full chunks: top 5 of 8
  RagWorkload rag(modestest::micro_model(), s, 3);
  EXPECT_FALSE(rag.follow_up(normal_request(0, 0)).has_value()) << "no document ingested yet";
  rag.ingest(store, *nc.cache, stop);
  nc.cache->reset_stats();

  const auto q = rag.follow_up(normal_request(2, 9));
  ASSERT_TRUE(q.has_value());
  EXPECT_EQ(q->phase, workload::RequestPhase::kDecode);
  ASSERT_GE(q->rag_doc, 0);
  EXPECT_EQ(q->cache_key, "rag_" + rag.documents()[static_cast<std::size_t>(q->rag_doc)].id);
  EXPECT_EQ(q->context_tokens, 5u * 512u);
  EXPECT_GE(q->generate_tokens, 50u);
  EXPECT_LE(q->generate_tokens, 200u);
  EXPECT_FALSE(rag.follow_up(*q).has_value()) << "a RAG request has no follow-up";
  // Deterministic: the same triggering request gives the same RAG request.
  const auto again = rag.follow_up(normal_request(2, 9));
  EXPECT_EQ(again->rag_doc, q->rag_doc);
  EXPECT_EQ(again->generate_tokens, q->generate_tokens);

  workload::RequestOutcome o;
  ASSERT_TRUE(rag.extra_reads(*q, store, o, stop));
  EXPECT_EQ(o.reads, 5u);
  EXPECT_EQ(o.misses, 0u);
  const auto st = nc.cache->stats();
  EXPECT_EQ(st.cache_hits, 5u);
  EXPECT_EQ(st.decode_reads, 5u);
  EXPECT_EQ(rag.stats()["chunk_hits"], 5);
}

TEST(Rag, BackgroundRetrievalsHappenWithTheConfiguredProbability) {
  modestest::NullCache nc;
  modestest::CacheStore store(*nc.cache);
  workload::StopFlag stop;
  RagWorkload rag(modestest::micro_model(), settings(3, 0, 0.1), 11);
  rag.ingest(store, *nc.cache, stop);
  std::uint64_t with_reads = 0, follow = 0;
  constexpr int kN = 4000;
  for (int i = 0; i < kN; ++i) {
    workload::RequestOutcome o;
    ASSERT_TRUE(rag.extra_reads(normal_request(1, static_cast<std::uint64_t>(i)), store, o, stop));
    if (o.reads > 0) {
      ++with_reads;
      EXPECT_EQ(o.reads, 2u);  // min(top_k = 5, 2 chunks)
    }
    follow += rag.follow_up(normal_request(1, static_cast<std::uint64_t>(i))).has_value() ? 1 : 0;
  }
  EXPECT_NEAR(static_cast<double>(with_reads) / kN, 0.1, 0.02);
  EXPECT_NEAR(static_cast<double>(follow) / kN, 0.1, 0.02);
  EXPECT_EQ(rag.stats()["background_retrievals"], with_reads);
  EXPECT_EQ(rag.stats()["chunk_misses"], 0);
}

TEST(Rag, EvictedChunksAreMissesAndAStopInterrupts) {
  modestest::NullCache nc;
  modestest::CacheStore store(*nc.cache);
  workload::StopFlag stop;
  RagWorkload rag(modestest::micro_model(), settings(2, 0, 1.0), 5);
  rag.ingest(store, *nc.cache, stop);
  auto q = rag.follow_up(normal_request(0, 0));
  ASSERT_TRUE(q.has_value());
  for (const auto& c : rag.documents()[static_cast<std::size_t>(q->rag_doc)].chunks)
    nc.cache->remove(c.key);
  workload::RequestOutcome o;
  ASSERT_TRUE(rag.extra_reads(*q, store, o, stop));
  EXPECT_EQ(o.reads, 0u);
  EXPECT_EQ(o.misses, 2u);
  stop.request_stop();
  workload::RequestOutcome o2;
  EXPECT_FALSE(rag.extra_reads(*q, store, o2, stop));
  EXPECT_EQ(o2.status, workload::OutcomeStatus::kInterrupted);
}
