// Payload generator: every 4 KiB block b of an entry is 512 words of a wyrand stream whose start
// state is a hash of (entry_seed, b). Bytes therefore depend only on (seed, key, offset): a chunk
// generated at any offset equals the same range of a whole-entry generation. Distinct blocks start
// from distinct 64-bit states, so duplicate 4 KiB blocks (within and across entries) do not occur in
// practice, and the words pass as uniform random bytes (incompressible).
#include "engine/io/payload.hpp"

#include <xxhash.h>

#include <algorithm>
#include <cstring>

namespace kv::io {
namespace {

__extension__ typedef unsigned __int128 u128;

constexpr std::uint64_t kBlock = 4096;
constexpr std::uint64_t kWyP0 = 0xa0761d6478bd642fULL;
constexpr std::uint64_t kWyP1 = 0xe7037ed1a0b428dbULL;

inline std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

inline std::uint64_t mum(std::uint64_t a, std::uint64_t b) {
  const u128 r = static_cast<u128>(a) * b;
  return static_cast<std::uint64_t>(r >> 64) ^ static_cast<std::uint64_t>(r);
}

inline void store_le64(std::byte* p, std::uint64_t v) {
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
  v = __builtin_bswap64(v);
#endif
  std::memcpy(p, &v, sizeof v);
}

// One whole 4 KiB block.
inline void gen_block(std::uint64_t entry_seed, std::uint64_t block, std::byte* dst) {
  std::uint64_t s = splitmix64(entry_seed ^ splitmix64(block));
  for (std::uint64_t j = 0; j < kBlock / 8; j += 4) {
    const std::uint64_t s0 = s + kWyP0, s1 = s + 2 * kWyP0, s2 = s + 3 * kWyP0, s3 = s + 4 * kWyP0;
    s = s3;
    store_le64(dst + 8 * j, mum(s0, s0 ^ kWyP1));
    store_le64(dst + 8 * j + 8, mum(s1, s1 ^ kWyP1));
    store_le64(dst + 8 * j + 16, mum(s2, s2 ^ kWyP1));
    store_le64(dst + 8 * j + 24, mum(s3, s3 ^ kWyP1));
  }
}

}  // namespace

PayloadGenerator::PayloadGenerator(std::uint64_t seed) : seed_(seed) {}

std::uint64_t PayloadGenerator::entry_seed(std::string_view key) const {
  return XXH3_64bits_withSeed(key.data(), key.size(), seed_);
}

void PayloadGenerator::fill(std::uint64_t entry_seed, std::uint64_t offset,
                            std::span<std::byte> out) const {
  std::byte* dst = out.data();
  std::uint64_t left = out.size();
  std::uint64_t pos = offset;
  while (left > 0) {
    const std::uint64_t block = pos / kBlock;
    const std::uint64_t in_block = pos % kBlock;
    const std::uint64_t take = std::min(kBlock - in_block, left);
    if (take == kBlock) {
      gen_block(entry_seed, block, dst);
    } else {
      alignas(64) std::byte tmp[kBlock];
      gen_block(entry_seed, block, tmp);
      std::memcpy(dst, tmp + in_block, take);
    }
    dst += take;
    pos += take;
    left -= take;
  }
}

}  // namespace kv::io
