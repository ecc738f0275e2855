// Payload generator: every 4 KiB block b of an entry is a function of (entry_seed, b) only (and the
// mode), so bytes depend only on (seed, key, offset): a chunk generated at any offset equals the
// same range of a whole-entry generation.
#include "engine/io/payload.hpp"

#include <xxhash.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <new>

namespace kv::io {
namespace {

constexpr std::uint64_t kBlock = 4096;

inline std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

inline void store_le64(std::byte* p, std::uint64_t v) {
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
  v = __builtin_bswap64(v);
#endif
  std::memcpy(p, &v, sizeof v);
}

// Block b of an entry = one of kNoiseBlocks random 4 KiB noise blocks, rotated by a multiple of
// 16 bytes and XORed with a 64-bit word, all three picked by x = hash(entry_seed, b). Two blocks
// are equal only if (noise block, rotation, word) all coincide (2^-(6+8+64) per pair), so there
// are no duplicate 4 KiB blocks in practice; blocks sharing a noise block differ in every 8-byte
// word, so no LZ-style compressor or block-hash dedup finds matches. This is load + xor + store
// from an L2-resident table: ~3x faster than running a PRNG over every word (measured on the
// 2-core VM: ~17 GiB/s into cache-sized buffers, ~10 GiB/s into 8 MiB chunks). The noise is fixed
// (seeded by a constant) and shared by the process.
constexpr std::size_t kNoiseBlocks = 64;  // 256 KiB: stays in L2, generated once on first use
constexpr std::size_t kPairs = kBlock / 16;
constexpr std::size_t kStreamMin = 1 << 20;
typedef std::uint64_t v2u64 __attribute__((vector_size(16)));

const std::byte* noise_pool() {
  static const std::byte* const pool = [] {
    auto* p = static_cast<std::byte*>(::operator new (kNoiseBlocks* kBlock, std::align_val_t{64}));
    std::uint64_t s = 0x6a09e667f3bcc908ULL;
    for (std::size_t i = 0; i < kNoiseBlocks * kBlock; i += 8) store_le64(p + i, splitmix64(s++));
    return p;
  }();
  return pool;
}

template <bool kStream>
inline void gen_block(const std::byte* noise, std::uint64_t entry_seed, std::uint64_t block,
                      std::byte* dst) {
  const std::uint64_t x = splitmix64(entry_seed ^ splitmix64(block));
  const std::byte* src = noise + (x % kNoiseBlocks) * kBlock;
  const std::size_t rot = (x >> 32) % kPairs;
  std::uint64_t w = splitmix64(x);
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
  w = __builtin_bswap64(w);
#endif
  const v2u64 h = {w, w};
  const auto xor_copy = [&h](std::byte* d, const std::byte* s, std::size_t pairs) {
#pragma GCC unroll 4
    for (std::size_t j = 0; j < pairs; ++j) {
      v2u64 v;
      std::memcpy(&v, s + j * 16, 16);
      v ^= h;
#if defined(__SSE2__)
      if constexpr (kStream) {
        // Non-temporal store: the destination is an I/O buffer the CPU will not read again, so
        // skip the read-for-ownership and keep the noise table in cache.
        _mm_stream_si128(reinterpret_cast<__m128i*>(d + j * 16), reinterpret_cast<__m128i>(v));
        continue;
      }
#endif
      std::memcpy(d + j * 16, &v, 16);
    }
  };
  xor_copy(dst, src + rot * 16, kPairs - rot);
  xor_copy(dst + (kPairs - rot) * 16, src, rot);
}

// Stamped mode: block b = the base's 4 KiB at (b * 4 KiB) mod kStampPeriod, its first kStampBytes
// replaced by the stamp of (entry_seed, b). The stamp makes every block unique (64 random bits
// would do; 512 make a collision impossible in practice), the base makes it incompressible.
constexpr std::uint64_t kPeriod = PayloadGenerator::kStampPeriod;
constexpr std::uint64_t kStamp = PayloadGenerator::kStampBytes;
static_assert(kPeriod % kBlock == 0 && (kPeriod & (kPeriod - 1)) == 0 && kStamp % 16 == 0);

inline void make_stamp(std::uint64_t entry_seed, std::uint64_t block, std::byte* out) {
  const std::uint64_t x = splitmix64(entry_seed ^ splitmix64(block + 0x5851f42d4c957f2dULL));
  for (std::uint64_t i = 0; i < kStamp / 8; ++i) store_le64(out + 8 * i, splitmix64(x + i));
}

// Copies n bytes (a multiple of 16), with streaming stores when kStream.
template <bool kStream>
inline void copy16(std::byte* d, const std::byte* s, std::size_t n) {
#pragma GCC unroll 4
  for (std::size_t j = 0; j < n; j += 16) {
    v2u64 v;
    std::memcpy(&v, s + j, 16);
#if defined(__SSE2__)
    if constexpr (kStream) {
      _mm_stream_si128(reinterpret_cast<__m128i*>(d + j), reinterpret_cast<__m128i>(v));
      continue;
    }
#endif
    std::memcpy(d + j, &v, 16);
  }
}

template <bool kStream>
inline void stamped_block(const std::byte* base, std::uint64_t entry_seed, std::uint64_t block,
                          std::byte* dst) {
  alignas(16) std::byte stamp[kStamp];
  make_stamp(entry_seed, block, stamp);
  copy16<kStream>(dst, stamp, kStamp);
  copy16<kStream>(dst + kStamp, base + (block * kBlock) % kPeriod + kStamp, kBlock - kStamp);
}

std::atomic<std::uint64_t> g_next_id{1};

}  // namespace

PayloadGenerator::PayloadGenerator(std::uint64_t seed, PayloadMode mode)
    : seed_(seed), mode_(mode), id_(g_next_id.fetch_add(1)) {
  if (mode_ != PayloadMode::kStamped) return;
  base_.resize(kPeriod / 8);
  const std::uint64_t s = seed ^ 0x243f6a8885a308d3ULL;
  for (std::size_t i = 0; i < base_.size(); ++i) {
    store_le64(reinterpret_cast<std::byte*>(&base_[i]), splitmix64(s + i));
  }
}

std::uint64_t PayloadGenerator::entry_seed(std::string_view key) const {
  return XXH3_64bits_withSeed(key.data(), key.size(), seed_);
}

void PayloadGenerator::fill(std::uint64_t entry_seed, std::uint64_t offset,
                            std::span<std::byte> out) const {
  const std::byte* noise = mode_ == PayloadMode::kStamped
                               ? reinterpret_cast<const std::byte*>(base_.data())
                               : noise_pool();
  const auto block_at = [&](bool stream, std::uint64_t block, std::byte* dst) {
    if (mode_ == PayloadMode::kStamped) {
      if (stream) {
        stamped_block<true>(noise, entry_seed, block, dst);
      } else {
        stamped_block<false>(noise, entry_seed, block, dst);
      }
    } else if (stream) {
      gen_block<true>(noise, entry_seed, block, dst);
    } else {
      gen_block<false>(noise, entry_seed, block, dst);
    }
  };
  std::byte* dst = out.data();
  // Large aligned fills (I/O chunks) use streaming stores; small ones stay in cache. The blocks
  // after a partial first one start 16-byte aligned only if the offset is a multiple of 16.
  const bool stream = out.size() >= kStreamMin && reinterpret_cast<std::uintptr_t>(dst) % 16 == 0 &&
                      offset % 16 == 0;
  std::uint64_t left = out.size();
  std::uint64_t pos = offset;
  while (left > 0) {
    const std::uint64_t block = pos / kBlock;
    const std::uint64_t in_block = pos % kBlock;
    const std::uint64_t take = std::min(kBlock - in_block, left);
    if (take == kBlock) {
      block_at(stream, block, dst);
    } else {
      alignas(64) std::byte tmp[kBlock];
      block_at(false, block, tmp);
      std::memcpy(dst, tmp + in_block, take);
    }
    dst += take;
    pos += take;
    left -= take;
  }
#if defined(__SSE2__)
  if (stream) _mm_sfence();  // order the streaming stores before the buffer is handed to I/O
#endif
}

void PayloadGenerator::fill_reusing(std::uint64_t entry_seed, std::uint64_t offset,
                                    std::span<std::byte> out, FillMemo& memo) const {
  if (mode_ != PayloadMode::kStamped) {
    memo.reset();
    fill(entry_seed, offset, out);
    return;
  }
  if (out.empty()) return;
  std::byte* lo = out.data();
  std::byte* hi = lo + out.size();
  // Arrangement: the base byte at address a is base[(a - phase) mod kPeriod].
  const std::uint64_t phase = (reinterpret_cast<std::uintptr_t>(lo) - offset) & (kPeriod - 1);
  if (memo.source == id_ && memo.phase == phase && memo.lo < hi && lo < memo.hi) {
    std::byte* a = std::max(lo, const_cast<std::byte*>(memo.lo));
    std::byte* b = std::min(hi, const_cast<std::byte*>(memo.hi));
    if (a > lo) fill(entry_seed, offset, {lo, static_cast<std::size_t>(a - lo)});
    stamp_only(entry_seed, offset + static_cast<std::uint64_t>(a - lo),
               {a, static_cast<std::size_t>(b - a)});
    if (b < hi) {
      fill(entry_seed, offset + static_cast<std::uint64_t>(b - lo),
           {b, static_cast<std::size_t>(hi - b)});
    }
    memo.lo = std::min(memo.lo, static_cast<const std::byte*>(lo));
    memo.hi = std::max(memo.hi, static_cast<const std::byte*>(hi));
    return;
  }
  fill(entry_seed, offset, out);
  memo = FillMemo{.source = id_, .phase = phase, .lo = lo, .hi = hi};
}

// Writes only the stamp bytes inside [offset, offset + out.size()).
void PayloadGenerator::stamp_only(std::uint64_t entry_seed, std::uint64_t offset,
                                  std::span<std::byte> out) const {
  const std::uint64_t end = offset + out.size();
  [[maybe_unused]] bool streamed = false;
  for (std::uint64_t block = offset / kBlock; block * kBlock < end; ++block) {
    const std::uint64_t s0 = block * kBlock;
    const std::uint64_t from = std::max(s0, offset);
    const std::uint64_t to = std::min(s0 + kStamp, end);
    if (from >= to) continue;  // the range starts past this block's stamp
    alignas(16) std::byte stamp[kStamp];
    make_stamp(entry_seed, block, stamp);
    std::byte* d = out.data() + (from - offset);
#if defined(__SSE2__)
    if (to - from == kStamp && reinterpret_cast<std::uintptr_t>(d) % 16 == 0) {
      copy16<true>(d, stamp, kStamp);  // a whole line: no read-for-ownership
      streamed = true;
      continue;
    }
#endif
    std::memcpy(d, stamp + (from - s0), to - from);
  }
#if defined(__SSE2__)
  if (streamed) _mm_sfence();
#endif
}

}  // namespace kv::io
