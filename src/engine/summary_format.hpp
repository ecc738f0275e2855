// Cells of the engine's console text (engine/summary.*): every line fits kConsoleColumns (a path
// longer than that stands alone on its line: path_lines), a value that was never measured (absent
// or null in the results JSON) prints as kUnmeasured, never as 0.
// Widths count UTF-8 code points (kUnmeasured is one column, three bytes).
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kv::engine::console {

inline constexpr std::size_t kConsoleColumns = 79;
inline constexpr const char* kUnmeasured = "\xE2\x80\x94";  // "—" (U+2014)

// Display columns of UTF-8 text: code points (no wide characters are printed).
inline std::size_t columns(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80 ? 1 : 0;
  return n;
}

inline std::string align_right(std::string s, std::size_t width) {
  const std::size_t c = columns(s);
  return c >= width ? s : std::string(width - c, ' ') + s;
}

inline std::string align_left(std::string s, std::size_t width) {
  const std::size_t c = columns(s);
  return c >= width ? s : s + std::string(width - c, ' ');
}

// j[key] when it is a number; nullopt when absent, null or not a number (never measured).
inline std::optional<double> measured(const nlohmann::ordered_json& j, std::string_view key) {
  if (!j.is_object()) return std::nullopt;
  const auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

inline std::string number(std::optional<double> v, int decimals) {
  return v ? fmt::format("{:.{}f}", *v, decimals) : std::string(kUnmeasured);
}

// Milliseconds with enough decimals that a small latency never reads as 0.0.
inline std::string millis(std::optional<double> v) {
  if (!v) return kUnmeasured;
  return number(v, *v < 1 ? 3 : *v < 100 ? 2 : 1);
}

// "  <label padded to label_w><cells right-aligned to cell_w>\n".
inline std::string table_row(std::string_view label, std::size_t label_w,
                             const std::vector<std::string>& cells, std::size_t cell_w) {
  std::string o = "  " + align_left(std::string(label), label_w);
  for (const auto& c : cells) o += align_right(c, cell_w);
  return o + "\n";
}

// `text` wrapped at spaces into lines of at most `width` columns, the first starting with `first`,
// the others with `next` (a word longer than a line is not broken).
inline std::string wrap(std::string_view text, std::string_view first, std::string_view next,
                        std::size_t width = kConsoleColumns) {
  std::string out, line(first);
  bool empty = true;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t end = std::min(text.find(' ', pos), text.size());
    const std::string_view word = text.substr(pos, end - pos);
    pos = end + 1;
    if (word.empty()) continue;
    if (!empty && columns(line) + 1 + columns(word) > width) {
      out += line + "\n";
      line = std::string(next);
      empty = true;
    }
    line += empty ? std::string(word) : " " + std::string(word);
    empty = false;
  }
  return out + line + "\n";
}

// A line that names a path (docs/engine.md "Console output"): `head` + `path` + `tail` when that
// fits kConsoleColumns; else `alone` (default: `head` without its trailing spaces, then `tail`),
// wrapped, and the path on a line of its own, indented two spaces, or from column 0 when it is
// longer than that: a path is never broken, so that it can be copied whole; a path longer than
// the width is the only thing past column 79.
inline std::string path_lines(std::string_view head, std::string_view path,
                              std::string_view tail = "", std::string_view alone = "") {
  const std::string one = std::string(head) + std::string(path) + std::string(tail);
  if (columns(one) <= kConsoleColumns) return one + "\n";
  std::string first(alone);
  if (first.empty()) {
    first = std::string(head.substr(0, head.find_last_not_of(' ') + 1)) + std::string(tail);
  }
  const bool indented = 2 + columns(path) <= kConsoleColumns;
  return (columns(first) <= kConsoleColumns ? first + "\n" : wrap(first, "", "  ")) +
         (indented ? "  " : "") + std::string(path) + "\n";
}

}  // namespace kv::engine::console
