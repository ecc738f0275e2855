// Bounded stop (BackendOptions::stop, docs/performance.md "Bounded stop"): past the deadline a
// write or read gives up at the next chunk boundary (posix) or cancels what it has in flight
// (io_uring), fails with ECANCELED, leaves no partial file and no chunk is generated after the
// stop; operations started after the deadline fail at once; clear() re-arms; the backend stays
// usable afterwards.
#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <filesystem>

#include "engine/io/backend.hpp"
#include "engine/io/payload.hpp"
#include "test_util.hpp"

namespace {

using namespace kv::io;
using kvio_test::TempDir;

constexpr std::uint64_t kChunk = 256 << 10;

ObjectSpec object(const std::string& key, std::uint64_t chunks) {
  ObjectSpec s;
  s.key = key;
  s.payload_bytes = chunks * kChunk;
  s.shape = {s.payload_bytes / 2};
  return s;
}

// Generated payload that sets the stop deadline to "now" while chunk `stop_at_fill` is generated
// and counts the fills that start after that.
class StoppingSource final : public PayloadSource {
 public:
  StoppingSource(const PayloadGenerator& g, const std::string& key, IoStop& stop, int stop_at_fill)
      : inner_(g, key), stop_(stop), stop_at_(stop_at_fill) {}
  void fill(std::uint64_t offset, std::span<std::byte> out) const override {
    const int n = fills_++;
    if (n > stop_at_) ++after_stop_;
    inner_.fill(offset, out);
    if (n == stop_at_) stop_.stop_at(0);
  }
  int fills() const { return fills_; }
  int fills_after_stop() const { return after_stop_; }

 private:
  GeneratedPayload inner_;
  IoStop& stop_;
  int stop_at_;
  mutable std::atomic<int> fills_{0}, after_stop_{0};
};

struct StopCase {
  Engine engine;
  bool direct;
};

class BackendStop : public ::testing::TestWithParam<StopCase> {
 protected:
  void SetUp() override {
    BackendOptions o;
    o.dir = dir_.path;
    o.engine = GetParam().engine;
    o.direct_io = GetParam().direct;
    o.chunk_bytes = kChunk;
    o.io_depth = 4;
    o.max_inflight_bytes = 8 * kChunk;
    o.stop = &stop_;
    choice_ = make_backend(o);
    ASSERT_TRUE(choice_.backend);
    if (choice_.engine != GetParam().engine) GTEST_SKIP() << "engine not available here";
  }
  StorageBackend& be() { return *choice_.backend; }

  TempDir dir_;
  IoStop stop_;
  BackendChoice choice_;
  PayloadGenerator gen_{5};
};

TEST_P(BackendStop, WriteStopsAtTheDeadlineAndLeavesNoFile) {
  const auto spec = object("big", 64);
  StoppingSource src(gen_, spec.key, stop_, /*stop_at_fill=*/2);
  const auto r = be().write(spec, src);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, ECANCELED) << r.message;
  EXPECT_NE(r.message.find("drain deadline"), std::string::npos) << r.message;
  EXPECT_EQ(src.fills_after_stop(), 0);  // no chunk generated after the stop
  EXPECT_LT(src.fills(), 64);
  EXPECT_FALSE(std::filesystem::exists(be().path_for(spec.key)));
}

TEST_P(BackendStop, OperationsAfterTheDeadlineFailAtOnceAndClearRearms) {
  const auto spec = object("k", 8);
  ASSERT_TRUE(be().write(spec, GeneratedPayload(gen_, spec.key)).ok);
  stop_.stop_at(0);
  const auto w = be().write(object("late", 8), GeneratedPayload(gen_, "late"));
  EXPECT_FALSE(w.ok);
  EXPECT_EQ(w.error, ECANCELED);
  EXPECT_FALSE(std::filesystem::exists(be().path_for("late")));
  const auto rd = be().read(spec, nullptr);
  EXPECT_FALSE(rd.ok);
  EXPECT_EQ(rd.error, ECANCELED);
  stop_.clear();
  kvio_test::VerifySink sink(gen_, spec.key);
  const auto again = be().read(spec, &sink);
  ASSERT_TRUE(again.ok) << again.message;
  EXPECT_EQ(sink.mismatches, 0);
  EXPECT_EQ(sink.bytes, spec.payload_bytes);
}

TEST_P(BackendStop, BackendIsUsableAfterACancelledWrite) {
  for (int round = 0; round < 3; ++round) {
    stop_.clear();
    const auto spec = object("r" + std::to_string(round), 32);
    StoppingSource src(gen_, spec.key, stop_, /*stop_at_fill=*/round + 1);
    EXPECT_EQ(be().write(spec, src).error, ECANCELED);
    stop_.clear();
    const auto ok = object("ok" + std::to_string(round), 16);
    const auto w = be().write(ok, GeneratedPayload(gen_, ok.key));
    ASSERT_TRUE(w.ok) << w.message;
    kvio_test::VerifySink sink(gen_, ok.key);
    const auto r = be().read(ok, &sink);
    ASSERT_TRUE(r.ok) << r.message;
    EXPECT_EQ(sink.mismatches, 0);
    EXPECT_EQ(sink.bytes, ok.payload_bytes);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Engines, BackendStop,
    ::testing::Values(StopCase{Engine::kPosix, false}, StopCase{Engine::kPosix, true},
                      StopCase{Engine::kIoUring, false}, StopCase{Engine::kIoUring, true}),
    [](const auto& info) {
      return std::string(info.param.engine == Engine::kPosix ? "Posix" : "Uring") +
             (info.param.direct ? "Direct" : "Buffered");
    });

}  // namespace
