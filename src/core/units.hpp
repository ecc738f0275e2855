// Units. "GB" in flags and JSON keys means GiB (1024^3), as in the reference.
#pragma once

#include <cstdint>

namespace kv {

inline constexpr std::uint64_t kKiB = 1024ULL;
inline constexpr std::uint64_t kMiB = 1024ULL * kKiB;
inline constexpr std::uint64_t kGiB = 1024ULL * kMiB;

inline constexpr std::uint64_t gib_to_bytes(double gib) {
  return gib <= 0 ? 0 : static_cast<std::uint64_t>(gib * static_cast<double>(kGiB));
}
inline constexpr double bytes_to_gib(std::uint64_t b) {
  return static_cast<double>(b) / static_cast<double>(kGiB);
}

}  // namespace kv
