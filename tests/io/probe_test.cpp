#include "engine/io/probe.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

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
  ProbeResult r;
  {
    kvio_test::FileSizeLimit limit(256 << 10);  // writes past it fail with EFBIG
    r = run_probe(o, 0.1, 1 << 20);
  }
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("File too large"), std::string::npos) << r.error;
  EXPECT_TRUE(std::filesystem::is_empty(dir.path)) << "probe files left behind";
}

// Issue 15 item 2c: symlinks planted under the probe's (predictable) file names are replaced, never
// written through; the victim stays byte-identical.
TEST(Probe, PlantedSymlinksAreNotFollowed) {
  kvio_test::TempDir dir;
  kvio_test::TempDir outside;
  const auto victim = outside.path / "victim";
  std::ofstream(victim) << "precious";
  for (int i = 0; i < 4; ++i)
    std::filesystem::create_symlink(victim, dir.path / (".kv_probe_" + std::to_string(::getpid()) +
                                                        "_" + std::to_string(i) + ".npy"));
  BackendOptions o;
  o.dir = dir.path;
  o.chunk_bytes = 64 << 10;
  o.sync = SyncMode::kNone;
  const auto r = run_probe(o, 0.1, 256 << 10);
  EXPECT_TRUE(r.ok) << r.error;
  std::ifstream in(victim);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "precious");
}

}  // namespace
