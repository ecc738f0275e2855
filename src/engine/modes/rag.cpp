#include "engine/modes/rag.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "core/log.hpp"
#include "engine/workload/rng.hpp"

namespace kv::engine::modes {

namespace {

// Stream tags under Stream::kMisc (distinct from the other modes' tags).
constexpr std::uint64_t kPlanTag = 0x5241'4700'0001ULL;
constexpr std::uint64_t kStepTag = 0x5241'4700'0002ULL;
constexpr std::uint64_t kFollowTag = 0x5241'4700'0003ULL;
constexpr std::uint64_t kRequestTag = 0x5241'4700'0004ULL;

std::mt19937_64 rng_for(std::uint64_t seed, std::uint64_t tag, std::uint64_t a, std::uint64_t b) {
  return std::mt19937_64(workload::Rng::derive(seed, workload::Stream::kMisc, {tag, a, b}).next());
}

}  // namespace

RagWorkload::RagWorkload(const model::ModelConfig& model, RagSettings settings, std::uint64_t seed)
    : s_(std::move(settings)), seed_(seed) {
  std::mt19937_64 rng = rng_for(seed_, kPlanTag, 0, 0);
  docs_ = replay::plan_rag_documents(model, s_.options, rng);
  chunk_tokens_ = replay::rag_chunk_tokens(model.bytes_per_token(), s_.options.max_chunk_bytes,
                                           s_.options.chunk_size_tokens);
}

RagWorkload::~RagWorkload() {
  join();
}

void RagWorkload::start(workload::KvStore& store, cache::MultiTierCache& cache,
                        workload::StopFlag& stop) {
  thread_ = std::thread([this, &store, &cache, &stop] { ingest(store, cache, stop); });
}

void RagWorkload::join() {
  if (thread_.joinable()) thread_.join();
}

void RagWorkload::ingest(workload::KvStore& store, cache::MultiTierCache& cache,
                         const workload::StopFlag& stop) {
  for (std::uint32_t d = 0; d < docs_.size() && !stop.stopped(); ++d) {
    for (const auto& chunk : docs_[d].chunks) {
      if (stop.stopped()) break;
      const cache::AllocResult r = store.allocate(chunk.key, chunk.tokens, cache::Phase::kPrefill);
      if (r.ok) {
        chunks_written_.fetch_add(1, std::memory_order_relaxed);
      } else {
        chunk_write_failures_.fetch_add(1, std::memory_order_relaxed);
        log::debug("rag: chunk {} not ingested (error {})", chunk.key, r.error);
      }
    }
    if (stop.stopped()) break;
    std::optional<std::uint32_t> victim;
    {
      std::lock_guard lk(mu_);
      live_.push_back(d);
      if (s_.max_documents > 0 && live_.size() > s_.max_documents) {
        victim = live_.front();
        live_.erase(live_.begin());
      }
    }
    docs_ingested_.fetch_add(1, std::memory_order_relaxed);
    if (victim) {  // no longer retrievable: delete its entries
      const replay::RagDocument& doc = docs_[*victim];
      std::uint64_t deleted = 0;
      for (const auto& chunk : doc.chunks) deleted += cache.remove(chunk.key) ? 1 : 0;
      deleted += cache.remove(doc.request_key()) ? 1 : 0;
      entries_deleted_.fetch_add(deleted, std::memory_order_relaxed);
      docs_evicted_.fetch_add(1, std::memory_order_relaxed);
      log::debug("rag: evicted {} ({} entries deleted)", doc.id, deleted);
    }
  }
  ingestion_done_.store(true);
}

std::vector<std::uint32_t> RagWorkload::live_documents() const {
  std::lock_guard lk(mu_);
  return live_;
}

std::optional<std::uint32_t> RagWorkload::pick_live(double u) const {
  std::lock_guard lk(mu_);
  if (live_.empty()) return std::nullopt;
  const auto i = std::min<std::size_t>(
      static_cast<std::size_t>(u * static_cast<double>(live_.size())), live_.size() - 1);
  return live_[i];
}

bool RagWorkload::extra_reads(const workload::Request& req, workload::KvStore& store,
                              workload::RequestOutcome& o, const workload::StopFlag& stop) {
  const replay::RagDocument* doc = nullptr;
  std::vector<std::size_t> chunks;
  if (req.rag_doc >= 0 && static_cast<std::size_t>(req.rag_doc) < docs_.size()) {
    // A RAG request reads the chunks it retrieved (the draw made when it was created).
    doc = &docs_[static_cast<std::size_t>(req.rag_doc)];
    std::mt19937_64 rng = rng_for(seed_, kRequestTag, req.user_index, req.request_index);
    chunks = replay::make_rag_request(*doc, s_.options, rng).chunks;
  } else {
    std::mt19937_64 rng = rng_for(seed_, kStepTag, req.user_index, req.request_index);
    std::uniform_real_distribution<double> u01(0.0, 1.0);
    const double p = u01(rng);
    const double which = u01(rng);
    if (p >= s_.request_probability) return true;
    const auto d = pick_live(which);
    if (!d) return true;
    doc = &docs_[*d];
    chunks =
        replay::select_chunks(doc->chunks.size(), s_.options.top_k, s_.options.distribution, rng);
    background_retrievals_.fetch_add(1, std::memory_order_relaxed);
  }
  for (std::size_t i : chunks) {
    if (stop.stopped()) {
      o.status = workload::OutcomeStatus::kInterrupted;
      return false;
    }
    const std::string& key = doc->chunks[i].key;
    chunk_reads_.fetch_add(1, std::memory_order_relaxed);
    const cache::AccessResult a = store.access(key, cache::Phase::kDecode, cache::CacheType::kUser);
    if (!a.hit) {
      chunk_misses_.fetch_add(1, std::memory_order_relaxed);
      ++o.misses;
      continue;
    }
    if (!a.ok) {  // a failed read is not a hit (docs/cache.md)
      o.status =
          stop.stopped() ? workload::OutcomeStatus::kInterrupted : workload::OutcomeStatus::kFailed;
      o.failure = fmt::format("read {}: {} (errno {})", key, std::strerror(a.error), a.error);
      return false;
    }
    chunk_hits_.fetch_add(1, std::memory_order_relaxed);
    ++o.reads;
    o.storage_s += a.timing.total_s;
  }
  return true;
}

std::optional<workload::Request> RagWorkload::follow_up(const workload::Request& after) {
  if (after.rag_doc >= 0) return std::nullopt;
  std::mt19937_64 rng = rng_for(seed_, kFollowTag, after.user_index, after.request_index);
  std::uniform_real_distribution<double> u01(0.0, 1.0);
  const double p = u01(rng);
  const double which = u01(rng);
  if (p >= s_.request_probability) return std::nullopt;
  const auto d = pick_live(which);
  if (!d) return std::nullopt;
  workload::Request q;
  q.user_index = after.user_index;
  q.request_index = after.request_index;
  q.priority = after.priority;
  q.qos = after.qos;
  q.rag_doc = static_cast<std::int32_t>(*d);
  std::mt19937_64 req_rng = rng_for(seed_, kRequestTag, q.user_index, q.request_index);
  const replay::RagRequest rr = replay::make_rag_request(docs_[*d], s_.options, req_rng);
  q.cache_key = rr.key;
  q.context_tokens = static_cast<std::uint32_t>(std::max<std::uint64_t>(1, rr.context_tokens));
  q.generate_tokens = rr.generation_tokens;
  q.phase = workload::RequestPhase::kDecode;
  q.decode_key_index = after.decode_key_index;
  rag_requests_.fetch_add(1, std::memory_order_relaxed);
  return q;
}

nlohmann::ordered_json RagWorkload::stats() const {
  std::uint64_t chunks = 0, tokens = 0;
  for (const auto& d : docs_) {
    chunks += d.chunks.size();
    tokens += d.total_tokens;
  }
  nlohmann::ordered_json j;
  j["documents_planned"] = docs_.size();
  j["chunks_planned"] = chunks;
  j["document_tokens_planned"] = tokens;
  j["chunk_tokens"] = chunk_tokens_;
  j["documents_ingested"] = docs_ingested_.load();
  j["ingestion_complete"] = ingestion_done_.load() && docs_ingested_.load() == docs_.size();
  j["chunks_written"] = chunks_written_.load();
  j["chunk_write_failures"] = chunk_write_failures_.load();
  j["max_documents"] = s_.max_documents;
  j["documents_evicted"] = docs_evicted_.load();
  j["entries_deleted"] = entries_deleted_.load();
  j["live_documents"] = live_documents().size();
  j["request_probability"] = s_.request_probability;
  j["top_k_chunks"] = s_.options.top_k;
  j["retrieval_distribution"] =
      s_.options.distribution == replay::RetrievalDistribution::kZipfian ? "zipfian" : "uniform";
  j["rag_requests"] = rag_requests_.load();
  j["background_retrievals"] = background_retrievals_.load();
  j["chunk_reads"] = chunk_reads_.load();
  j["chunk_hits"] = chunk_hits_.load();
  j["chunk_misses"] = chunk_misses_.load();
  return j;
}

}  // namespace kv::engine::modes
