#include "engine/io/payload.hpp"

#include <gtest/gtest.h>
#include <zstd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <random>
#include <unordered_set>
#include <vector>

namespace {

using kv::io::FillMemo;
using kv::io::GeneratedPayload;
using kv::io::PayloadGenerator;
using kv::io::PayloadMode;

std::vector<std::byte> gen(const PayloadGenerator& g, const std::string& key, std::uint64_t off,
                           std::size_t n) {
  std::vector<std::byte> v(n);
  g.fill(g.entry_seed(key), off, v);
  return v;
}

std::uint64_t block_hash(const std::byte* p) {
  // FNV-1a over 4 KiB; collisions are irrelevant at these counts (we also compare on hit).
  std::uint64_t h = 1469598103934665603ULL;
  for (int i = 0; i < 4096; ++i) h = (h ^ static_cast<std::uint8_t>(p[i])) * 1099511628211ULL;
  return h;
}

std::size_t zstd_size(std::span<const std::byte> v, int window_log, bool long_distance) {
  std::vector<char> out(ZSTD_compressBound(v.size()));
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, 3);
  if (long_distance) ZSTD_CCtx_setParameter(cctx, ZSTD_c_enableLongDistanceMatching, 1);
  if (window_log > 0) ZSTD_CCtx_setParameter(cctx, ZSTD_c_windowLog, window_log);
  const std::size_t n = ZSTD_compress2(cctx, out.data(), out.size(), v.data(), v.size());
  ZSTD_freeCCtx(cctx);
  EXPECT_FALSE(ZSTD_isError(n));
  return n;
}

// The properties both modes guarantee (docs/performance.md, "Payload generator").
class PayloadModes : public ::testing::TestWithParam<PayloadMode> {};
INSTANTIATE_TEST_SUITE_P(Modes, PayloadModes,
                         ::testing::Values(PayloadMode::kFull, PayloadMode::kStamped),
                         [](const auto& info) {
                           return info.param == PayloadMode::kFull ? "Full" : "Stamped";
                         });

TEST_P(PayloadModes, SameKeyAndSeedGiveSameBytes) {
  PayloadGenerator a(42, GetParam()), b(42, GetParam());
  EXPECT_EQ(gen(a, "user_1_turn_2", 0, 1 << 20), gen(b, "user_1_turn_2", 0, 1 << 20));
  EXPECT_EQ(a.entry_seed("k"), b.entry_seed("k"));
}

TEST_P(PayloadModes, DifferentKeyOrSeedGiveDifferentBytes) {
  PayloadGenerator a(42, GetParam()), b(43, GetParam());
  EXPECT_NE(gen(a, "k1", 0, 4096), gen(a, "k2", 0, 4096));
  EXPECT_NE(gen(a, "k1", 0, 4096), gen(b, "k1", 0, 4096));
  EXPECT_NE(a.entry_seed("k1"), b.entry_seed("k1"));
}

TEST_P(PayloadModes, AnyChunkingGivesIdenticalBytes) {
  PayloadGenerator g(7, GetParam());
  const std::size_t total = 3 * 4096 * 7 + 1234;
  const auto whole = gen(g, "key", 0, total);
  GeneratedPayload src(g, "key");
  for (std::size_t chunk : {1UL, 7UL, 100UL, 4095UL, 4096UL, 4097UL, 65536UL + 13}) {
    std::vector<std::byte> pieced(total);
    for (std::size_t off = 0; off < total; off += chunk) {
      const std::size_t n = std::min(chunk, total - off);
      src.fill(off, {pieced.data() + off, n});
    }
    EXPECT_EQ(pieced, whole) << "chunk " << chunk;
  }
  // A window at an arbitrary offset equals that slice of the whole.
  const auto mid = gen(g, "key", 5000, 9000);
  EXPECT_TRUE(std::equal(mid.begin(), mid.end(), whole.begin() + 5000));
  // Also a large one (streaming stores) at an offset that is not a multiple of 16.
  const auto big = gen(g, "key", 4099, 2 << 20);
  const auto ref = gen(g, "key", 0, 4099 + (2 << 20));
  EXPECT_TRUE(std::equal(big.begin(), big.end(), ref.begin() + 4099));
}

