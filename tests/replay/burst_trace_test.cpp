#include "engine/replay/burst_trace.hpp"

#include <gtest/gtest.h>

#include "test_util.hpp"

using namespace kv::replay;
using replay_test::data;
using replay_test::expect_error;
using replay_test::TempDir;

namespace {
std::vector<BurstRecord> read_all(BurstTraceReader& r) {
  std::vector<BurstRecord> out;
  BurstRecord rec;
  while (r.next(rec)) out.push_back(rec);
  return out;
}
BurstTraceOptions one_pass(double speedup = 1.0) {
  BurstTraceOptions o;
  o.replay_cycles = 1;
  o.speedup = speedup;
  return o;
}
}  // namespace

TEST(BurstTrace, StreamsOneFileSkippingAndCountingBadLines) {
  BurstTraceReader r(data("burstgpt_small.csv").string(), one_pass());
  const auto rows = read_all(r);
  ASSERT_EQ(rows.size(), 8u);
  EXPECT_EQ(r.stats().records, 8u);
  EXPECT_EQ(r.stats().bad_lines, 2u);
  ASSERT_EQ(r.stats().bad_line_samples.size(), 2u);
  EXPECT_NE(r.stats().bad_line_samples[0].find("burstgpt_small.csv:6: bad Timestamp"),
            std::string::npos)
      << r.stats().bad_line_samples[0];
  EXPECT_NE(r.stats().bad_line_samples[1].find("burstgpt_small.csv:10: bad Request tokens"),
            std::string::npos)
      << r.stats().bad_line_samples[1];
  EXPECT_EQ(r.stats().cycles_completed, 1u);

  EXPECT_DOUBLE_EQ(rows[0].timestamp, 5);
  EXPECT_EQ(rows[0].model, "ChatGPT");
  EXPECT_EQ(rows[0].request_tokens, 472u);
  EXPECT_EQ(rows[0].response_tokens, 18u);
  EXPECT_EQ(rows[0].total_tokens, 490u);
  EXPECT_EQ(rows[0].log_type, "Conversation log");
  EXPECT_EQ(rows[0].line, 2u);
  EXPECT_EQ(rows[3].response_tokens, 0u);  // zero is valid
  EXPECT_EQ(rows[6].total_tokens, 142u);   // empty Total tokens = request + response
  EXPECT_EQ(rows[7].index, 7u);
}

TEST(BurstTrace, DelaysAreGapOverSpeedupAndNeverSlept) {
  BurstTraceReader r(data("burstgpt_small.csv").string(), one_pass(2.0));
  const auto rows = read_all(r);
  ASSERT_EQ(rows.size(), 8u);
  EXPECT_DOUBLE_EQ(rows[0].delay_s, 0.0);
  EXPECT_DOUBLE_EQ(rows[1].delay_s, 20.0);  // (45 - 5) / 2
  EXPECT_DOUBLE_EQ(rows[2].delay_s, 36.5);  // (118 - 45) / 2
  EXPECT_DOUBLE_EQ(rows[7].delay_s, 0.75);  // (161.5 - 160) / 2

  BurstTraceReader none(data("burstgpt_small.csv").string(), one_pass(0.0));
  for (const auto& rec : read_all(none)) EXPECT_EQ(rec.delay_s, 0.0);
}

TEST(BurstTrace, GlobAndDirectoryResolveSortedFiles) {
  const auto files =
      resolve_trace_files(data("burstgpt_small*.csv").string(), ".csv", "--burst-trace-path");
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0].filename(), "burstgpt_small.csv");
  EXPECT_EQ(files[1].filename(), "burstgpt_small_2.csv");

  BurstTraceReader r(data("burstgpt_small*.csv").string(), one_pass());
  const auto rows = read_all(r);
  EXPECT_EQ(rows.size(), 10u);
  EXPECT_EQ(r.stats().files, 2u);
  EXPECT_EQ(r.stats().bad_lines, 3u);
  EXPECT_NE(r.stats().bad_line_samples[2].find("burstgpt_small_2.csv:3: too few fields"),
            std::string::npos)
      << r.stats().bad_line_samples[2];
  EXPECT_EQ(rows.back().file_index, 1u);
  EXPECT_DOUBLE_EQ(rows[8].delay_s, 200 - 161.5);  // the gap carries across files

  TempDir d;
  std::filesystem::copy_file(data("burstgpt_small_2.csv"), d.path / "b.csv");
  std::filesystem::copy_file(data("burstgpt_small.csv"), d.path / "a.csv");
  d.write("notes.txt", "not a trace");
  const auto dir_files = resolve_trace_files(d.path.string(), ".csv", "--burst-trace-path");
  ASSERT_EQ(dir_files.size(), 2u);
  EXPECT_EQ(dir_files[0].filename(), "a.csv");
  BurstTraceReader rd(d.path.string(), one_pass());
  EXPECT_EQ(read_all(rd).size(), 10u);
}

TEST(BurstTrace, MissingInputsAreFileNotFound) {
  expect_error([] { BurstTraceReader r("/nonexistent/burst.csv"); }, kv::ExitCode::kFileNotFound,
               {"--burst-trace-path", "/nonexistent/burst.csv"});
  expect_error([] { BurstTraceReader r("/nonexistent/*.csv"); }, kv::ExitCode::kFileNotFound,
               {"no file matches"});
  TempDir d;
  expect_error([&] { BurstTraceReader r(d.path.string()); }, kv::ExitCode::kFileNotFound,
               {"no *.csv"});
}

