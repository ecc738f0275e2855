#include "engine/export/io_trace.hpp"

#include <gtest/gtest.h>
#include <unistd.h>
#include <zstd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "core/error.hpp"
#include "support/files.hpp"
#include "support/temp_dir.hpp"

using namespace kv::exporter;
namespace stdfs = std::filesystem;
using kv::testsupport::lines_of;
using kv::testsupport::slurp;
using kv::testsupport::split;
using kv::testsupport::TempDir;

namespace {
// Decompresses a whole .zst file with libzstd's streaming API (handles several frames).
std::string unzstd(const std::string& in) {
  ZSTD_DCtx* d = ZSTD_createDCtx();
  std::string out;
  std::vector<char> buf(ZSTD_DStreamOutSize());
  ZSTD_inBuffer ib{in.data(), in.size(), 0};
  while (ib.pos < ib.size) {
    ZSTD_outBuffer ob{buf.data(), buf.size(), 0};
    const std::size_t rc = ZSTD_decompressStream(d, &ob, &ib);
    EXPECT_FALSE(ZSTD_isError(rc)) << ZSTD_getErrorName(rc);
    if (ZSTD_isError(rc)) break;
    out.append(buf.data(), ob.pos);
  }
  ZSTD_freeDCtx(d);
  return out;
}
}  // namespace

TEST(IoTrace, CsvRoundTrip) {
  TempDir d;
  const auto p = d / "trace.csv";
  {
    IoTraceWriter w(p);
    EXPECT_FALSE(w.compressed());
    w.record({1700000000.123456, IoOp::kWrite, 131072, 0, "user_1_ctx", IoPhase::kPrefill});
    w.record({1700000000.5, IoOp::kRead, 4096, 2, "rag_doc_0001_chunk_3", IoPhase::kDecode});
    w.record({1700000001.0, IoOp::kRead, 99, 1, "odd,key \"q\"", IoPhase::kEvict});
    w.record({1700000001.0, IoOp::kWrite, 99, 2, "k", IoPhase::kBoth,
              12.5});  // latency ignored: no column
    EXPECT_EQ(w.rows(), 4u);
    w.close();
    w.close();                                                          // idempotent
    w.record({1, IoOp::kRead, 1, 0, "after-close", IoPhase::kDecode});  // ignored
  }
  const auto lines = lines_of(slurp(p));
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines[0], "Timestamp,Operation,Object_Size_Bytes,Tier,Key,Phase");
  EXPECT_EQ(lines[1], "1700000000.123456,Write,131072,Tier-0,user_1_ctx,Prefill");
  EXPECT_EQ(lines[2], "1700000000.500000,Read,4096,Tier-2,rag_doc_0001_chunk_3,Decode");
  EXPECT_EQ(lines[3], "1700000001.000000,Read,99,Tier-1,\"odd,key \"\"q\"\"\",Evict");
  EXPECT_EQ(lines[4], "1700000001.000000,Write,99,Tier-2,k,Both");
}

TEST(IoTrace, LatencyColumnInRealMode) {
  TempDir d;
  const auto p = d / "real.csv";
  IoTraceOptions o;
  o.latency_column = true;
  IoTraceWriter w(p, o);
  w.record({2.0, IoOp::kRead, 10, 2, "a", IoPhase::kDecode, 0.25});
  w.record({3.0, IoOp::kWrite, 10, 2, "b", IoPhase::kEvict});  // no latency -> empty cell
  w.flush();                                                   // visible before close
  auto lines = lines_of(slurp(p));
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], "Timestamp,Operation,Object_Size_Bytes,Tier,Key,Phase,Latency_ms");
  EXPECT_EQ(lines[1], "2.000000,Read,10,Tier-2,a,Decode,0.250000");
  EXPECT_EQ(lines[2], "3.000000,Write,10,Tier-2,b,Evict,");
  w.close();
}

TEST(IoTrace, DefaultTimestampIsNow) {
  TempDir d;
  const auto p = d / "now.csv";
  const double before =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  {
    IoTraceWriter w(p);
    w.record({0, IoOp::kRead, 1, 0, "k", IoPhase::kDecode});
  }
  const auto lines = lines_of(slurp(p));
  ASSERT_EQ(lines.size(), 2u);
  const double ts = std::stod(split(lines[1])[0]);
  EXPECT_GE(ts, before - 1);
  EXPECT_LE(ts, before + 60);
}

