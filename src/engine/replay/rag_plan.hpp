// RAG document plan and retrieval (docs/workload-modes.md, `--enable-rag`, `--rag-num-docs`,
// config rag.*). Pure functions over a caller-seeded std::mt19937_64; no I/O.
//   * Documents doc_0000 .. doc_{N-1}; total tokens uniform in [large_min, large_max] when
//     ModelConfig::is_large(), else [small_min, small_max] (both inclusive).
//   * Chunk tokens = max(1, min(chunk_size_tokens, max_chunk_bytes / bytes_per_token)); a document
//     has ceil(total / chunk) chunks, the last one partial. Chunk key "rag_<doc>_chunk_<i>"
//     (written in PREFILL at ingestion).
//   * Retrieval weights: zipfian w_i = 1/(i+1) normalised; uniform (also "random") equal. Draw
//     min(top_k, n_chunks) distinct chunks, each draw proportional to the remaining weights.
//   * A RAG request (DECODE phase) has key "rag_<doc>", context = sum of the retrieved chunks'
//     tokens, generation uniform in [50, 200].
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "model/model.hpp"

namespace kv::replay {

enum class RetrievalDistribution { kZipfian, kUniform };

// "zipfian" | "uniform" | "random" (= uniform); throws kv::usage_error(flag, ...) otherwise.
RetrievalDistribution parse_retrieval_distribution(
    const std::string& s, const std::string& flag = "rag.retrieval_distribution");

struct RagOptions {
  std::uint32_t num_docs = 10;                // --rag-num-docs
  std::uint32_t chunk_size_tokens = 512;      // rag.chunk_size_tokens
  std::uint32_t top_k = 5;                    // rag.top_k_chunks
  std::uint64_t max_chunk_bytes = 268435456;  // rag.max_chunk_bytes (256 MiB)
  RetrievalDistribution distribution = RetrievalDistribution::kZipfian;
  std::uint32_t large_doc_tokens_min = 1024, large_doc_tokens_max = 4096;
  std::uint32_t small_doc_tokens_min = 4000, small_doc_tokens_max = 12000;
  std::uint32_t gen_tokens_min = 50, gen_tokens_max = 200;
};

struct RagChunk {
  std::string key;  // rag_<doc>_chunk_<i>
  std::uint32_t tokens = 0;
};

struct RagDocument {
  std::string id;  // doc_0000
  std::uint64_t total_tokens = 0;
  std::vector<RagChunk> chunks;
  std::string request_key() const { return "rag_" + id; }
};

struct RagRequest {
  std::string key;                  // rag_<doc>
  std::vector<std::size_t> chunks;  // retrieved chunk indices, in draw order
  std::uint64_t context_tokens = 0;
  std::uint32_t generation_tokens = 0;
};

std::uint32_t rag_chunk_tokens(std::uint64_t bytes_per_token, std::uint64_t max_chunk_bytes,
                               std::uint32_t chunk_size_tokens = 512);

std::vector<RagDocument> plan_rag_documents(const kv::model::ModelConfig& model,
                                            const RagOptions& opts, std::mt19937_64& rng);

// Normalised weights (sum 1) for n chunks.
std::vector<double> retrieval_weights(std::size_t n, RetrievalDistribution d);

// min(k, n) distinct indices in [0, n), drawn without replacement by weight.
std::vector<std::size_t> select_chunks(std::size_t n, std::size_t k, RetrievalDistribution d,
                                       std::mt19937_64& rng);

RagRequest make_rag_request(const RagDocument& doc, const RagOptions& opts, std::mt19937_64& rng);

}  // namespace kv::replay