TEST_P(PayloadModes, FewerThanOnePercentDuplicateBlocksWithinAndAcrossEntries) {
  PayloadGenerator g(42, GetParam());
  constexpr std::size_t kEntry = 64ULL << 20;
  std::vector<std::byte> buf(kEntry);
  std::unordered_set<std::uint64_t> seen;
  std::size_t blocks = 0, dups = 0;
  // One whole 64 MiB entry.
  g.fill(g.entry_seed("big_entry"), 0, buf);
  for (std::size_t off = 0; off < kEntry; off += 4096, ++blocks) {
    if (!seen.insert(block_hash(buf.data() + off)).second) ++dups;
  }
  EXPECT_LT(static_cast<double>(dups), 0.01 * static_cast<double>(blocks));
  const std::size_t within = dups;
  // 50 more entries (1 MiB each) against everything seen so far.
  for (int e = 0; e < 50; ++e) {
    std::span<std::byte> one(buf.data(), 1 << 20);
    g.fill(g.entry_seed("entry_" + std::to_string(e)), 0, one);
    for (std::size_t off = 0; off < one.size(); off += 4096, ++blocks) {
      if (!seen.insert(block_hash(one.data() + off)).second) ++dups;
    }
  }
  EXPECT_LT(static_cast<double>(dups), 0.01 * static_cast<double>(blocks));
  EXPECT_EQ(within, 0U);
  EXPECT_EQ(dups, 0U);
}

TEST_P(PayloadModes, EveryBlockIncompressibleAndBytesUniform) {
  PayloadGenerator g(1, GetParam());
  const auto v = gen(g, "x", 0, 8 << 20);
  std::array<std::uint64_t, 256> hist{};
  for (auto b : v) ++hist[static_cast<std::uint8_t>(b)];
  const double expect = static_cast<double>(v.size()) / 256.0;
  double chi2 = 0;
  for (auto h : hist)
    chi2 += (static_cast<double>(h) - expect) * (static_cast<double>(h) - expect) / expect;
  EXPECT_LT(chi2, 400.0);  // 255 dof: mean 255, sd ~22.6; 400 is > 6 sd
  // What a storage system's inline compression sees: 4 KiB blocks and 128 KiB records.
  for (std::size_t unit : {std::size_t{4096}, std::size_t{128} << 10}) {
    for (std::size_t off = 0; off + unit <= v.size(); off += 61 * unit) {
      const auto n = zstd_size({v.data() + off, unit}, 0, false);
      EXPECT_GT(static_cast<double>(n), 0.99 * static_cast<double>(unit)) << unit << " at " << off;
    }
  }
}

// The stamped mode's known limit, stated in docs/performance.md: its base repeats every
// kStampPeriod bytes, so a compressor whose window spans two periods finds the repeat (the full
// mode's bytes do not repeat; FullModeHasNoLongRangeRepeats below).
TEST(Payload, StampedBaseRepeatsAfterOnePeriod) {
  PayloadGenerator g(1, PayloadMode::kStamped);
  const std::size_t period = PayloadGenerator::kStampPeriod;
  const auto one = gen(g, "x", 0, period);
  EXPECT_GT(static_cast<double>(zstd_size(one, 24, true)), 0.99 * static_cast<double>(period));
  const auto two = gen(g, "x", 0, 2 * period);
  EXPECT_LT(static_cast<double>(zstd_size(two, 25, true)), 0.6 * static_cast<double>(two.size()));
  // The same positions of another entry share the base too: only the stamps differ.
  const auto other = gen(g, "y", 0, 4096);
  EXPECT_EQ(std::memcmp(one.data() + PayloadGenerator::kStampBytes,
                        other.data() + PayloadGenerator::kStampBytes,
                        4096 - PayloadGenerator::kStampBytes),
            0);
  EXPECT_NE(std::memcmp(one.data(), other.data(), PayloadGenerator::kStampBytes), 0);
}

