// Per-request I/O sequence (docs/reference-behaviour.md#per-request-io), run by one worker thread
// per request:
//   1. (the worker drops the request if stop is already set)
//   2. prefix: if the request carries a system prompt, write its entry if absent (once, under the
//      prompt's lock) and read it (cache type "system");
//   3. unless --decode-only: multi-turn history reads of every EARLIER turn of the conversation
//      (cache type "multi_turn", decode phase as the reference, also with --prefill-only), then
//      the prefill write of the request's key (context − prompt
//      tokens) if the phase is kPrefill or kPrefillDecode;
//   4. workload-mode hook (RAG chunk reads), if any;
//   5. unless --prefill-only and if the phase is kDecode / kPrefillDecode: one read of the key (the
//      request's, or a random pre-populated one with --decode-only); on a hit ceil(G / batch) more
//      full reads; on a miss (not decode-only) a fallback write;
//   6. generation sleep = G × seconds per token (interruptible by stop);
//   7. the caller records the outcome.
// Every op's latency is charged to the request's storage time. The first failed op ends the request
// as kFailed (never counted as completed, unlike the reference); a stop during processing ends it
// as kInterrupted (the window's stop, or with ProcessSettings::drain_end the drain deadline).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "engine/cache/cache.hpp"
#include "engine/workload/prefix.hpp"
#include "engine/workload/request.hpp"
#include "engine/workload/stop.hpp"

namespace kv::workload {

// What request processing needs from the cache (MultiTierCache in the engine, a fake in tests).
class KvStore {
 public:
  virtual ~KvStore() = default;
  virtual cache::AllocResult allocate(const std::string& key, std::uint64_t tokens, cache::Phase phase) = 0;
  virtual cache::AccessResult access(const std::string& key, cache::Phase phase, cache::CacheType type) = 0;
  virtual bool contains(const std::string& key) const = 0;
};

struct RequestOutcome;

// Optional hooks of the workload modes (engine/modes) into request processing.
class RequestHooks {
 public:
  virtual ~RequestHooks() = default;
  // A request the mode processes entirely itself (Mooncake block requests): returns true with `o`
  // filled; false to let the standard sequence run.
  virtual bool process(const Request& req, KvStore& store, RequestOutcome& o,
                       std::string& scratch) = 0;
  // Step 4 (RAG chunk reads), after the prefill write: adds the reads' cost to `o`; returns
  // false if the request ended there (o.status set to failed or interrupted).
  virtual bool extra_reads(const Request& req, KvStore& store, RequestOutcome& o) = 0;
};

struct ProcessSettings {
  bool prefill_only = false;
  bool decode_only = false;
  int decode_batch = 32;                // decode.batch_size
  double generation_s_per_token = 0;    // 0 / 0.002 / 0.030 (generation_timing)
  std::uint64_t bytes_per_token = 0;    // for prefix bytes_saved
  RequestHooks* hooks = nullptr;        // workload modes (RAG, Mooncake); may be null
  // When set, a request already in flight at the window's stop keeps issuing its operations (as
  // the reference's do) until this flag is raised at the drain deadline; null: the window's stop
  // ends it at its next operation boundary. Either way it is not counted in the window's results.
  StopFlag* drain_end = nullptr;
};

enum class OutcomeStatus { kCompleted, kFailed, kInterrupted };

struct RequestOutcome {
  OutcomeStatus status = OutcomeStatus::kCompleted;
  double storage_s = 0;     // Σ latency of every op charged to the request
  double prefill_s = 0;     // the prefill write (0 if none)
  double decode_s = 0;      // Σ decode reads (not the fallback write after a miss)
  double generation_s = 0;  // G × per-token time
  bool wrote_prefill = false;
  bool decoded = false;
  std::int64_t first_token_ns = 0;  // end of the first decode read (0 = no decode)
  std::uint32_t reads = 0, writes = 0, misses = 0;
  std::string failure;  // first failure, with the key
};

class RequestProcessor {
 public:
  RequestProcessor(KvStore& store, PrefixCache& prefix, ProcessSettings settings, StopFlag& stop);
  // `scratch` is a per-worker string reused for history keys (no allocation once warmed up).
  RequestOutcome process(const Request& req, std::string& scratch);

  std::uint64_t multi_turn_hits() const { return mt_hits_.load(); }
  std::uint64_t multi_turn_misses() const { return mt_misses_.load(); }
  void reset_stats() {
    mt_hits_ = 0;
    mt_misses_ = 0;
  }

 private:
  KvStore& store_;
  PrefixCache& prefix_;
  ProcessSettings s_;
  StopFlag& stop_;  // the flag that ends requests in flight: drain_end when set, else the stop
  // A failure after the window's stop (e.g. an operation cancelled at the drain deadline) ends the
  // request as interrupted, not failed: it is outside the window either way.
  const StopFlag& window_stop_;
  std::atomic<std::uint64_t> mt_hits_{0}, mt_misses_{0};
};

}  // namespace kv::workload
