#include "engine/modes/mooncake.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cstring>
#include <iterator>

#include "core/clock.hpp"
#include "engine/replay/mooncake_trace.hpp"
#include "engine/workload/request_factory.hpp"

namespace kv::engine::modes {

namespace {

void block_key(std::string& out, std::uint64_t id) {
  out.clear();
  fmt::format_to(std::back_inserter(out), "mc_{}", id);
}

}  // namespace

bool MooncakeProcessor::process(const workload::Request& req, workload::KvStore& store,
                                workload::RequestOutcome& o, std::string& scratch) {
  if (!req.mode_data) return false;
  const auto& rec = *std::static_pointer_cast<const replay::MooncakeRecord>(req.mode_data);
  requests_.fetch_add(1, std::memory_order_relaxed);

  auto interrupted = [&] {
    if (!stop_.stopped()) return false;
    o.status = workload::OutcomeStatus::kInterrupted;
    return true;
  };
  auto fail = [&](const char* what, int err) {
    o.status =
        stop_.stopped() ? workload::OutcomeStatus::kInterrupted : workload::OutcomeStatus::kFailed;
    o.failure = fmt::format("{} {}: {} (errno {})", what, scratch, std::strerror(err), err);
    return true;
  };
  // Writes `scratch` (tokens) and charges it; false on failure.
  auto write = [&](std::uint64_t tokens, double* into) {
    const cache::AllocResult r = store.allocate(scratch, tokens, cache::Phase::kPrefill);
    if (!r.ok) return !fail("write", r.error);
    if (r.existed) {
      write_races_.fetch_add(1, std::memory_order_relaxed);
      return true;
    }
    ++o.writes;
    o.storage_s += r.timing.total_s;
    if (into) *into += r.timing.total_s;
    return true;
  };

  // 1. Blocks: read the shared ones, write the new ones.
  for (std::size_t i = 0; i < rec.hash_ids.size(); ++i) {
    if (interrupted()) return true;
    block_key(scratch, rec.hash_ids[i]);
    blocks_.fetch_add(1, std::memory_order_relaxed);
    const cache::AccessResult a =
        store.access(scratch, cache::Phase::kPrefill, cache::CacheType::kUser);
    if (a.hit) {
      if (!a.ok) return fail("read", a.error);  // a failed read is not a hit (docs/cache.md)
      block_hits_.fetch_add(1, std::memory_order_relaxed);
      ++o.reads;
      o.storage_s += a.timing.total_s;
      block_bytes_read_.fetch_add(a.bytes, std::memory_order_relaxed);
      continue;
    }
    ++o.misses;
    block_misses_.fetch_add(1, std::memory_order_relaxed);
    if (s_.decode_only) continue;
    const std::uint32_t before = o.writes;
    if (!write(replay::mooncake_block_tokens(rec, i), &o.prefill_s)) return true;
    if (o.writes != before) {
      block_writes_.fetch_add(1, std::memory_order_relaxed);
      o.wrote_prefill = true;
    }
  }

  // 2. Decode on the last block.
  if (!s_.prefill_only && (s_.decode_only || !rec.hash_ids.empty())) {
    if (interrupted()) return true;
    std::uint64_t tokens = 0;
    if (s_.decode_only) {
      scratch = workload::RequestFactory::prepop_key(
          static_cast<std::uint64_t>(std::max<std::int64_t>(0, req.decode_key_index)));
    } else {
      block_key(scratch, rec.hash_ids.back());
      tokens = replay::mooncake_block_tokens(rec, rec.hash_ids.size() - 1);
    }
    cache::AccessResult a = store.access(scratch, cache::Phase::kDecode, cache::CacheType::kUser);
    o.decoded = true;
    if (a.hit && !a.ok) return fail("read", a.error);
    if (a.hit) {
      ++o.reads;
      o.storage_s += a.timing.total_s;
      o.decode_s += a.timing.total_s;
    } else {
      ++o.misses;
    }
    o.first_token_ns = kv::mono_ns();
    if (!a.hit) {
      if (!s_.decode_only && !write(tokens, &o.decode_s)) return true;
    } else {
      const auto batch = static_cast<std::uint32_t>(s_.decode_batch > 0 ? s_.decode_batch : 32);
      const std::uint32_t more = (req.generate_tokens + batch - 1) / batch;
      for (std::uint32_t k = 0; k < more; ++k) {
        if (interrupted()) return true;
        a = store.access(scratch, cache::Phase::kDecode, cache::CacheType::kUser);
        if (!a.hit) {
          ++o.misses;
          continue;
        }
        if (!a.ok) return fail("read", a.error);
        ++o.reads;
        o.storage_s += a.timing.total_s;
        o.decode_s += a.timing.total_s;
      }
    }
  }

  // 3. Generation time.
  o.generation_s = static_cast<double>(req.generate_tokens) * s_.generation_s_per_token;
  if (o.generation_s > 0 && stop_.wait_for(std::chrono::duration<double>(o.generation_s))) {
    o.status = workload::OutcomeStatus::kInterrupted;
    return true;
  }
  interrupted();
  return true;
}

nlohmann::ordered_json MooncakeProcessor::stats() const {
  const std::uint64_t hits = block_hits_.load(), misses = block_misses_.load();
  nlohmann::ordered_json j;
  j["requests_processed"] = requests_.load();
  j["block_lookups"] = blocks_.load();
  j["block_hits"] = hits;
  j["block_misses"] = misses;
  j["block_hit_rate"] =
      hits + misses > 0 ? static_cast<double>(hits) / static_cast<double>(hits + misses) : 0.0;
  j["block_writes"] = block_writes_.load();
  j["block_write_races"] = write_races_.load();
  j["block_bytes_read"] = block_bytes_read_.load();
  j["block_tokens"] = replay::kMooncakeBlockTokens;
  return j;
}

}  // namespace kv::engine::modes
