#include <gtest/gtest.h>
#include <zstd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <unordered_set>
#include <vector>

#include "engine/io/payload.hpp"

namespace {

using kv::io::GeneratedPayload;
using kv::io::PayloadGenerator;

std::vector<std::byte> gen(const PayloadGenerator& g, const std::string& key, std::uint64_t off, std::size_t n) {
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

TEST(Payload, SameKeyAndSeedGiveSameBytes) {
  PayloadGenerator a(42), b(42);
  EXPECT_EQ(gen(a, "user_1_turn_2", 0, 1 << 20), gen(b, "user_1_turn_2", 0, 1 << 20));
  EXPECT_EQ(a.entry_seed("k"), b.entry_seed("k"));
}

TEST(Payload, DifferentKeyOrSeedGiveDifferentBytes) {
  PayloadGenerator a(42), b(43);
  EXPECT_NE(gen(a, "k1", 0, 4096), gen(a, "k2", 0, 4096));
  EXPECT_NE(gen(a, "k1", 0, 4096), gen(b, "k1", 0, 4096));
  EXPECT_NE(a.entry_seed("k1"), b.entry_seed("k1"));
}

TEST(Payload, AnyChunkingGivesIdenticalBytes) {
  PayloadGenerator g(7);
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
}

TEST(Payload, FewerThanOnePercentDuplicateBlocksWithinAndAcrossEntries) {
  PayloadGenerator g(42);
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

TEST(Payload, IncompressibleAndUniform) {
  PayloadGenerator g(1);
  const auto v = gen(g, "x", 0, 8 << 20);
  std::array<std::uint64_t, 256> hist{};
  for (auto b : v) ++hist[static_cast<std::uint8_t>(b)];
  const double expect = static_cast<double>(v.size()) / 256.0;
  double chi2 = 0;
  for (auto h : hist) chi2 += (static_cast<double>(h) - expect) * (static_cast<double>(h) - expect) / expect;
  EXPECT_LT(chi2, 400.0);  // 255 dof: mean 255, sd ~22.6; 400 is > 6 sd

  // zstd with a window covering the whole sample and long-distance matching finds nothing to
  // compress (repeated noise blocks are XOR-masked differently, so no byte sequence repeats).
  std::vector<char> out(ZSTD_compressBound(v.size()));
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, 3);
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_enableLongDistanceMatching, 1);
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_windowLog, 24);
  const std::size_t n = ZSTD_compress2(cctx, out.data(), out.size(), v.data(), v.size());
  ZSTD_freeCCtx(cctx);
  ASSERT_FALSE(ZSTD_isError(n));
  EXPECT_GT(static_cast<double>(n), 0.99 * static_cast<double>(v.size()));
  // Sanity of the check itself: a payload made of one repeated 64 KiB piece does compress.
  std::vector<std::byte> rep(v.size());
  for (std::size_t i = 0; i < rep.size(); ++i) rep[i] = v[i % 65536];
  const std::size_t m = ZSTD_compress(out.data(), out.size(), rep.data(), rep.size(), 3);
  EXPECT_LT(static_cast<double>(m), 0.1 * static_cast<double>(rep.size()));
}

}  // namespace
