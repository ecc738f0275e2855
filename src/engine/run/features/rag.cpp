// --enable-rag as a run feature (docs/workload-modes.md "RAG").
#include <cstdio>

#include "core/error.hpp"
#include "engine/run/features.hpp"
#include "engine/run/progress.hpp"
#include "engine/run/state.hpp"

namespace kv::engine::run::features {

Rag::Rag(const EngineConfig& c, const YamlSettings& y, const model::ModelConfig& m,
         std::uint64_t seed) {
  modes::RagSettings rs;
  rs.options.num_docs = static_cast<std::uint32_t>(c.rag_num_docs);
  rs.options.chunk_size_tokens = static_cast<std::uint32_t>(y.rag_chunk_size_tokens);
  rs.options.top_k = static_cast<std::uint32_t>(y.rag_top_k_chunks);
  rs.options.max_chunk_bytes = static_cast<std::uint64_t>(y.rag_max_chunk_bytes);
  rs.options.distribution = replay::parse_retrieval_distribution(y.rag_retrieval_distribution);
  rs.options.large_doc_tokens_min = static_cast<std::uint32_t>(y.rag_large_model_doc_tokens_min);
  rs.options.large_doc_tokens_max = static_cast<std::uint32_t>(y.rag_large_model_doc_tokens_max);
  rs.options.small_doc_tokens_min = static_cast<std::uint32_t>(y.rag_small_model_doc_tokens_min);
  rs.options.small_doc_tokens_max = static_cast<std::uint32_t>(y.rag_small_model_doc_tokens_max);
  rs.request_probability = y.rag_request_probability;
  rs.max_documents = static_cast<std::uint32_t>(y.rag_max_documents);
  rag_ = std::make_unique<modes::RagWorkload>(m, rs, seed);
}

// --decode-only: the window must have no writes, so the documents are ingested before it (the
// run resets the statistics after the pre-population).
void Rag::on_prepare(RunState& s) {
  if (!s.config().decode_only) return;
  std::fprintf(stdout, "Ingesting %zu RAG documents before the run (--decode-only)...\n",
               rag_->documents().size());
  std::fflush(stdout);
  workload::StopFlag never;
  const cache::MultiTierCache& cache = *s.cache;
  PhaseProgress progress(ProgressOptions::from(s.config(), s.plan.rank), "prepopulate",
                         "ingesting RAG documents", "documents", [&] {
                           const auto st = cache.stats();
                           return PhaseSample(rag_->stats().value("documents_ingested", 0ULL),
                                              rag_->documents().size(), st.tiers[2].bytes_read,
                                              st.tiers[2].bytes_written);
                         });
  rag_->ingest(*s.request_store, *s.cache, never);
  progress.finish();
  ingested_before_ = true;
}

void Rag::on_window_start(RunState& s) {
  if (!ingested_before_) rag_->start(*s.request_store, *s.cache, s.stop);
}

void Rag::on_finish(RunState& s) {
  rag_->join();
  s.data.mode_results["rag_stats"] = rag_->stats();
}

}  // namespace kv::engine::run::features
