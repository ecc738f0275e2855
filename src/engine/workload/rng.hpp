// Deterministic random numbers for the workload (docs/reference-behaviour.md#seeds): every choice
// is drawn from a small generator derived from (seed, stream ids...), e.g. (seed, user, request),
// so the same --seed gives the same users, request sizes, keys and payload bytes whatever the
// thread timing. Generator: xoshiro256** seeded through SplitMix64. Not cryptographic; cheap (no
// allocation).
#pragma once

#include <cstdint>
#include <initializer_list>

namespace kv::workload {

__extension__ using u128 = unsigned __int128;

inline std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// Stream domains, so e.g. user profiles and requests never share a stream.
enum class Stream : std::uint64_t {
  kUsers = 1,
  kRequest = 2,
  kThink = 3,
  kPrepopulate = 4,
  kMisc = 5
};

class Rng {
 public:
  explicit Rng(std::uint64_t seed) { reseed(seed); }
  // Generator for the stream (seed, domain, ids...): independent of every other tuple.
  static Rng derive(std::uint64_t seed, Stream domain, std::initializer_list<std::uint64_t> ids) {
    std::uint64_t h = seed ^ 0x6A09E667F3BCC909ULL;
    std::uint64_t s = h;
    h ^= splitmix64(s) + static_cast<std::uint64_t>(domain);
    for (std::uint64_t id : ids) {
      s = h ^ (id * 0xD6E8FEB86659FD93ULL);
      h = splitmix64(s);
    }
    return Rng(h);
  }

  void reseed(std::uint64_t seed) {
    std::uint64_t s = seed;
    for (auto& w : s_) w = splitmix64(s);
  }

  std::uint64_t next() {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  // Uniform in [0, 1).
  double uniform01() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  // Uniform in [lo, hi).
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform01(); }
  // Uniform integer in [lo, hi] (inclusive, like Python's randint). lo > hi returns lo.
  std::int64_t uniform_int(std::int64_t lo, std::int64_t hi) {
    if (hi <= lo) return lo;
    const std::uint64_t range = static_cast<std::uint64_t>(hi - lo) + 1;
    if (range == 0) return static_cast<std::int64_t>(next());  // full 64-bit range
    // Lemire's nearly-divisionless method with rejection: unbiased.
    u128 m = static_cast<u128>(next()) * range;
    auto low = static_cast<std::uint64_t>(m);
    if (low < range) {
      const std::uint64_t threshold = (0 - range) % range;
      while (low < threshold) {
        m = static_cast<u128>(next()) * range;
        low = static_cast<std::uint64_t>(m);
      }
    }
    return lo + static_cast<std::int64_t>(m >> 64);
  }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::uint64_t s_[4]{};
};

}  // namespace kv::workload
