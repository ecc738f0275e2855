// RAG workload (docs/workload-modes.md, `--enable-rag`, `--rag-num-docs`, config rag.*), with
// the reference's broken rag.max_documents eviction fixed:
//   * Ingestion: one background thread writes the chunks of doc_0000 .. doc_{N-1} in order
//     (`rag_<doc>_chunk_<i>`, PREFILL writes; a failed chunk is skipped and counted). A document
//     becomes retrievable once all its chunks were tried.
//   * rag.max_documents > 0: when a newly ingested document makes more than that many live, the
//     oldest live document is evicted: it stops being retrievable and its chunk entries and its
//     `rag_<doc>` entry are really deleted from the cache (the reference called a method that did
//     not exist).
//   * Step 4 of every request (extra_reads): a RAG request reads the chunks it retrieved; any other
//     request, with p = rag.request_probability, reads top_k chunks of a random live document
//     (Zipfian or uniform draw without replacement). Chunk reads are DECODE reads of type "user",
//     so they appear in the hit statistics; a missing chunk is a miss.
//   * Follow-up (follow_up): after a normal request, with the same p and once a document is live, a
//     DECODE-phase request `rag_<doc>` with context = Σ retrieved chunk tokens, generation U[50,
//     200].
//   Every random choice is derived from (seed, user, request index): deterministic per seed.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "engine/cache/cache.hpp"
#include "engine/replay/rag_plan.hpp"
#include "engine/workload/processor.hpp"
#include "engine/workload/request.hpp"
#include "engine/workload/stop.hpp"

namespace kv::engine::modes {

struct RagSettings {
  replay::RagOptions options;
  double request_probability = 0.1;  // rag.request_probability
  std::uint32_t max_documents = 0;   // rag.max_documents (0 = unlimited)
};

class RagWorkload {
 public:
  RagWorkload(const model::ModelConfig& model, RagSettings settings, std::uint64_t seed);
  ~RagWorkload();

  // Starts the ingestion thread (writes through `store`, evictions through `cache`).
  void start(workload::KvStore& store, cache::MultiTierCache& cache, workload::StopFlag& stop);
  void join();
  // Runs ingestion on the calling thread (tests).
  void ingest(workload::KvStore& store, cache::MultiTierCache& cache,
              const workload::StopFlag& stop);

  bool extra_reads(const workload::Request& req, workload::KvStore& store,
                   workload::RequestOutcome& o, const workload::StopFlag& stop);
  std::optional<workload::Request> follow_up(const workload::Request& after);

  const std::vector<replay::RagDocument>& documents() const { return docs_; }
  std::vector<std::uint32_t> live_documents() const;
  nlohmann::ordered_json stats() const;

 private:
  std::optional<std::uint32_t> pick_live(double u) const;

  RagSettings s_;
  std::uint64_t seed_;
  std::vector<replay::RagDocument> docs_;
  std::uint32_t chunk_tokens_ = 0;
  mutable std::mutex mu_;
  std::vector<std::uint32_t> live_;  // ingested, not evicted, oldest first
  std::thread thread_;
  std::atomic<std::uint64_t> chunks_written_{0}, chunk_write_failures_{0}, docs_ingested_{0},
      docs_evicted_{0}, entries_deleted_{0}, chunk_reads_{0}, chunk_hits_{0}, chunk_misses_{0},
      rag_requests_{0}, background_retrievals_{0};
  std::atomic<bool> ingestion_done_{false};
};

}  // namespace kv::engine::modes
