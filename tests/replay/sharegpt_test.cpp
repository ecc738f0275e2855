#include "engine/replay/sharegpt.hpp"

#include <gtest/gtest.h>

#include "engine/replay/token_stats.hpp"
#include "test_util.hpp"

using namespace kv::replay;
using replay_test::data;
using replay_test::expect_error;
using replay_test::TempDir;

TEST(ShareGpt, LoadsTheSmallDatasetWithExactTurns) {
  const auto ds = load_sharegpt(data("sharegpt_small.json"));
  const auto& st = ds.stats;
  EXPECT_EQ(st.records_read, 6u);
  EXPECT_EQ(st.conversations, 5u);
  EXPECT_EQ(st.empty_conversations, 1u);  // sg_004 has no messages
  EXPECT_EQ(st.turns, 8u);
  EXPECT_EQ(st.skipped_pairs, 1u);  // sg_002: (gpt, human)
  ASSERT_EQ(ds.conversations.size(), 5u);

  const auto& a = ds.conversations[0];
  EXPECT_EQ(a.id, "sg_001");
  ASSERT_EQ(a.turns.size(), 3u);
  EXPECT_EQ(a.turns[0].turn_number, 1u);
  EXPECT_EQ(a.turns[0].context_tokens, 10u);  // 40 chars / 4: the human message alone
  EXPECT_EQ(a.turns[0].generation_tokens, 20u);
  EXPECT_EQ(a.turns[2].turn_number, 3u);
  EXPECT_EQ(a.turns[2].context_tokens, 50u);
  EXPECT_EQ(a.turns[2].generation_tokens, 60u);

  EXPECT_EQ(ds.conversations[1].id, "sg_002");
  EXPECT_EQ(ds.conversations[1].turns.size(), 1u);

  const auto& c = ds.conversations[2];
  EXPECT_EQ(c.id, "conv_2");  // no id: conv_<record index>
  ASSERT_EQ(c.turns.size(), 2u);
  EXPECT_EQ(c.turns[0].context_tokens, 1u);     // "hi": max(1, 2/4)
  EXPECT_EQ(c.turns[1].context_tokens, 2u);     // 8 x U+00E9 = 8 code points (16 bytes)
  EXPECT_EQ(c.turns[1].generation_tokens, 3u);  // 12 code points

  EXPECT_EQ(ds.conversations[3].id, "sg_005");
  EXPECT_EQ(ds.conversations[3].turns[0].context_tokens, 250u);
  EXPECT_EQ(ds.conversations[4].id, "6");           // numeric id as text
  EXPECT_EQ(ds.conversations[4].turns.size(), 1u);  // trailing unpaired message ignored

  EXPECT_EQ(st.context.count, 8u);
  EXPECT_DOUBLE_EQ(st.context.min, 1);
  EXPECT_DOUBLE_EQ(st.context.max, 250);
  EXPECT_DOUBLE_EQ(st.generation.max, 100);
}

TEST(ShareGpt, MaxConversationsReadsOnlyThePrefix) {
  ShareGptOptions o;
  o.max_conversations = 2;
  const auto ds = load_sharegpt(data("sharegpt_small.json"), o);
  EXPECT_EQ(ds.stats.records_read, 2u);
  EXPECT_EQ(ds.stats.turns, 4u);
}

TEST(ShareGpt, CapsComeFromOptions) {
  ShareGptOptions o;
  o.max_context_tokens = 30;
  o.max_generation_tokens = 25;
  const auto ds = load_sharegpt(data("sharegpt_small.json"), o);
  EXPECT_EQ(ds.conversations[3].turns[0].context_tokens, 30u);
  EXPECT_EQ(ds.conversations[1].turns[0].context_tokens, 30u);
  EXPECT_EQ(ds.conversations[0].turns[2].generation_tokens, 25u);
  EXPECT_GT(ds.stats.capped_context, 0u);
  EXPECT_DOUBLE_EQ(ds.stats.context.max, 30);
}

TEST(ShareGpt, TokenEstimateCountsCodePoints) {
  EXPECT_EQ(estimate_tokens("", 4, 0), 1u);
  EXPECT_EQ(estimate_tokens("abcdefgh", 4, 0), 2u);
  EXPECT_EQ(estimate_tokens("abcdefgh", 4, 1), 1u);
  EXPECT_EQ(estimate_tokens("\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9", 4, 0),
            1u);  // 4 code points, 8 bytes
  EXPECT_EQ(sharegpt_turn_key("sg_001", 3), "sg_001_turn_3");
}

TEST(ShareGpt, MalformedJsonNamesFileAndLine) {
  TempDir d;
  auto f = d.write("bad.json",
                   "[\n  {\"id\": \"a\", \"conversations\": []},\n  {\"id\": \"b\",\n   "
                   "\"conversations\": [}\n]\n");
  expect_error([&] { load_sharegpt(f); }, kv::ExitCode::kInvalidArguments,
               {"--dataset-path", f.string() + ":4", "record 1"});
}

