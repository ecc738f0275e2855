// BurstGPT trace reader (docs/workload-modes.md, `--use-burst-trace`, `--burst-trace-path`,
// `--trace-speedup`, `--replay-cycles`).
//   * Spec: a file, a directory (all *.csv, sorted) or a glob (sorted); see resolve_trace_files().
//   * Columns: Timestamp, Model, Request tokens, Response tokens, Total tokens, Log Type. The first
//     line of each file is the header (columns found by name, any order, case-insensitive); a file
//     whose first field is a number has no header and uses that column order. Timestamp, Request
//     tokens and Response tokens are required; Total tokens defaults to their sum.
//   * Streams rows (one line buffer; never loads a file). A row that does not parse (bad number,
//     negative tokens, missing fields) is skipped and counted, with the first `max_bad_samples`
//     "file:line: reason" kept; strict mode throws kv::Error(kInvalidArguments) naming file and
//     line instead. Blank lines are ignored. A header without the required columns is always an
//     error.
//   * Cycles: replay_cycles passes over all files (0 = forever). A pass that yields no valid row
//   ends
//     the replay (so an all-bad trace cannot loop forever).
//   * Pacing is computed, not slept: record.delay_s = max(0, timestamp - previous timestamp) /
//     speedup (0 for the first row of each pass, and always 0 when speedup == 0). The caller
//     sleeps.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/replay/trace_files.hpp"

namespace kv::replay {

struct BurstTraceOptions {
  double speedup = 1.0;             // --trace-speedup; 0 = no delays; < 0 is a usage error
  std::uint32_t replay_cycles = 0;  // --replay-cycles; 0 = loop forever
  bool strict = false;              // a bad row throws instead of being skipped
  std::size_t max_bad_samples = 10;
  std::string flag = "--burst-trace-path";
};

struct BurstRecord {
  double timestamp = 0;  // seconds, as in the file
  std::string model;     // buffers reused between next() calls
  std::string log_type;
  std::uint64_t request_tokens = 0;   // -> context tokens
  std::uint64_t response_tokens = 0;  // -> generation tokens
  std::uint64_t total_tokens = 0;
  std::uint64_t index = 0;     // 0-based over all valid rows returned (all passes)
  std::uint32_t cycle = 0;     // 0-based pass
  double delay_s = 0;          // wait this long before issuing the request
  std::size_t file_index = 0;  // into files()
  std::uint64_t line = 0;      // 1-based line in that file
};

class BurstTraceReader {
 public:
  // Resolves the spec (throws kFileNotFound naming the flag), validates the options and, before any
  // run, the files: every header must be valid and at least one row usable, else
  // kInvalidArguments naming the flag, file and line (require_usable_record).
  BurstTraceReader(const std::string& spec, BurstTraceOptions opts = {});
  // Next valid row; false when the replay is over.
  bool next(BurstRecord& out);

  const std::vector<std::filesystem::path>& files() const { return cursor_.files(); }
  const TraceReadStats& stats() const { return stats_; }

 private:
  bool parse_header(const std::string& line, const LineCursor& at);
  bool parse_row(const std::string& line, BurstRecord& out, std::string& reason);
  void bad_line(const std::string& reason);

  BurstTraceOptions opts_;
  LineCursor cursor_;
  TraceReadStats stats_;
  std::string line_;
  std::vector<std::string> fields_;
  // Column positions of the current file (-1 = absent).
  int col_ts_ = 0, col_model_ = 1, col_req_ = 2, col_resp_ = 3, col_total_ = 4, col_log_ = 5;
  std::size_t header_file_ = static_cast<std::size_t>(-1);
  std::uint32_t cycle_ = 0;
  std::uint64_t valid_in_pass_ = 0;
  bool have_prev_ = false;
  double prev_ts_ = 0;
  bool done_ = false;
};

// Splits one CSV line into `fields` (RFC 4180 quotes: "a,b" and "" inside quotes); reuses the
// vector's strings. Returns false on an unterminated quote.
bool split_csv_line(const std::string& line, std::vector<std::string>& fields);

}  // namespace kv::replay
