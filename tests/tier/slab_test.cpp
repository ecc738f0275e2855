// Slab placement of GPU-tier objects (engine/tier/slab.hpp): best fit, scatter when fragmented,
// merge on release, rounding, refusal when full.
#include "engine/tier/slab.hpp"

#include <gtest/gtest.h>

namespace {

using kv::tier::detail::Extent;
using kv::tier::detail::SlabAllocator;

std::uint64_t total(const std::vector<Extent>& v) {
  std::uint64_t t = 0;
  for (const auto& e : v) t += e.bytes;
  return t;
}

TEST(Slab, RoundsAndRefusesWhenFull) {
  SlabAllocator s(1000, 256);  // capacity rounds down to 768
  EXPECT_EQ(s.capacity(), 768u);
  std::vector<Extent> a;
  ASSERT_TRUE(s.allocate(300, a));  // → 512
  EXPECT_EQ(total(a), 512u);
  std::vector<Extent> b;
  EXPECT_FALSE(s.allocate(300, b));  // 512 more does not fit in 256
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(s.free_bytes(), 256u);
  ASSERT_TRUE(s.allocate(1, b));
  EXPECT_EQ(s.free_bytes(), 0u);
  std::vector<Extent> z;
  EXPECT_TRUE(s.allocate(0, z));  // zero bytes take nothing
  EXPECT_TRUE(z.empty());
}

TEST(Slab, BestFitThenScatterAndMergeOnRelease) {
  SlabAllocator s(10 * 100, 100);
  std::vector<std::vector<Extent>> parts(10);
  for (auto& p : parts) ASSERT_TRUE(s.allocate(100, p));
  // Free slots 1, 3, 4 and 7: holes of 100, 200 and 100 bytes.
  for (int i : {1, 3, 4, 7}) s.release(parts[static_cast<std::size_t>(i)]);
  EXPECT_EQ(s.free_extent_count(), 3u);  // 3 and 4 merged
  std::vector<Extent> fit;
  ASSERT_TRUE(s.allocate(200, fit));  // best fit: the 200-byte hole, one extent
  ASSERT_EQ(fit.size(), 1u);
  EXPECT_EQ(fit[0].offset, 300u);
  s.release(fit);
  std::vector<Extent> wide;
  ASSERT_TRUE(s.allocate(400, wide));  // no hole is large enough: scattered over all of them
  EXPECT_EQ(total(wide), 400u);
  EXPECT_EQ(wide.size(), 3u);
  EXPECT_EQ(s.free_bytes(), 0u);
  s.release(wide);
  for (int i : {0, 2, 5, 6, 8, 9}) s.release(parts[static_cast<std::size_t>(i)]);
  EXPECT_EQ(s.free_extent_count(), 1u);  // everything merged back into one extent
  EXPECT_EQ(s.free_bytes(), 1000u);
}

}  // namespace