TEST(ShareGpt, StructuralErrorsNameTheRecord) {
  TempDir d;
  auto not_array = d.write("a.json", "{\"id\": 1}");
  expect_error([&] { load_sharegpt(not_array); }, kv::ExitCode::kInvalidArguments, {"JSON array"});
  auto not_object = d.write("b.json", "[{\"conversations\": []}, 42]");
  expect_error([&] { load_sharegpt(not_object); }, kv::ExitCode::kInvalidArguments,
               {"record 1", "object"});
  auto conv_not_array = d.write("c.json", "[\n{\"conversations\": \"x\"}]");
  expect_error([&] { load_sharegpt(conv_not_array); }, kv::ExitCode::kInvalidArguments,
               {"c.json:2", "record 0", "conversations"});
  auto bad_value = d.write("d.json",
                           "[{\"conversations\": [{\"from\": \"human\", \"value\": 3}, "
                           "{\"from\": \"gpt\", \"value\": \"x\"}]}]");
  expect_error([&] { load_sharegpt(bad_value); }, kv::ExitCode::kInvalidArguments,
               {"value must be a string"});
  auto truncated = d.write("e.json", "[{\"conversations\": [");
  expect_error([&] { load_sharegpt(truncated); }, kv::ExitCode::kInvalidArguments, {"end of file"});
  auto trailing = d.write("f.json", "[] x");
  expect_error([&] { load_sharegpt(trailing); }, kv::ExitCode::kInvalidArguments,
               {"after the closing"});
}

TEST(ShareGpt, StopsBeforeGarbageAfterTheNeededRecords) {
  TempDir d;
  auto f =
      d.write("partial.json",
              "[{\"id\": \"x\", \"conversations\": [{\"from\": \"human\", \"value\": \"abcd\"}, "
              "{\"from\": \"gpt\", \"value\": \"efgh\"}]}, {{{ not json");
  ShareGptOptions o;
  o.max_conversations = 1;
  const auto ds = load_sharegpt(f, o);
  EXPECT_EQ(ds.stats.turns, 1u);
  o.max_conversations = 2;
  expect_error([&] { load_sharegpt(f, o); }, kv::ExitCode::kInvalidArguments, {"record 1"});
}

TEST(ShareGpt, StringsWithBracketsAndEscapesDoNotConfuseTheSplitter) {
  TempDir d;
  auto f = d.write(
      "tricky.json",
      "[{\"id\": \"q\\\"}]\", \"conversations\": [{\"from\": \"human\", \"value\": \"]}{[\\\\\"}, "
      "{\"from\": \"gpt\", \"value\": \"ok\"}]}]");
  const auto ds = load_sharegpt(f);
  ASSERT_EQ(ds.conversations.size(), 1u);
  EXPECT_EQ(ds.conversations[0].id, safe_conversation_id("q\"}]"));  // not plain: hashed
}

// Issue 15 item 5: ids become file names, so only plain ones are kept; the others are hashed.
TEST(ShareGpt, IdsBecomeSafeFileNames) {
  EXPECT_EQ(safe_conversation_id("abc-12.x_Y"), "abc-12.x_Y");
  for (const std::string& raw :
       {std::string("../etc/passwd"), std::string("a/b"), std::string(".hidden"),
        std::string("nul\0byte", 8), std::string(300, 'x'), std::string("")}) {
    const std::string id = safe_conversation_id(raw);
    EXPECT_EQ(id.rfind("id_", 0), 0u) << raw;
    EXPECT_EQ(id.size(), 19u) << raw;
    EXPECT_EQ(id.find_first_not_of("id_0123456789abcdef"), std::string::npos) << id;
  }
  EXPECT_NE(safe_conversation_id("a/b"), safe_conversation_id("a/c"));
}

// Issue 15 items 5 and 7: deep nesting (used to overflow the stack) and out-of-range numbers are
// input errors naming the flag, file and line.
TEST(ShareGpt, DeepNestingAndHugeNumbersAreInputErrors) {
  TempDir d;
  auto deep = d.write("deep.json", "[\n{\"id\": " + std::string(100000, '[') + "}]");
  expect_error([&] { load_sharegpt(deep); }, kv::ExitCode::kInvalidArguments,
               {"--dataset-path", "deep.json:2", "nested deeper"});
  auto huge = d.write("huge.json", "[{\"id\": 1e999, \"conversations\": []}]");
  expect_error([&] { load_sharegpt(huge); }, kv::ExitCode::kInvalidArguments,
               {"--dataset-path", "huge.json:1", "out of range"});
}

TEST(ShareGpt, MissingFileIsFileNotFound) {
  expect_error([] { load_sharegpt("/nonexistent/sharegpt.json"); }, kv::ExitCode::kFileNotFound,
               {"--dataset-path", "/nonexistent/sharegpt.json"});
}

TEST(TokenStatsTest, MatchesNumpyConventions) {
  const auto s = summarize({1, 2, 3, 4, 10});
  EXPECT_EQ(s.count, 5u);
  EXPECT_DOUBLE_EQ(s.mean, 4.0);
  EXPECT_NEAR(s.std, 3.1622776601683795, 1e-12);  // numpy.std (ddof=0)
  EXPECT_DOUBLE_EQ(s.p50, 3.0);
  EXPECT_NEAR(s.p95, 8.8, 1e-12);  // numpy.percentile(.., 95), linear
  EXPECT_EQ(summarize({}).count, 0u);
}