// fill_reusing() into a buffer that keeps what earlier fills, headers and reads left in it gives
// exactly fill()'s bytes, whatever the sequence (a model-based test: random offsets chosen so
// that the buffer's arrangement often matches, foreign writes in between).
TEST(Payload, FillReusingEqualsFillOverRandomReuse) {
  const PayloadGenerator g1(3, PayloadMode::kStamped), g2(4, PayloadMode::kStamped);
  const PayloadGenerator full(3, PayloadMode::kFull);
  const std::size_t period = PayloadGenerator::kStampPeriod;
  std::vector<std::byte> buf(period + 3 * 4096);
  std::vector<std::byte> expect;
  FillMemo memo;
  std::mt19937_64 rng(11);
  int fast = 0;
  std::uint64_t g1_source = 0;
  for (int op = 0; op < 100; ++op) {
    const std::uint64_t r = rng() % 10;
    if (r == 0) {  // a read (or anything else) overwrote the buffer
      std::fill(buf.begin(), buf.begin() + static_cast<long>(rng() % buf.size()), std::byte{0x5a});
      memo.reset();
      continue;
    }
    if (r == 1) {  // a header written at the start
      const std::size_t h = 64 * (1 + rng() % 64);
      std::fill(buf.begin(), buf.begin() + static_cast<long>(h), std::byte{0xa5});
      memo.overwritten(buf.data(), h);
      continue;
    }
    const PayloadGenerator& g = r == 2 ? g2 : r == 3 ? full : g1;
    const std::size_t start = (rng() % 2) ? 0 : 64 * (rng() % 128);  // chunk k>0 or chunk 0
    const std::size_t len = 1 + rng() % (buf.size() - start);
    // Offsets of the form k * period - start (the arrangement of the buffer's usual chunks),
    // sometimes shifted.
    std::uint64_t offset = (rng() % 4) * period + period - start;
    if (rng() % 4 == 0) offset += 64 * (rng() % 64);
    const std::uint64_t es = g.entry_seed("k" + std::to_string(rng() % 3));
    const std::span<std::byte> out(buf.data() + start, len);
    const std::uint64_t phase =
        (reinterpret_cast<std::uintptr_t>(out.data()) - offset) & (period - 1);
    if (&g == &g1 && memo.source == g1_source && memo.phase == phase &&
        memo.lo < out.data() + len && out.data() < memo.hi)
      ++fast;
    g.fill_reusing(es, offset, out, memo);
    if (&g == &g1) g1_source = memo.source;
    expect.resize(len);
    g.fill(es, offset, expect);
    ASSERT_EQ(std::memcmp(out.data(), expect.data(), len), 0) << "op " << op;
  }
  EXPECT_GE(fast, 5);  // the sequence did exercise the stamps-only path
}

// The full mode's bytes do not repeat: zstd with a window over the whole sample (two stamped
// periods) and long-distance matching finds nothing to compress (repeated noise blocks are
// XOR-masked differently, so no byte sequence repeats).
TEST(Payload, FullModeHasNoLongRangeRepeats) {
  PayloadGenerator g(1);
  const auto v = gen(g, "x", 0, 2 * PayloadGenerator::kStampPeriod);
  EXPECT_GT(static_cast<double>(zstd_size(v, 25, true)), 0.99 * static_cast<double>(v.size()));
  // Sanity of the check itself: a payload made of one repeated 64 KiB piece does compress.
  std::vector<std::byte> rep(v.size());
  for (std::size_t i = 0; i < rep.size(); ++i) rep[i] = v[i % 65536];
  EXPECT_LT(static_cast<double>(zstd_size(rep, 0, false)), 0.1 * static_cast<double>(rep.size()));
}

}  // namespace
