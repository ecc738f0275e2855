// CPython's `random` module, bit for bit, for the draws where the reference engine's results depend
// on it (the synthetic user population, docs/metrics.md "Same seed, same users").
//
// Contract: a PyRandom seeded with integer s produces exactly the numbers that CPython's
// `random.Random(s)` produces for the same sequence of calls: the Mersenne Twister MT19937 seeded
// by init_by_array over the 32-bit little-endian words of |s| (one zero word for s = 0, so seeds 0,
// negative and > 2^32 behave as in CPython), random() (53 bits from two 32-bit outputs),
// getrandbits(k) (32-bit words, least significant first, the last one shifted right), and
// randrange / randint / choice through _randbelow (getrandbits(bit_length(n)) with rejection), and
// uniform = a + (b - a) * random(). Verified against CPython 3.11 in tests/pyrandom/.
// Not thread-safe (one generator per user of it); not cryptographic.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>

namespace kv::pyrandom {

class PyRandom {
 public:
  // random.seed(seed) for an int seed: CPython seeds with abs(seed).
  explicit PyRandom(std::int64_t seed) { seed_int(seed); }
  void seed_int(std::int64_t seed);
  // random.seed(magnitude) for 0 <= magnitude < 2^64 (the absolute value already taken).
  void seed_magnitude(std::uint64_t magnitude);

  // The next raw 32-bit MT19937 output.
  std::uint32_t next_u32();
  // random.random(): uniform in [0, 1) with 53 bits of resolution.
  double random();
  // random.getrandbits(k) for 0 <= k <= 64.
  std::uint64_t getrandbits(int k);
  // random._randbelow(n) for n >= 1 (n = 0 returns 0 as CPython does).
  std::uint64_t randbelow(std::uint64_t n);
  // random.randrange(start, stop) (step 1); requires start < stop, else std::invalid_argument.
  std::int64_t randrange(std::int64_t start, std::int64_t stop);
  // random.randint(a, b) = randrange(a, b + 1); requires a <= b.
  std::int64_t randint(std::int64_t a, std::int64_t b);
  // random.uniform(a, b) = a + (b - a) * random().
  double uniform(double a, double b);
  // random.choice(seq): the element at randbelow(size); throws std::invalid_argument when empty.
  template <class T>
  const T& choice(std::span<const T> seq) {
    if (seq.empty()) throw std::invalid_argument("PyRandom::choice: empty sequence");
    return seq[static_cast<std::size_t>(randbelow(seq.size()))];
  }

 private:
  static constexpr int kN = 624;
  void init_genrand(std::uint32_t s);
  void init_by_array(std::span<const std::uint32_t> key);
  void generate();
  std::array<std::uint32_t, kN> mt_{};
  int index_ = kN + 1;
};

}  // namespace kv::pyrandom
