// Internal to the tier module: the IoResult shapes every in-memory tier returns.
#pragma once

#include <cstdint>
#include <string>

#include "engine/io/backend.hpp"

namespace kv::tier::detail {

// A completed copy of `bytes` that took `ns` nanoseconds: total = device = host (memory tiers).
inline io::IoResult timed_copy(std::uint64_t bytes, std::int64_t ns) {
  io::IoResult r;
  r.ok = true;
  r.bytes = bytes;
  const double s = static_cast<double>(ns) * 1e-9;
  r.timing = {s, s, s};
  return r;
}

inline io::IoResult failed(int err, std::string message) {
  io::IoResult r;
  r.error = err;
  r.message = std::move(message);
  return r;
}

}  // namespace kv::tier::detail
