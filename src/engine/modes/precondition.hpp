// --precondition (docs/workload-modes.md): before the run, `threads` threads repeatedly write
// entries "precond_<seq>" of 2048 tokens through the normal tier order (so a CPU tier fills first)
// until `target_bytes` were written; a progress line every `progress_step` bytes (10 GiB), and a
// stop after more than `max_consecutive_failures` (50) consecutive failed writes. The entries stay
// (they occupy capacity and are the first LRU victims); the caller resets the statistics after.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "engine/cache/cache.hpp"

namespace kv::engine::modes {

inline constexpr std::uint64_t kPreconditionTokens = 2048;

struct PreconditionResult {
  std::uint64_t target_bytes = 0;
  std::uint64_t written_bytes = 0;
  std::uint64_t entries = 0;
  std::uint64_t failures = 0;
  unsigned threads = 0;
  bool stopped_on_failures = false;
  bool interrupted = false;
  double seconds = 0;
};

struct PreconditionOptions {
  std::uint64_t target_bytes = 0;
  std::uint64_t entry_bytes = 0;  // object bytes of one 2048-token entry (after TP)
  unsigned threads = 1;
  std::uint64_t progress_step = 10ULL << 30;
  int max_consecutive_failures = 50;
  std::FILE* progress = stdout;  // may be null
};

// `allocate(key)` writes one entry; `cancelled()` is polled between writes (signals).
PreconditionResult run_precondition(
    const std::function<cache::AllocResult(const std::string&)>& allocate,
    const PreconditionOptions& opts, const std::function<bool()>& cancelled);

nlohmann::ordered_json to_json(const PreconditionResult& r);

}  // namespace kv::engine::modes
