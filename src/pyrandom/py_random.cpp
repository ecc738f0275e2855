#include "pyrandom/py_random.hpp"

#include <bit>
#include <limits>

// This file must be compiled without floating-point contraction (see CMakeLists.txt): uniform()
// has to round a + (b - a) * r exactly as CPython does, never as one fused multiply-add.

namespace kv::pyrandom {

namespace {
constexpr int kM = 397;
constexpr std::uint32_t kMatrixA = 0x9908b0dfU;
constexpr std::uint32_t kUpperMask = 0x80000000U;
constexpr std::uint32_t kLowerMask = 0x7fffffffU;
}  // namespace

void PyRandom::init_genrand(std::uint32_t s) {
  mt_[0] = s;
  for (int i = 1; i < kN; ++i) {
    const std::uint32_t prev = mt_[static_cast<std::size_t>(i - 1)];
    mt_[static_cast<std::size_t>(i)] =
        1812433253U * (prev ^ (prev >> 30)) + static_cast<std::uint32_t>(i);
  }
  index_ = kN;
}

void PyRandom::init_by_array(std::span<const std::uint32_t> key) {
  init_genrand(19650218U);
  std::size_t i = 1, j = 0;
  const std::size_t n = kN;
  for (std::size_t k = n > key.size() ? n : key.size(); k > 0; --k) {
    const std::uint32_t prev = mt_[i - 1];
    mt_[i] = (mt_[i] ^ ((prev ^ (prev >> 30)) * 1664525U)) + key[j] + static_cast<std::uint32_t>(j);
    ++i;
    ++j;
    if (i >= n) {
      mt_[0] = mt_[n - 1];
      i = 1;
    }
    if (j >= key.size()) j = 0;
  }
  for (std::size_t k = n - 1; k > 0; --k) {
    const std::uint32_t prev = mt_[i - 1];
    mt_[i] = (mt_[i] ^ ((prev ^ (prev >> 30)) * 1566083941U)) - static_cast<std::uint32_t>(i);
    ++i;
    if (i >= n) {
      mt_[0] = mt_[n - 1];
      i = 1;
    }
  }
  mt_[0] = 0x80000000U;  // MSB is 1, assuring a non-zero initial array
}

void PyRandom::seed_int(std::int64_t seed) {
  // |INT64_MIN| = 2^63 fits in the unsigned magnitude.
  const std::uint64_t mag =
      seed < 0 ? 0 - static_cast<std::uint64_t>(seed) : static_cast<std::uint64_t>(seed);
  seed_magnitude(mag);
}

void PyRandom::seed_magnitude(std::uint64_t magnitude) {
  // CPython: the key is |seed| as 32-bit little-endian words, as many as its bit length needs, and
  // one zero word for seed 0.
  const std::array<std::uint32_t, 2> words{static_cast<std::uint32_t>(magnitude),
                                           static_cast<std::uint32_t>(magnitude >> 32)};
  const std::size_t used = magnitude >> 32 != 0 ? 2 : 1;
  init_by_array(std::span<const std::uint32_t>(words.data(), used));
}

void PyRandom::generate() {
  std::size_t kk = 0;
  for (; kk < kN - kM; ++kk) {
    const std::uint32_t y = (mt_[kk] & kUpperMask) | (mt_[kk + 1] & kLowerMask);
    mt_[kk] = mt_[kk + kM] ^ (y >> 1) ^ ((y & 1U) != 0 ? kMatrixA : 0U);
  }
  for (; kk < kN - 1; ++kk) {
    const std::uint32_t y = (mt_[kk] & kUpperMask) | (mt_[kk + 1] & kLowerMask);
    mt_[kk] = mt_[kk + kM - kN] ^ (y >> 1) ^ ((y & 1U) != 0 ? kMatrixA : 0U);
  }
  const std::uint32_t y = (mt_[kN - 1] & kUpperMask) | (mt_[0] & kLowerMask);
  mt_[kN - 1] = mt_[kM - 1] ^ (y >> 1) ^ ((y & 1U) != 0 ? kMatrixA : 0U);
  index_ = 0;
}

std::uint32_t PyRandom::next_u32() {
  if (index_ >= kN) generate();
  std::uint32_t y = mt_[static_cast<std::size_t>(index_++)];
  y ^= y >> 11;
  y ^= (y << 7) & 0x9d2c5680U;
  y ^= (y << 15) & 0xefc60000U;
  y ^= y >> 18;
  return y;
}

double PyRandom::random() {
  const std::uint32_t a = next_u32() >> 5;
  const std::uint32_t b = next_u32() >> 6;
  return (a * 67108864.0 + b) * (1.0 / 9007199254740992.0);
}

std::uint64_t PyRandom::getrandbits(int k) {
  if (k < 0 || k > 64) throw std::invalid_argument("PyRandom::getrandbits: k must be in [0, 64]");
  if (k == 0) return 0;
  if (k <= 32) return next_u32() >> (32 - k);
  const std::uint64_t low = next_u32();
  const std::uint64_t high = next_u32() >> (64 - k);
  return low | (high << 32);
}

std::uint64_t PyRandom::randbelow(std::uint64_t n) {
  if (n == 0) return 0;
  const int k = std::bit_width(n);
  std::uint64_t r = getrandbits(k);
  while (r >= n) r = getrandbits(k);
  return r;
}

std::int64_t PyRandom::randrange(std::int64_t start, std::int64_t stop) {
  if (start >= stop) throw std::invalid_argument("PyRandom::randrange: empty range");
  const std::uint64_t width = static_cast<std::uint64_t>(stop) - static_cast<std::uint64_t>(start);
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(start) + randbelow(width));
}

std::int64_t PyRandom::randint(std::int64_t a, std::int64_t b) {
  if (a > b) throw std::invalid_argument("PyRandom::randint: a > b");
  if (b < std::numeric_limits<std::int64_t>::max()) return randrange(a, b + 1);
  // b + 1 would overflow: the same draw without it.
  const std::uint64_t width = static_cast<std::uint64_t>(b) - static_cast<std::uint64_t>(a) + 1;
  if (width != 0)
    return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) + randbelow(width));
  // The full 64-bit range: CPython's _randbelow(2^64) draws 65 bits and rejects those >= 2^64.
  for (;;) {
    const std::uint64_t low = next_u32();
    const std::uint64_t high = next_u32();
    if ((next_u32() >> 31) == 0)
      return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) + (low | high << 32));
  }
}

double PyRandom::uniform(double a, double b) {
  return a + (b - a) * random();
}

}  // namespace kv::pyrandom
