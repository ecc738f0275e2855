// Streams the elements of a top-level JSON array one at a time, without loading the file: used for
// the ShareGPT dataset (often > 1 GB, of which only the first --max-conversations records are used)
// and the validation trace. Each element must be a JSON object; it is handed out parsed, with its
// 0-based index and the 1-based line it starts on. Any syntax error -> kv::Error(kInvalidArguments)
// "<flag>: <file>:<line>: record <i>: <what>" (also for nesting deeper than kMaxJsonDepth and
// numbers out of range such as 1e999); a missing file -> kv::Error(kFileNotFound).
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

namespace kv::replay {

// Deepest nesting of objects/arrays accepted inside one record (deeper: a kInvalidArguments error).
inline constexpr int kMaxJsonDepth = 64;

class JsonArrayStream {
 public:
  JsonArrayStream(std::filesystem::path file, std::string flag);
  // Next element; false after the closing ']' (trailing non-space text is an error).
  bool next(nlohmann::json& element);
  std::uint64_t index() const { return index_; }            // 0-based index of the last element
  std::uint64_t start_line() const { return start_line_; }  // its first line
  // Throws kv::Error(kInvalidArguments) "<flag>: <file>:<start line>: record <i>: <what>".
  [[noreturn]] void fail(const std::string& what) const;
  // Same without the record: "<flag>: <file>:<line>: <what>".
  [[noreturn]] void fail_at_line(std::uint64_t line, const std::string& what) const;

 private:
  int get();  // next byte or -1; counts lines
  int peek();
  int skip_ws();  // next non-space byte (consumed) or -1
  bool read_element(std::string& text);

  std::filesystem::path file_;
  std::string flag_;
  std::ifstream in_;
  std::string buf_;
  std::size_t pos_ = 0;
  std::uint64_t line_ = 1;
  std::uint64_t index_ = 0;
  std::uint64_t start_line_ = 0;
  std::uint64_t next_index_ = 0;
  bool started_ = false;
  bool done_ = false;
  std::string text_;
};

}  // namespace kv::replay