TEST(BurstTrace, ReplayCyclesRepeatAndCountBadLinesOnce) {
  BurstTraceOptions o;
  o.replay_cycles = 3;
  BurstTraceReader r(data("burstgpt_small.csv").string(), o);
  const auto rows = read_all(r);
  ASSERT_EQ(rows.size(), 24u);
  EXPECT_EQ(rows[8].cycle, 1u);
  EXPECT_DOUBLE_EQ(rows[8].timestamp, 5);
  EXPECT_DOUBLE_EQ(rows[8].delay_s, 0.0);  // a new pass starts without a gap
  EXPECT_EQ(rows[23].cycle, 2u);
  EXPECT_EQ(rows[23].index, 23u);
  EXPECT_EQ(r.stats().cycles_completed, 3u);
  EXPECT_EQ(r.stats().bad_lines, 2u);
}

TEST(BurstTrace, TraceWithoutValidRowsIsRefusedAndValidOneCyclesForever) {
  TempDir d;
  auto f = d.write(
      "bad.csv",
      "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\nx,y,z,w,v,u\n");
  BurstTraceOptions o;
  o.replay_cycles = 0;
  // Refused before the run (issue 15 item 5), naming the flag, file and line.
  expect_error([&] { BurstTraceReader r(f.string(), o); }, kv::ExitCode::kInvalidArguments,
               {"--burst-trace-path", "no usable record", "bad.csv:2", "bad Timestamp"});
  BurstRecord rec;

  // And a valid one keeps going past any fixed number of passes.
  BurstTraceReader forever(data("burstgpt_small.csv").string(), o);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(forever.next(rec));
  EXPECT_GE(forever.stats().cycles_completed, 12u);
}

TEST(BurstTrace, StrictModeNamesFileAndLine) {
  BurstTraceOptions o = one_pass();
  o.strict = true;
  BurstTraceReader r(data("burstgpt_small.csv").string(), o);
  expect_error([&] { read_all(r); }, kv::ExitCode::kInvalidArguments,
               {"--burst-trace-path", "burstgpt_small.csv:6", "bad Timestamp"});
}

TEST(BurstTrace, HeaderByNameOrAbsent) {
  TempDir d;
  auto reordered = d.write("r.csv", "Response tokens,Timestamp,Request tokens\n7,1.5,9\n");
  BurstTraceReader r(reordered.string(), one_pass());
  BurstRecord rec;
  ASSERT_TRUE(r.next(rec));
  EXPECT_EQ(rec.request_tokens, 9u);
  EXPECT_EQ(rec.response_tokens, 7u);
  EXPECT_EQ(rec.total_tokens, 16u);
  EXPECT_TRUE(rec.model.empty());

  auto headerless =
      d.write("h.csv", "3,GPT-4,10,20,30,API log\r\n4,\"Chat,GPT\",11,21,32,API log\r\n");
  BurstTraceReader h(headerless.string(), one_pass());
  ASSERT_TRUE(h.next(rec));
  EXPECT_EQ(rec.total_tokens, 30u);
  EXPECT_EQ(rec.log_type, "API log");  // CRLF stripped
  ASSERT_TRUE(h.next(rec));
  EXPECT_EQ(rec.model, "Chat,GPT");
  EXPECT_FALSE(h.next(rec));

  // A header error is found before the run, in any file of the trace (issue 15 item 5).
  auto wrong = d.write("w.csv", "time,model\n1,2\n");
  expect_error([&] { BurstTraceReader w(wrong.string(), one_pass()); },
               kv::ExitCode::kInvalidArguments, {"w.csv:1", "header"});
  expect_error([&] { BurstTraceReader w(d.path.string(), one_pass()); },
               kv::ExitCode::kInvalidArguments, {"w.csv:1", "header"});
}

TEST(BurstTrace, NegativeSpeedupIsAUsageError) {
  BurstTraceOptions o;
  o.speedup = -1;
  expect_error([&] { BurstTraceReader r(data("burstgpt_small.csv").string(), o); },
               kv::ExitCode::kInvalidArguments, {"--trace-speedup"});
}

TEST(Csv, SplitHandlesQuotes) {
  std::vector<std::string> f;
  ASSERT_TRUE(split_csv_line("a,\"b,c\",\"d\"\"e\",", f));
  ASSERT_EQ(f.size(), 4u);
  EXPECT_EQ(f[1], "b,c");
  EXPECT_EQ(f[2], "d\"e");
  EXPECT_EQ(f[3], "");
  EXPECT_FALSE(split_csv_line("a,\"b", f));
}

// Issue 15 item 5: empty and all-invalid traces are refused before the run, naming the file.
TEST(BurstTrace, EmptyOrHeaderOnlyTraceIsRefused) {
  TempDir d;
  auto empty = d.write("empty.csv", "");
  expect_error([&] { BurstTraceReader r(empty.string(), one_pass()); },
               kv::ExitCode::kInvalidArguments, {"--burst-trace-path", "empty.csv", "empty file"});
  auto header = d.write("header.csv", "Timestamp,Model,Request tokens,Response tokens\n\n");
  expect_error([&] { BurstTraceReader r(header.string(), one_pass()); },
               kv::ExitCode::kInvalidArguments, {"--burst-trace-path", "header.csv"});
}

// Issue 15 item 7: extreme timestamps or speed-ups cannot overflow the schedule.
TEST(BurstTrace, HugeGapsAreClampedToOneDay) {
  TempDir d;
  auto f = d.write("gap.csv", "0,m,1,1\n1e300,m,1,1\n");
  BurstTraceOptions o = one_pass();
  o.speedup = 1e-300;
  BurstTraceReader r(f.string(), o);
  BurstRecord rec;
  ASSERT_TRUE(r.next(rec));
  ASSERT_TRUE(r.next(rec));
  EXPECT_EQ(rec.delay_s, kMaxTraceDelayS);
}
