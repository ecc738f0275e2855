// Internal to the tier module: a bounded, reused per-thread scratch buffer for chunked copies, so
// no tier operation allocates per chunk and payload generation / sink work stays outside timed spans.
#pragma once

#include <cstddef>
#include <memory>
#include <span>

namespace kv::tier::detail {

inline constexpr std::size_t kScratchBytes = 128 * 1024;

inline std::span<std::byte> thread_scratch() {
  thread_local std::unique_ptr<std::byte[]> buf;  // allocated once per thread, on first use
  if (!buf) buf.reset(new std::byte[kScratchBytes]);
  return {buf.get(), kScratchBytes};
}

}  // namespace kv::tier::detail
