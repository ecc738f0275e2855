#include "engine/chunk_latency.hpp"

#include <gtest/gtest.h>

namespace {

// io.window_chunk_bytes: only chunks completed between the window's start and its stop count.
TEST(ChunkLatency, WindowBytesCountOnlyChunksBetweenStartAndStop) {
  kv::engine::ChunkLatency c;
  c.on_chunk(true, 0.001, 100);  // before the window (pre-population)
  c.on_chunk(false, 0.001, 7);
  c.mark_window_start();
  c.on_chunk(true, 0.002, 4096);
  c.on_chunk(true, 0.002, 8192);
  c.on_chunk(false, 0.003, 512);
  c.mark_window_stop();
  c.on_chunk(true, 0.004, 65536);  // the drain
  c.on_chunk(false, 0.004, 1);
  EXPECT_EQ(c.window_bytes(true), 4096U + 8192U);
  EXPECT_EQ(c.window_bytes(false), 512U);
  EXPECT_EQ(c.write().count(), 4U);  // the latency histograms keep every chunk
  EXPECT_EQ(c.read().count(), 3U);
}

TEST(ChunkLatency, NoWindowMeansNoWindowBytes) {
  kv::engine::ChunkLatency c;
  c.on_chunk(true, 0.001, 100);
  EXPECT_EQ(c.window_bytes(true), 0U);
}

}  // namespace
