#include "engine/metrics/resources.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>

TEST(Resources, ReportsCpuAndRss) {
  constexpr std::size_t kBytes = 64u << 20;
  auto buf = std::make_unique<char[]>(kBytes);
  std::memset(buf.get(), 1, kBytes);  // touch every page so it becomes resident
  const std::uint64_t cur = kv::metrics::current_rss_bytes();
  const auto ru = kv::metrics::resource_usage();
  EXPECT_GE(cur, kBytes);
  EXPECT_GE(ru.peak_rss_bytes, cur);
  EXPECT_GE(ru.user_cpu_s + ru.sys_cpu_s, 0.0);
  volatile char sink = buf[kBytes - 1];
  (void)sink;
}
