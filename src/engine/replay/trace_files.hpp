// Shared plumbing of the streaming trace readers (BurstGPT CSV, Mooncake JSON lines):
//   * resolve_trace_files(): a trace "spec" is a file, a directory (every file with the given
//     extension, sorted by name) or a glob pattern (matches sorted); nothing found -> kv::Error
//     (kFileNotFound) naming the flag and the spec.
//   * LineCursor: one pass over the files, line by line through a reused buffer (never loads a
//   whole
//     file), with the current file and 1-based line number for error messages.
//   * TraceReadStats: what the readers report into the results (records, skipped bad lines with the
//     first few "file:line: reason" samples, completed cycles).
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace kv::replay {

std::vector<std::filesystem::path> resolve_trace_files(const std::string& spec,
                                                       std::string_view extension,
                                                       std::string_view flag);

class LineCursor {
 public:
  LineCursor(std::vector<std::filesystem::path> files, std::string flag);
  // Next line of the current pass without its line terminator ("\n" or "\r\n"); false at the end
  // of the last file. Throws kv::Error(kFileNotFound) naming the flag if a file cannot be opened.
  bool next(std::string& line);
  // Starts a new pass at the first file.
  void rewind();

  const std::vector<std::filesystem::path>& files() const { return files_; }
  std::size_t file_index() const { return file_index_; }  // of the last line returned
  const std::filesystem::path& file() const { return files_[file_index_]; }
  std::uint64_t line_number() const { return line_; }  // 1-based within file()
  // "<file>:<line>" of the last line returned.
  std::string where() const;

 private:
  void open_current();
  std::vector<std::filesystem::path> files_;
  std::string flag_;
  std::size_t file_index_ = 0;
  bool opened_ = false;
  std::ifstream in_;
  std::uint64_t line_ = 0;
};

// Longest wait between two records (a gap in the timestamps divided by --trace-speedup): one day.
// Longer gaps are clamped, so extreme timestamps or speed-ups cannot overflow the schedule.
inline constexpr double kMaxTraceDelayS = 86400.0;

// Before a run: throws kv::Error(kInvalidArguments) "<flag>: no usable record in <files> (first
// problem: <file>:<line>: <reason>)" unless `usable_in` found a usable record in at least one
// file. Called for every file; `usable_in(cursor, problem)` reads one file's cursor until its first
// usable record (returns true) and sets `problem` to the first bad line's "<file>:<line>:
// <reason>"; it may throw itself (a bad header).
void require_usable_record(const std::vector<std::filesystem::path>& files, const std::string& flag,
                           const std::function<bool(LineCursor&, std::string&)>& usable_in);

struct TraceReadStats {
  std::size_t files = 0;
  std::uint64_t records = 0;    // valid records returned, all cycles together
  std::uint64_t bad_lines = 0;  // malformed lines skipped, counted in the first pass only
  std::vector<std::string> bad_line_samples;  // first few "file:line: reason"
  std::uint32_t cycles_completed = 0;         // full passes finished
};

nlohmann::ordered_json to_json(const TraceReadStats& s);

}  // namespace kv::replay
