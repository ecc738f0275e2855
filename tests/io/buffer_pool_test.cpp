#include "engine/io/buffer_pool.hpp"

#include <gtest/gtest.h>

namespace {

using kv::io::BufferPool;

// A write takes a free buffer whose memo says it holds payload (only its stamps need rewriting),
// a read one that holds none; otherwise the most recently released buffer (LIFO).
TEST(BufferPool, WritesPreferBuffersHoldingPayloadReadsPreferEmptyOnes) {
  BufferPool pool(4096, 4 * 4096);
  ASSERT_EQ(pool.count(), 4U);
  int held[4];
  for (int& h : held) h = pool.acquire();
  const int payload = held[1];
  pool.memo(payload) = {
      .source = 7, .phase = 0, .lo = pool.data(payload), .hi = pool.data(payload) + 4096};
  for (int h : held) pool.release(h);  // free list, most recent last: held[0..3]

  EXPECT_EQ(pool.acquire(BufferPool::Use::kWrite), payload);
  EXPECT_EQ(pool.acquire(BufferPool::Use::kRead), held[3]);
  EXPECT_EQ(pool.try_acquire(BufferPool::Use::kWrite), held[2]);  // none holds payload: LIFO
  EXPECT_EQ(pool.try_acquire(BufferPool::Use::kAny), held[0]);
  EXPECT_EQ(pool.try_acquire(BufferPool::Use::kRead), -1);
  EXPECT_EQ(pool.outstanding(), 4U);
  EXPECT_EQ(pool.max_outstanding(), 4U);
}

TEST(FillMemo, OverwrittenKeepsTheLargerUntouchedSide) {
  std::byte buf[100];
  kv::io::FillMemo m{.source = 1, .phase = 0, .lo = buf, .hi = buf + 100};
  m.overwritten(buf, 10);  // a header at the start
  EXPECT_EQ(m.lo, buf + 10);
  EXPECT_EQ(m.hi, buf + 100);
  m.overwritten(buf + 80, 30);  // past the end: the tail goes
  EXPECT_EQ(m.hi, buf + 80);
  m.overwritten(buf + 20, 10);  // inside: the larger side [30, 80) stays
  EXPECT_EQ(m.lo, buf + 30);
  EXPECT_EQ(m.hi, buf + 80);
  m.overwritten(buf, 100);  // everything
  EXPECT_EQ(m.source, 0U);
}

}  // namespace