TEST(IoTrace, ManyThreadsNoRowLostOrTorn) {
  TempDir d;
  const auto p = d / "mt.csv.zst";
  IoTraceOptions o;
  o.buffer_bytes = 4096;  // force many hand-offs to the writer thread
  o.max_pending_buffers = 2;
  constexpr int kThreads = 4;
  constexpr int kPerThread = 5000;
  {
    IoTraceWriter w(p, o);
    EXPECT_TRUE(w.compressed());
    std::vector<std::thread> ts;
    for (int t = 0; t < kThreads; ++t) {
      ts.emplace_back([&w, t] {
        std::string key;
        for (int i = 0; i < kPerThread; ++i) {
          key = "t" + std::to_string(t) + "_k" + std::to_string(i);
          w.record({1000.0 + i, i % 2 ? IoOp::kRead : IoOp::kWrite, static_cast<std::uint64_t>(i),
                    t % 3, key, IoPhase::kDecode});
        }
      });
    }
    for (auto& th : ts) th.join();
    EXPECT_EQ(w.rows(), static_cast<std::uint64_t>(kThreads * kPerThread));
  }
  const std::string raw = slurp(p);
  ASSERT_GE(raw.size(), 4u);
  EXPECT_EQ(static_cast<unsigned char>(raw[0]), 0x28);  // zstd frame magic 0xFD2FB528 (LE)
  EXPECT_EQ(static_cast<unsigned char>(raw[3]), 0xFD);
  const auto lines = lines_of(unzstd(raw));
  ASSERT_EQ(lines.size(), static_cast<std::size_t>(kThreads * kPerThread + 1));
  std::vector<std::vector<bool>> seen(kThreads, std::vector<bool>(kPerThread, false));
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const auto f = split(lines[i]);
    ASSERT_EQ(f.size(), 6u) << lines[i];
    const auto us = f[4].find('_');
    const int t = std::stoi(f[4].substr(1, us - 1));
    const int k = std::stoi(f[4].substr(us + 2));
    EXPECT_EQ(f[2], std::to_string(k));
    EXPECT_EQ(f[3], "Tier-" + std::to_string(t % 3));
    EXPECT_FALSE(seen[t][k]);
    seen[t][k] = true;
  }
}

TEST(IoTrace, ZstdRoundTripWithFlush) {
  TempDir d;
  const auto p = d / "trace.csv.zst";
  IoTraceWriter w(p);
  w.record({5.0, IoOp::kWrite, 7, 1, "x", IoPhase::kPrefill});
  w.flush();  // a flushed zstd stream decodes up to here even before the frame ends
  EXPECT_EQ(
      unzstd(slurp(p)),
      "Timestamp,Operation,Object_Size_Bytes,Tier,Key,Phase\n5.000000,Write,7,Tier-1,x,Prefill\n");
  w.record({6.0, IoOp::kRead, 7, 1, "x", IoPhase::kDecode});
  w.close();
  const std::string raw = slurp(p);
  EXPECT_EQ(ZSTD_findFrameCompressedSize(raw.data(), raw.size()),
            raw.size());  // one complete frame
  const auto lines = lines_of(unzstd(raw));
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[2], "6.000000,Read,7,Tier-1,x,Decode");
}

TEST(IoTrace, UnwritablePathNamesTheFlag) {
  try {
    IoTraceWriter w("/nonexistent-dir-kv/trace.csv");
    FAIL() << "expected an error";
  } catch (const kv::Error& e) {
    EXPECT_EQ(e.code(), kv::ExitCode::kFileNotFound);
    EXPECT_NE(std::string(e.what()).find("--io-trace-log"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("/nonexistent-dir-kv/trace.csv"), std::string::npos);
  }
}

TEST(IoTrace, WriteErrorIsReportedOnClose) {
  if (!stdfs::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  IoTraceWriter w("/dev/full");
  w.record({1, IoOp::kRead, 1, 0, "k", IoPhase::kDecode});
  try {
    w.close();
    FAIL() << "expected an error";
  } catch (const kv::Error& e) {
    EXPECT_EQ(e.code(), kv::ExitCode::kFailure);
    EXPECT_NE(std::string(e.what()).find("/dev/full"), std::string::npos);
  }
}

TEST(IoTrace, Names) {
  EXPECT_STREQ(io_op_name(IoOp::kRead), "Read");
  EXPECT_STREQ(io_phase_name(IoPhase::kBoth), "Both");
  EXPECT_TRUE(is_zstd_path("a/b.csv.zst"));
  EXPECT_FALSE(is_zstd_path("a/b.csv"));
}
