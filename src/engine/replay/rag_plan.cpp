#include "engine/replay/rag_plan.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>

#include "core/error.hpp"

namespace kv::replay {

RetrievalDistribution parse_retrieval_distribution(const std::string& s, const std::string& flag) {
  if (s == "zipfian") return RetrievalDistribution::kZipfian;
  if (s == "uniform" || s == "random") return RetrievalDistribution::kUniform;
  throw usage_error(flag, "must be zipfian, uniform or random (got '" + s + "')");
}

std::uint32_t rag_chunk_tokens(std::uint64_t bytes_per_token, std::uint64_t max_chunk_bytes,
                               std::uint32_t chunk_size_tokens) {
  const std::uint64_t by_bytes =
      bytes_per_token == 0 ? chunk_size_tokens : max_chunk_bytes / bytes_per_token;
  return static_cast<std::uint32_t>(
      std::max<std::uint64_t>(1, std::min<std::uint64_t>(chunk_size_tokens, by_bytes)));
}

std::vector<RagDocument> plan_rag_documents(const kv::model::ModelConfig& model,
                                            const RagOptions& opts, std::mt19937_64& rng) {
  const bool large = model.is_large();
  const std::uint32_t lo = large ? opts.large_doc_tokens_min : opts.small_doc_tokens_min;
  const std::uint32_t hi =
      std::max(lo, large ? opts.large_doc_tokens_max : opts.small_doc_tokens_max);
  const std::uint32_t chunk =
      rag_chunk_tokens(model.bytes_per_token(), opts.max_chunk_bytes, opts.chunk_size_tokens);
  // The plan is held in memory: bound the chunk count (documents x the most chunks of one).
  constexpr std::uint64_t kMaxPlannedChunks = std::uint64_t{1} << 22;
  const std::uint64_t most_chunks =
      std::uint64_t{opts.num_docs} * ((std::uint64_t{hi} + chunk - 1) / chunk);
  if (most_chunks > kMaxPlannedChunks)
    throw usage_error(
        "--rag-num-docs",
        fmt::format("{} documents of up to {} tokens in {}-token chunks make up to {} "
                    "chunks (at most {}); use fewer documents or larger chunks "
                    "(--config rag.chunk_size_tokens / rag.max_chunk_bytes)",
                    opts.num_docs, hi, chunk, most_chunks, kMaxPlannedChunks));
  std::uniform_int_distribution<std::uint32_t> total_dist(lo, hi);
  std::vector<RagDocument> docs;
  docs.reserve(opts.num_docs);
  char id[32];
  for (std::uint32_t d = 0; d < opts.num_docs; ++d) {
    std::snprintf(id, sizeof id, "doc_%04u", d);
    RagDocument doc;
    doc.id = id;
    doc.total_tokens = std::max<std::uint32_t>(1, total_dist(rng));
    const std::uint64_t n = (doc.total_tokens + chunk - 1) / chunk;
    doc.chunks.reserve(n);
    for (std::uint64_t i = 0; i < n; ++i) {
      const std::uint64_t left = doc.total_tokens - i * chunk;
      doc.chunks.push_back({"rag_" + doc.id + "_chunk_" + std::to_string(i),
                            static_cast<std::uint32_t>(std::min<std::uint64_t>(chunk, left))});
    }
    docs.push_back(std::move(doc));
  }
  return docs;
}

std::vector<double> retrieval_weights(std::size_t n, RetrievalDistribution d) {
  std::vector<double> w(n, 1.0);
  if (d == RetrievalDistribution::kZipfian) {
    for (std::size_t i = 0; i < n; ++i) w[i] = 1.0 / static_cast<double>(i + 1);
  }
  double sum = 0;
  for (double x : w) sum += x;
  for (double& x : w) x /= sum;
  return w;
}

std::vector<std::size_t> select_chunks(std::size_t n, std::size_t k, RetrievalDistribution d,
                                       std::mt19937_64& rng) {
  std::vector<double> w = retrieval_weights(n, d);
  k = std::min(k, n);
  std::vector<std::size_t> picked;
  picked.reserve(k);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  for (std::size_t draw = 0; draw < k; ++draw) {
    double remaining = 0;
    for (double x : w) remaining += x;
    double target = u(rng) * remaining;
    std::size_t choice = n;
    for (std::size_t i = 0; i < n; ++i) {
      if (w[i] <= 0) continue;
      choice = i;  // last positive weight wins on rounding at the end
      if (target < w[i]) break;
      target -= w[i];
    }
    picked.push_back(choice);
    w[choice] = 0;
  }
  return picked;
}

RagRequest make_rag_request(const RagDocument& doc, const RagOptions& opts, std::mt19937_64& rng) {
  RagRequest r;
  r.key = doc.request_key();
  r.chunks = select_chunks(doc.chunks.size(), opts.top_k, opts.distribution, rng);
  for (std::size_t i : r.chunks) r.context_tokens += doc.chunks[i].tokens;
  std::uniform_int_distribution<std::uint32_t> gen(
      opts.gen_tokens_min, std::max(opts.gen_tokens_min, opts.gen_tokens_max));
  r.generation_tokens = gen(rng);
  return r;
}

}  // namespace kv::replay
