// core/wait_ns.hpp: waits derived from hostile inputs never overflow (issue 15 item 7).
#include "core/wait_ns.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

using kv::add_ns;
using kv::clamp_wait_ns;
using kv::kMaxWaitNs;
using kv::seconds_to_wait_ns;

TEST(WaitNs, SecondsAreClampedToZeroAndAYear) {
  EXPECT_EQ(seconds_to_wait_ns(1.5), 1'500'000'000);
  EXPECT_EQ(seconds_to_wait_ns(0), 0);
  EXPECT_EQ(seconds_to_wait_ns(-3), 0);
  EXPECT_EQ(seconds_to_wait_ns(std::nan("")), 0);
  EXPECT_EQ(seconds_to_wait_ns(1e300), kMaxWaitNs);
  EXPECT_EQ(seconds_to_wait_ns(std::numeric_limits<double>::infinity()), kMaxWaitNs);
  EXPECT_EQ(clamp_wait_ns(1.0 / 1e-300), kMaxWaitNs);  // a transfer at 1e-300 GB/s
  EXPECT_EQ(kMaxWaitNs, 366LL * 86400 * 1'000'000'000);
}

TEST(WaitNs, InstantsSaturateInsteadOfWrapping) {
  constexpr auto kMax = std::numeric_limits<std::int64_t>::max();
  constexpr auto kMin = std::numeric_limits<std::int64_t>::min();
  EXPECT_EQ(add_ns(10, 5), 15);
  EXPECT_EQ(add_ns(kMax - 1, kMaxWaitNs), kMax);
  EXPECT_EQ(add_ns(kMin + 1, -kMaxWaitNs), kMin);
  // A replay adding a year per record forever stays at the far future.
  std::int64_t due = 0;
  for (int i = 0; i < 400; ++i) due = add_ns(due, kMaxWaitNs);
  EXPECT_EQ(due, kMax);
}
