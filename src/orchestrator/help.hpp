// Help text of every mlpstorage command, rendered from the CLI11 tree (cli.cpp) and wrapped to the
// terminal (docs/mlpstorage.md, "Help"):
//   width: $COLUMNS when it is a number, else the terminal size of stdout or stderr (TIOCGWINSZ),
//          else 80 (not a terminal); at least 40, at most 120. No line is wider than width - 1 (a
//          line that fills the last column makes some terminals wrap).
//   layout: Usage, the description, positionals, the option groups of this command only (the
//          reference's multi-letter short forms shown next to their long names: "-rd,
//          --results-dir"), sub-commands, "Examples:" (commands wrapped with " \" continuations so
//          they stay copy-pasteable), the exit codes.
#pragma once

#include <CLI/CLI.hpp>
#include <initializer_list>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace kv::orchestrator {

// The help width as described above.
int help_width();
// The same from a $COLUMNS value (may be null) and the descriptors to ask for a terminal size.
int help_width(const char* columns, std::initializer_list<int> fds);

// Words of `text` wrapped into lines of at most `width` columns; every line starts with `indent`
// spaces, except the first, which starts at column `first_col` (the caller has already written
// that much). A word longer than a line is split. No trailing newline.
std::string wrap_words(std::string_view text, std::size_t width, std::size_t indent,
                       std::size_t first_col);

// A shell command wrapped at word boundaries with " \" at the end of every continued line; the
// continuation lines are indented by 4 more columns. Words are never split, so a word longer than
// a line would pass the width: examples keep their words short.
std::string wrap_command(std::string_view cmd, std::size_t width, std::size_t indent);

class HelpFormatter : public CLI::FormatterBase {
 public:
  // `short_forms`: long name → the reference's multi-letter short form ("--results-dir" → "-rd").
  HelpFormatter(std::map<std::string, std::string> short_forms, std::string footer);
  // The examples of one command (commands without the leading "mlpstorage" are completed).
  void examples(const CLI::App* app, std::vector<std::string> commands);
  // A fixed width (tests); 0 = help_width() each time help is rendered.
  void width(int w) { width_ = w; }
  std::string make_help(const CLI::App* app, std::string name,
                        CLI::AppFormatMode mode) const override;

 private:
  std::string option_names(const CLI::Option* o) const;
  std::string option_help(const CLI::Option* o) const;
  std::map<std::string, std::string> short_forms_;
  std::string footer_;
  std::map<const CLI::App*, std::vector<std::string>> examples_;
  int width_ = 0;
};

}  // namespace kv::orchestrator
