#include "engine/replay/mooncake_trace.hpp"

#include <gtest/gtest.h>

#include <unordered_set>

#include "test_util.hpp"

using namespace kv::replay;
using replay_test::data;
using replay_test::expect_error;
using replay_test::TempDir;

namespace {
struct Totals {
  std::uint64_t records = 0, input = 0, output = 0, reads = 0, writes = 0, block_tokens = 0;
  double last_ts = 0;
};
// What the engine would do: a hash id seen before is a read, a new one a write.
Totals replay(MooncakeTraceReader& r) {
  Totals t;
  std::unordered_set<std::uint64_t> seen;
  MooncakeRecord rec;
  while (r.next(rec)) {
    ++t.records;
    t.input += rec.input_length;
    t.output += rec.output_length;
    t.last_ts = rec.timestamp_ms;
    for (std::size_t i = 0; i < rec.hash_ids.size(); ++i) {
      t.block_tokens += mooncake_block_tokens(rec, i);
      if (seen.insert(rec.hash_ids[i]).second)
        ++t.writes;
      else
        ++t.reads;
    }
  }
  return t;
}
}  // namespace

TEST(MooncakeTrace, ConversationExcerptExactCounts) {
  MooncakeTraceReader r(data("mooncake_conversation_200.jsonl").string());
  const Totals t = replay(r);
  EXPECT_EQ(t.records, 200u);
  EXPECT_EQ(t.input, 2782179u);
  EXPECT_EQ(t.output, 71379u);
  EXPECT_EQ(t.reads, 322u);  // shared prefix blocks -> cache hits
  EXPECT_EQ(t.writes, 5215u);
  EXPECT_EQ(t.block_tokens, t.input);  // blocks cover exactly the input
  EXPECT_DOUBLE_EQ(t.last_ts, 72000);
  EXPECT_EQ(r.stats().bad_lines, 0u);
  EXPECT_EQ(r.block_count_mismatches(), 0u);
}

TEST(MooncakeTrace, SyntheticExcerptExactCounts) {
  MooncakeTraceReader r(data("mooncake_synthetic_200.jsonl").string());
  const Totals t = replay(r);
  EXPECT_EQ(t.records, 200u);
  EXPECT_EQ(t.input, 2663480u);
  EXPECT_EQ(t.output, 38364u);
  EXPECT_EQ(t.reads, 323u);
  EXPECT_EQ(t.writes, 5007u);
  EXPECT_EQ(t.block_tokens, t.input);
  EXPECT_DOUBLE_EQ(t.last_ts, 58501);
}

TEST(MooncakeTrace, FirstRecordAndKeys) {
  MooncakeTraceReader r(data("mooncake_conversation_200.jsonl").string());
  MooncakeRecord rec;
  ASSERT_TRUE(r.next(rec));
  EXPECT_EQ(rec.input_length, 6758u);
  EXPECT_EQ(rec.output_length, 500u);
  ASSERT_EQ(rec.hash_ids.size(), 14u);
  EXPECT_EQ(rec.hash_ids[13], 13u);
  EXPECT_EQ(mooncake_block_tokens(rec, 0), 512u);
  EXPECT_EQ(mooncake_block_tokens(rec, 13), 6758u - 13 * 512);
  EXPECT_EQ(mooncake_block_key(rec.hash_ids[5]), "mc_5");
  EXPECT_EQ(rec.line, 1u);
}

