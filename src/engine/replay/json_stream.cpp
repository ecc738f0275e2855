#include "engine/replay/json_stream.hpp"

#include <algorithm>
#include <cstring>

#include "core/error.hpp"

namespace kv::replay {

JsonArrayStream::JsonArrayStream(std::filesystem::path file, std::string flag)
    : file_(std::move(file)), flag_(std::move(flag)) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file_, ec)) {
    throw Error(ExitCode::kFileNotFound, flag_ + ": no such file: " + file_.string());
  }
  in_.open(file_, std::ios::binary);
  if (!in_) throw Error(ExitCode::kFileNotFound, flag_ + ": cannot open " + file_.string());
}

void JsonArrayStream::fail_at_line(std::uint64_t line, const std::string& what) const {
  throw Error(ExitCode::kInvalidArguments,
              flag_ + ": " + file_.string() + ":" + std::to_string(line) + ": " + what);
}

void JsonArrayStream::fail(const std::string& what) const {
  fail_at_line(start_line_, "record " + std::to_string(index_) + ": " + what);
}

int JsonArrayStream::peek() {
  if (pos_ >= buf_.size()) {
    buf_.resize(64 * 1024);
    in_.read(buf_.data(), static_cast<std::streamsize>(buf_.size()));
    buf_.resize(static_cast<std::size_t>(in_.gcount()));
    pos_ = 0;
    if (buf_.empty()) return -1;
  }
  return static_cast<unsigned char>(buf_[pos_]);
}

int JsonArrayStream::get() {
  const int c = peek();
  if (c >= 0) {
    ++pos_;
    if (c == '\n') ++line_;
  }
  return c;
}

int JsonArrayStream::skip_ws() {
  for (;;) {
    const int c = get();
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return c;
  }
}

// Copies one '{ ... }' element (the '{' already consumed) into `text`, tracking strings and
// nesting.
bool JsonArrayStream::read_element(std::string& text) {
  text.assign(1, '{');
  int depth = 1;
  bool in_string = false;
  bool escape = false;
  while (depth > 0) {
    const int c = get();
    if (c < 0) return false;
    text.push_back(static_cast<char>(c));
    if (in_string) {
      if (escape) {
        escape = false;
      } else if (c == '\\') {
        escape = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      // The JSON library recurses per level when a value is printed or compared: a hostile
      // file must not be able to overflow the stack.
      if (++depth > kMaxJsonDepth)
        fail("nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return true;
}

bool JsonArrayStream::next(nlohmann::json& element) {
  if (done_) return false;
  int c = 0;
  if (!started_) {
    // Optional UTF-8 byte-order mark.
    if (peek() == 0xEF) {
      get();
      if (get() != 0xBB || get() != 0xBF) fail_at_line(1, "invalid byte at the start of the file");
    }
    c = skip_ws();
    if (c != '[')
      fail_at_line(line_, "expected a JSON array of records ('[' at the start of the file)");
    started_ = true;
    c = skip_ws();
    if (c == ']') {
      if (skip_ws() >= 0) fail_at_line(line_, "unexpected text after the closing ']'");
      done_ = true;
      return false;
    }
  } else {
    c = skip_ws();
    if (c == ']') {
      c = skip_ws();
      if (c >= 0) fail_at_line(line_, "unexpected text after the closing ']'");
      done_ = true;
      return false;
    }
    if (c != ',') {
      fail_at_line(line_, c < 0 ? "unexpected end of file (missing ']')"
                                : "expected ',' or ']' after record " + std::to_string(index_));
    }
    c = skip_ws();
  }
  index_ = next_index_++;
  start_line_ = line_;
  if (c < 0) fail("unexpected end of file (missing ']')");
  if (c != '{') fail("each record must be a JSON object");
  if (!read_element(text_)) fail("unexpected end of file inside the record");
  try {
    element = nlohmann::json::parse(text_);
  } catch (const nlohmann::json::parse_error& e) {
    // Line of the error inside the record, from the byte position nlohmann reports.
    const std::size_t upto = std::min<std::size_t>(e.byte > 0 ? e.byte - 1 : 0, text_.size());
    const auto nl =
        std::count(text_.begin(), text_.begin() + static_cast<std::ptrdiff_t>(upto), '\n');
    fail_at_line(start_line_ + static_cast<std::uint64_t>(nl),
                 "record " + std::to_string(index_) + ": invalid JSON");
  } catch (const nlohmann::json::exception& e) {  // e.g. a number out of range (1e999)
    fail(std::string("invalid JSON value (") +
         (std::strstr(e.what(), "overflow") != nullptr ? "number out of range"
                                                       : "unsupported value") +
         ")");
  }
  return true;
}

}  // namespace kv::replay
