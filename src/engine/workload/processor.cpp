#include "engine/workload/processor.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cstring>

#include "core/clock.hpp"
#include "engine/workload/conversation.hpp"
#include "engine/workload/request_factory.hpp"

namespace kv::workload {

RequestProcessor::RequestProcessor(KvStore& store, PrefixCache& prefix, ProcessSettings settings,
                                   StopFlag& stop)
    : store_(store),
      prefix_(prefix),
      s_(settings),
      stop_(settings.drain_end != nullptr ? *settings.drain_end : stop),
      window_stop_(stop) {}

namespace {
// Ends processing with kFailed, or kInterrupted when the failure came with (or after) a stop.
bool fail(RequestOutcome& o, const StopFlag& stop, const std::string& what, const std::string& key,
          int err) {
  o.status = stop.stopped() ? OutcomeStatus::kInterrupted : OutcomeStatus::kFailed;
  o.failure = fmt::format("{} {}: {} (errno {})", what, key, std::strerror(err), err);
  return false;
}
}  // namespace

RequestOutcome RequestProcessor::process(const Request& req, std::string& scratch) {
  RequestOutcome o;
  if (s_.hooks != nullptr && s_.hooks->process(req, store_, o, scratch)) return o;
  auto interrupted = [&] {
    if (!stop_.stopped()) return false;
    o.status = OutcomeStatus::kInterrupted;
    return true;
  };
  auto write = [&](const std::string& key, std::uint64_t tokens, cache::Phase phase, double* into) {
    cache::AllocResult r = store_.allocate(key, tokens, phase);
    if (!r.ok) return fail(o, window_stop_, "write", key, r.error);
    if (!r.existed) ++o.writes;
    o.storage_s += r.timing.total_s;
    if (into) *into += r.timing.total_s;
    return true;
  };
  // Returns false on a failed read; sets *hit.
  auto read = [&](const std::string& key, cache::Phase phase, cache::CacheType type, bool* hit,
                  double* into) {
    cache::AccessResult a = store_.access(key, phase, type);
    *hit = a.hit;
    if (!a.hit) {
      ++o.misses;
      return true;
    }
    if (!a.ok) return fail(o, window_stop_, "read", key, a.error);
    ++o.reads;
    o.storage_s += a.timing.total_s;
    if (into) *into += a.timing.total_s;
    return true;
  };

  std::uint64_t context = req.context_tokens;

  // 2. System-prompt prefix.
  if (req.prefix_prompt >= 0) {
    const SystemPrompt& p = prefix_.prompt(req.prefix_prompt);
    prefix_.count_detected(s_.bytes_per_token, req.prefix_prompt);
    {
      std::lock_guard lk(prefix_.store_mutex(req.prefix_prompt));
      if (!store_.contains(p.key)) {
        if (!write(p.key, p.tokens, cache::Phase::kPrefill, nullptr)) return o;
        prefix_.count_store();
      }
    }
    if (interrupted()) return o;
    bool hit = false;
    if (!read(p.key, cache::Phase::kPrefill, cache::CacheType::kSystem, &hit, nullptr)) return o;
    prefix_.count_read(hit);
    context = context > p.tokens ? context - p.tokens : 1;
  } else {
    prefix_.count_not_detected();
  }

  if (!s_.decode_only) {
    // 3a. Multi-turn history: every earlier turn of this conversation.
    if (!req.conversation_id.empty()) {
      for (std::uint32_t t = 1; t < req.turn; ++t) {
        if (interrupted()) return o;
        ConversationManager::turn_key(scratch, req.conversation_id, t);
        bool hit = false;
        // Decode phase, as the reference: counted in decode_reads, "Decode" in the I/O trace.
        if (!read(scratch, cache::Phase::kDecode, cache::CacheType::kMultiTurn, &hit, nullptr))
          return o;
        (hit ? mt_hits_ : mt_misses_).fetch_add(1, std::memory_order_relaxed);
      }
    }
    // 3b. Prefill write.
    if (req.phase == RequestPhase::kPrefill || req.phase == RequestPhase::kPrefillDecode) {
      if (interrupted()) return o;
      if (!write(req.cache_key, context, cache::Phase::kPrefill, &o.prefill_s)) return o;
      o.wrote_prefill = true;
    }
  }

  // 4. Workload-mode reads (RAG chunks).
  if (s_.hooks != nullptr && !s_.hooks->extra_reads(req, store_, o)) return o;

  // 5. Decode.
  if (!s_.prefill_only &&
      (req.phase == RequestPhase::kDecode || req.phase == RequestPhase::kPrefillDecode)) {
    if (interrupted()) return o;
    const std::string* key = &req.cache_key;
    if (s_.decode_only) {
      scratch = RequestFactory::prepop_key(
          static_cast<std::uint64_t>(std::max<std::int64_t>(0, req.decode_key_index)));
      key = &scratch;
    }
    bool hit = false;
    if (!read(*key, cache::Phase::kDecode, cache::CacheType::kUser, &hit, &o.decode_s)) return o;
    o.decoded = true;
    o.first_token_ns = kv::mono_ns();
    if (!hit) {
      if (!s_.decode_only) {
        if (interrupted()) return o;
        // Charged to the request's storage time, not to decode_s (decode_latencies are reads only,
        // as the reference's).
        if (!write(*key, context, cache::Phase::kPrefill, nullptr)) return o;
      }
    } else {
      const int batch = s_.decode_batch > 0 ? s_.decode_batch : 32;
      const std::uint32_t more = (req.generate_tokens + static_cast<std::uint32_t>(batch) - 1) /
                                 static_cast<std::uint32_t>(batch);
      for (std::uint32_t i = 0; i < more; ++i) {
        if (interrupted()) return o;
        bool again = false;
        if (!read(*key, cache::Phase::kDecode, cache::CacheType::kUser, &again, &o.decode_s))
          return o;
      }
    }
  }

  // 6. Generation time.
  o.generation_s = static_cast<double>(req.generate_tokens) * s_.generation_s_per_token;
  if (o.generation_s > 0) {
    if (stop_.wait_for(std::chrono::duration<double>(o.generation_s))) {
      o.status = OutcomeStatus::kInterrupted;
      return o;
    }
  }
  if (interrupted()) return o;
  return o;
}

}  // namespace kv::workload
