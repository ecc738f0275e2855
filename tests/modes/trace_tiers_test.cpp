// --io-trace-log tiers: the null tier stores sizes only (zero bytes read, ENOENT for a missing key,
// no demotion source on the terminal tier); the tracing wrapper logs one row per operation with the
// phase of the cache call (Prefill / Decode / Both for a system-prompt read) and a demotion as a
// Read+Evict row on the source tier followed by a Write+Evict row on the destination tier.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>

#include "modes_test_util.hpp"

using namespace kv;
using namespace kv::engine::modes;
using modestest::read_lines;
using modestest::split;

namespace {

class ZeroCheckSink : public io::PayloadSink {
 public:
  std::uint64_t bytes = 0, nonzero = 0;
  void consume(std::uint64_t, std::span<const std::byte> in) override {
    bytes += in.size();
    for (auto b : in) nonzero += b != std::byte{0};
  }
};

class OnesSource : public io::PayloadSource {
 public:
  void fill(std::uint64_t, std::span<std::byte> out) const override {
    std::fill(out.begin(), out.end(), std::byte{1});
  }
};

io::ObjectSpec spec(const std::string& key, std::uint64_t bytes) {
  io::ObjectSpec s;
  s.key = key;
  s.payload_bytes = bytes;
  s.shape = {bytes / 2};
  return s;
}

std::filesystem::path temp_path(const std::string& name) {
  return std::filesystem::temp_directory_path() / (name + "_" + std::to_string(::getpid()));
}

}  // namespace

TEST(NullTier, KeepsSizesOnlyAndReadsZeros) {
  auto t = make_null_tier(tier::TierId::kCpu);
  EXPECT_EQ(t->id(), tier::TierId::kCpu);
  const auto s = spec("k", 200000);
  io::IoResult miss = t->read(s, nullptr);
  EXPECT_FALSE(miss.ok);
  EXPECT_EQ(miss.error, ENOENT);
  EXPECT_EQ(t->source_for(s), nullptr);
  io::IoResult w = t->write(s, OnesSource{});
  ASSERT_TRUE(w.ok);
  EXPECT_EQ(w.bytes, 200000u);
  EXPECT_EQ(w.timing.total_s, 0.0);
  ZeroCheckSink sink;
  io::IoResult r = t->read(s, &sink);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(sink.bytes, 200000u);
  EXPECT_EQ(sink.nonzero, 0u);
  EXPECT_NE(t->source_for(s), nullptr);  // a non-terminal tier can be demoted from
  EXPECT_TRUE(t->remove("k"));
  EXPECT_FALSE(t->remove("k"));
  EXPECT_FALSE(t->read(s, nullptr).ok);

  auto storage = make_null_tier(tier::TierId::kStorage);
  ASSERT_TRUE(storage->write(s, OnesSource{}).ok);
  EXPECT_EQ(storage->source_for(s), nullptr);  // terminal: nothing to demote to
}

TEST(TracingTier, LogsEveryOperationWithItsPhaseAndDemotionsAsEvictPairs) {
  const auto path = temp_path("kv_trace_tiers.csv");
  {
    exporter::IoTraceOptions o;
    o.latency_column = true;
    exporter::IoTraceWriter log(path, o);
    // GPU tier of 600,000 B: one 256,000 B entry fits under its 80 % target, the second demotes the
    // first.
    modestest::NullCache nc(600000, 0, cache::kUnlimited, &log);
    modestest::CacheStore inner(*nc.cache);
    TracingStore store(inner);
    ASSERT_TRUE(store.allocate("a", 1000, cache::Phase::kPrefill).ok);
    ASSERT_TRUE(store.access("a", cache::Phase::kDecode, cache::CacheType::kUser).ok);
    ASSERT_TRUE(store.allocate("b", 1000, cache::Phase::kPrefill).ok);  // demotes "a" to storage
    ASSERT_TRUE(store.access("a", cache::Phase::kPrefill, cache::CacheType::kSystem).ok);
    EXPECT_FALSE(
        store.access("missing", cache::Phase::kDecode, cache::CacheType::kUser).hit);  // no row
    EXPECT_EQ(nc.cache->location("a"), tier::TierId::kStorage);
    EXPECT_EQ(nc.cache->location("b"), tier::TierId::kGpu);
    log.close();
    EXPECT_EQ(log.rows(), 6u);
  }
  const auto lines = read_lines(path);
  std::filesystem::remove(path);
  ASSERT_EQ(lines.size(), 7u);
  EXPECT_EQ(lines[0], "Timestamp,Operation,Object_Size_Bytes,Tier,Key,Phase,Latency_ms");
  const std::vector<std::vector<std::string>> expect = {
      {"Write", "256000", "Tier-0", "a", "Prefill"},  // admission
      {"Read", "256000", "Tier-0", "a", "Decode"},
      {"Read", "256000", "Tier-0", "a", "Evict"},   // demotion: source tier ...
      {"Write", "256000", "Tier-2", "a", "Evict"},  // ... then destination tier
      {"Write", "256000", "Tier-0", "b", "Prefill"},
      {"Read", "256000", "Tier-2", "a", "Both"},  // system-prompt read
  };
  for (std::size_t i = 0; i < expect.size(); ++i) {
    const auto f = split(lines[i + 1]);
    ASSERT_EQ(f.size(), 7u) << lines[i + 1];
    EXPECT_GT(std::stod(f[0]), 1.6e9) << lines[i + 1];  // Unix seconds
    for (std::size_t k = 0; k < 5; ++k) EXPECT_EQ(f[k + 1], expect[i][k]) << lines[i + 1];
    if (i == 2)
      EXPECT_EQ(f[6], "") << "the demotion's source row has no latency of its own";
    else
      EXPECT_FALSE(f[6].empty()) << lines[i + 1];
  }
}

TEST(TracingTier, WithoutLatencyColumnAsTheReference) {
  const auto path = temp_path("kv_trace_tiers_ref.csv");
  {
    exporter::IoTraceWriter log(path);
    modestest::NullCache nc(0, 0, cache::kUnlimited, &log);
    modestest::CacheStore inner(*nc.cache);
    TracingStore store(inner);
    ASSERT_TRUE(store.allocate("x", 10, cache::Phase::kPrefill).ok);
    ASSERT_TRUE(store.access("x", cache::Phase::kDecode, cache::CacheType::kUser).ok);
    log.close();
  }
  const auto lines = read_lines(path);
  std::filesystem::remove(path);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], "Timestamp,Operation,Object_Size_Bytes,Tier,Key,Phase");
  EXPECT_NE(lines[1].find(",Write,2560,Tier-2,x,Prefill"), std::string::npos) << lines[1];
  EXPECT_NE(lines[2].find(",Read,2560,Tier-2,x,Decode"), std::string::npos) << lines[2];
}
