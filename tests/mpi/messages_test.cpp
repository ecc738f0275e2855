// Every message of the rank protocol survives encode -> decode unchanged; the wire keeps the texts
// older ranks send ("type" first, the sender's rank/host/pid); malformed texts decode to nothing;
// missing keys take their documented defaults. Rank 0's phases only move forward.
#include "engine/mpi/messages.hpp"

#include <gtest/gtest.h>

#include "engine/mpi/phase.hpp"

using namespace kv::engine::mpi;

namespace {

const Sender kFrom{.rank = 3, .host = "node-b", .pid = 4242};

template <class M>
void expect_round_trip(const M& m) {
  const std::string wire = encode(m);
  const auto back = decode(wire);
  ASSERT_TRUE(back.has_value()) << wire;
  EXPECT_EQ(type_of(*back), M::kType) << wire;
  ASSERT_TRUE(std::holds_alternative<M>(*back)) << wire;
  EXPECT_EQ(std::get<M>(*back), m) << wire;
  // The type's text leads the object (what a reader of a trace sees first).
  EXPECT_EQ(ojson::parse(wire).begin().key(), "type");
}

}  // namespace

TEST(MpiMessages, HelloRoundTrip) {
  expect_round_trip(Hello{
      .from = kFrom, .fs = "2049", .host_info = ojson{{"hostname", "node-b"}, {"cpu_cores", 16}}});
}

TEST(MpiMessages, PlanRoundTrip) {
  const Sender root{.rank = 0, .host = "node-a", .pid = 77};
  expect_round_trip(
      Plan{.from = root, .abort = false, .reason = "", .base_seed = 1234567890123, .sharers = 3});
  expect_round_trip(Plan{.from = root, .base_seed = 5, .sharers = 1, .beat_s = 1.0});
  expect_round_trip(
      Plan{.from = root, .abort = true, .reason = "rank 2 (x) failed before set-up: boom"});
}

TEST(MpiMessages, ReadyRoundTrip) {
  expect_round_trip(Ready{.from = kFrom});
}

TEST(MpiMessages, GoRoundTrip) {
  expect_round_trip(Go{.ok = true});
  expect_round_trip(Go{.ok = false, .reason = "rank 1 (x) was not ready"});
}

TEST(MpiMessages, HeartbeatRoundTrip) {
  expect_round_trip(Heartbeat{.from = kFrom, .t = 12.5, .completed = 98765});
}

TEST(MpiMessages, ResultRoundTrip) {
  expect_round_trip(Result{.from = kFrom,
                           .exit_code = 8,
                           .results = ojson{{"requests_completed", 17}, {"interrupted", true}}});
  expect_round_trip(Result{.from = kFrom, .exit_code = 0});  // without results
}

TEST(MpiMessages, FailedRoundTrip) {
  expect_round_trip(
      Failed{.from = kFrom, .reason = "cannot create /x", .exit_code = 2, .cancelled = false});
  expect_round_trip(Failed{.from = kFrom, .reason = "run cancelled", .cancelled = true});
}

TEST(MpiMessages, ReceivedRoundTrip) {
  expect_round_trip(Received{});
}

TEST(MpiMessages, StopRoundTrip) {
  expect_round_trip(Stop{.reason = "rank 0 got signal 15"});
  expect_round_trip(Stop{});
}

TEST(MpiMessages, DoneRoundTrip) {
  expect_round_trip(Done{});
}

TEST(MpiMessages, WireKeysOfAMessageToRankZero) {
  const ojson j = ojson::parse(encode(Heartbeat{.from = kFrom, .t = 1.5, .completed = 7}));
  EXPECT_EQ(j["type"], "hb");
  EXPECT_EQ(j["rank"], 3);
  EXPECT_EQ(j["host"], "node-b");
  EXPECT_EQ(j["pid"], 4242);
  EXPECT_EQ(j["t"], 1.5);
  EXPECT_EQ(j["completed"], 7);
}

TEST(MpiMessages, MissingKeysTakeTheirDefaults) {
  const auto f = decode(R"({"type":"failed"})");
  ASSERT_TRUE(f && std::holds_alternative<Failed>(*f));
  EXPECT_EQ(std::get<Failed>(*f).reason, "failed");
  EXPECT_EQ(std::get<Failed>(*f).exit_code, 6);
  EXPECT_FALSE(std::get<Failed>(*f).cancelled);
  const auto p = decode(R"({"type":"plan"})");
  ASSERT_TRUE(p && std::holds_alternative<Plan>(*p));
  EXPECT_EQ(std::get<Plan>(*p).sharers, 1u);
  EXPECT_FALSE(std::get<Plan>(*p).abort);
  EXPECT_EQ(std::get<Plan>(*p).beat_s, 0.0);  // an older rank 0 sends no heartbeat: none awaited
}

TEST(MpiMessages, MalformedTextsDecodeToNothing) {
  for (const char* text : {"", "not json", "[1,2]", "{}", R"({"type":7})", R"({"type":"bogus"})",
                           R"({"type":"hb","t":"soon"})", R"({"type":"go","ok":"yes"})",
                           R"({"type":"hello","rank":"zero"})"})
    EXPECT_FALSE(decode(text).has_value()) << text;
}

TEST(MpiMessages, NonUtf8BytesDoNotBreakEncoding) {
  const std::string bad = "host\xff";
  const auto back = decode(encode(Ready{.from = {.rank = 1, .host = bad, .pid = 1}}));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(std::get<Ready>(*back).from.host, "host\xEF\xBF\xBD");  // U+FFFD
}

TEST(MpiRank0Phases, MoveForwardOnlyAndMaySkip) {
  Rank0Phases p;
  EXPECT_EQ(p.now(), Rank0Phase::kStartup);
  EXPECT_TRUE(p.before(Rank0Phase::kSetup));
  p.advance(Rank0Phase::kSetup);
  p.advance(Rank0Phase::kSetup);   // staying is fine
  p.advance(Rank0Phase::kGather);  // a stopped job skips the window
  EXPECT_FALSE(p.before(Rank0Phase::kWindow));
  EXPECT_TRUE(p.before(Rank0Phase::kWritten));
  EXPECT_THROW(p.advance(Rank0Phase::kWindow), std::logic_error);
  EXPECT_EQ(p.now(), Rank0Phase::kGather);
  p.advance(Rank0Phase::kDone);
  EXPECT_EQ(kv::engine_cli::to_text(p.now()), "done");
}
