#include <gtest/gtest.h>

#include <filesystem>

#include "engine/io/probe.hpp"
#include "test_util.hpp"

namespace {

using namespace kv::io;

TEST(Probe, MeasuresBothDirectionsAndLeavesNothingBehind) {
  for (Engine e : {Engine::kPosix, Engine::kIoUring}) {
    kvio_test::TempDir dir;
    BackendOptions o;
    o.dir = dir.path;
    o.engine = e;
    o.chunk_bytes = 256 << 10;
    o.io_depth = 4;
    o.max_inflight_bytes = 4 << 20;
    o.sync = SyncMode::kNone;
    const auto r = run_probe(o, 0.2, 2 << 20, 2);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_GT(r.write_gibps, 0);
    EXPECT_GT(r.read_gibps, 0);
    EXPECT_GE(r.files, 2U);
    EXPECT_GE(r.bytes_written, r.files * (2ULL << 20) - (2ULL << 20));
    EXPECT_GT(r.bytes_read, 0U);
    EXPECT_EQ(r.backend, e == Engine::kPosix ? "posix" : "io_uring");
    EXPECT_TRUE(std::filesystem::is_empty(dir.path)) << "probe files left behind";
  }
}

TEST(Probe, ReportsFailureInsteadOfThrowing) {
  kvio_test::TempDir dir;
  BackendOptions o;
  o.dir = dir.path;
  o.chunk_bytes = 64 << 10;
  o.max_inflight_bytes = 1 << 20;
  // The first probe file is a symlink to /dev/full: writes fail with ENOSPC.
  const std::string key = ".kv_probe_" + std::to_string(::getpid()) + "_0.npy";
  std::filesystem::create_symlink("/dev/full", dir.path / key);
  const auto r = run_probe(o, 0.1, 1 << 20);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("No space left"), std::string::npos) << r.error;
}

}  // namespace
