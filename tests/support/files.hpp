// File helpers for tests: read a whole file, write one (optionally executable), split text into
// lines or fields. One home for what test files used to copy (tests/support/; see
// docs/architecture.md).
#pragma once

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace kv::testsupport {

// The whole file as bytes; "" when it cannot be opened.
inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Writes `content` to `p` (parent directories created, file truncated); mode 0755 if executable.
inline void write_file(const std::filesystem::path& p, const std::string& content,
                       bool executable = false) {
  if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path());
  {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out << content;
  }
  if (executable) ::chmod(p.c_str(), 0755);
}

// The lines of `text`, without their '\n' (a final line without '\n' counts too).
inline std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> v;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) v.push_back(l);
  return v;
}

// The lines of the file at `p` (none when it cannot be opened).
inline std::vector<std::string> read_lines(const std::filesystem::path& p) {
  return lines_of(slurp(p));
}

// The fields of `s` between the separators, empty ones included ("" gives one empty field).
inline std::vector<std::string> split(const std::string& s, char sep = ',') {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == sep) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

// How many times `needle` occurs in `s` (overlapping occurrences count).
inline int count_of(const std::string& s, const std::string& needle) {
  int n = 0;
  for (auto p = s.find(needle); p != std::string::npos; p = s.find(needle, p + 1)) ++n;
  return n;
}

}  // namespace kv::testsupport