TEST(MooncakeTrace, BadLinesSkippedAndCountedOrStrictError) {
  TempDir d;
  auto f = d.write(
      "t.jsonl",
      "{\"timestamp\": 0, \"input_length\": 600, \"output_length\": 5, \"hash_ids\": [1, 2]}\n"
      "{\"timestamp\": 10, \"input_length\": 600, \"output_length\": 5, \"hash_ids\": [1, 2\n"
      "\n"
      "{\"timestamp\": 20, \"input_length\": -1, \"output_length\": 5, \"hash_ids\": [1]}\n"
      "{\"timestamp\": 30, \"output_length\": 5, \"hash_ids\": [1]}\n"
      "{\"timestamp\": 40, \"input_length\": 100, \"output_length\": 5, \"hash_ids\": [\"a\"]}\n"
      "[1, 2]\n"
      "{\"timestamp\": 1500, \"input_length\": 1024, \"output_length\": 7, \"hash_ids\": [1, "
      "3]}\n");
  MooncakeTraceOptions o;
  o.speedup = 2.0;
  MooncakeTraceReader r(f.string(), o);
  MooncakeRecord rec;
  ASSERT_TRUE(r.next(rec));
  EXPECT_EQ(mooncake_block_tokens(rec, 1), 88u);  // 600 - 512
  ASSERT_TRUE(r.next(rec));
  EXPECT_EQ(rec.line, 8u);
  EXPECT_DOUBLE_EQ(rec.delay_s, 0.75);  // 1500 ms / 1000 / 2
  EXPECT_FALSE(r.next(rec));
  EXPECT_EQ(r.stats().records, 2u);
  EXPECT_EQ(r.stats().bad_lines, 5u);
  ASSERT_EQ(r.stats().bad_line_samples.size(), 5u);
  EXPECT_NE(r.stats().bad_line_samples[0].find("t.jsonl:2: invalid JSON"), std::string::npos);
  EXPECT_NE(r.stats().bad_line_samples[1].find("t.jsonl:4: \"input_length\""), std::string::npos);
  EXPECT_NE(r.stats().bad_line_samples[2].find("t.jsonl:5: missing \"input_length\""),
            std::string::npos);
  EXPECT_NE(r.stats().bad_line_samples[3].find("t.jsonl:6: \"hash_ids\""), std::string::npos);
  EXPECT_NE(r.stats().bad_line_samples[4].find("t.jsonl:7: not a JSON object"), std::string::npos);

  o.strict = true;
  MooncakeTraceReader s(f.string(), o);
  ASSERT_TRUE(s.next(rec));
  expect_error([&] { s.next(rec); }, kv::ExitCode::kInvalidArguments,
               {"--mooncake-trace", "t.jsonl:2", "invalid JSON"});
}

TEST(MooncakeTrace, CyclesReplayTheSameBlocks) {
  MooncakeTraceOptions o;
  o.replay_cycles = 2;
  o.speedup = 0;
  MooncakeTraceReader r(data("mooncake_synthetic_200.jsonl").string(), o);
  const Totals t = replay(r);
  EXPECT_EQ(t.records, 400u);
  EXPECT_EQ(t.writes, 5007u);        // the second pass writes nothing new
  EXPECT_EQ(t.reads, 323u + 5330u);  // and reads every block
  EXPECT_EQ(r.stats().cycles_completed, 2u);
}

TEST(MooncakeTrace, BlockTokensWhenIdsDoNotMatchTheLength) {
  MooncakeRecord rec;
  rec.input_length = 100;
  rec.hash_ids = {1, 2, 3};  // more ids than 100 tokens need
  EXPECT_EQ(mooncake_block_tokens(rec, 0), 512u);
  EXPECT_EQ(mooncake_block_tokens(rec, 1), 1u);
  EXPECT_EQ(mooncake_block_tokens(rec, 2), 1u);
  rec.input_length = 5000;
  rec.hash_ids = {1};  // fewer
  EXPECT_EQ(mooncake_block_tokens(rec, 0), 512u);
}

TEST(MooncakeTrace, DirectoryAndGlob) {
  TempDir d;
  std::filesystem::copy_file(data("mooncake_synthetic_200.jsonl"), d.path / "b.jsonl");
  std::filesystem::copy_file(data("mooncake_conversation_200.jsonl"), d.path / "a.jsonl");
  MooncakeTraceReader r(d.path.string());
  EXPECT_EQ(r.files().size(), 2u);
  EXPECT_EQ(replay(r).records, 400u);
  MooncakeTraceReader g((d.path / "a*.jsonl").string());
  EXPECT_EQ(g.files().size(), 1u);
}

// Issue 15 item 5: empty and all-invalid traces are refused before the run, naming file and line.
TEST(MooncakeTrace, EmptyOrAllInvalidTraceIsRefused) {
  TempDir d;
  auto empty = d.write("empty.jsonl", "\n\n");
  expect_error([&] { MooncakeTraceReader r(empty.string()); }, kv::ExitCode::kInvalidArguments,
               {"--mooncake-trace", "empty.jsonl", "empty file"});
  auto bad = d.write("bad.jsonl", "{\"timestamp\": 1}\nnot json\n");
  expect_error([&] { MooncakeTraceReader r(bad.string()); }, kv::ExitCode::kInvalidArguments,
               {"--mooncake-trace", "bad.jsonl:1", "input_length"});
}
