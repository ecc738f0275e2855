#include "orchestrator/help.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>

namespace kv::orchestrator {

namespace {

constexpr int kMinWidth = 40;
constexpr int kMaxWidth = 120;
constexpr std::size_t kMaxNameColumn = 30;

std::vector<std::string_view> words_of(std::string_view text) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    std::size_t j = i;
    while (j < text.size() && !std::isspace(static_cast<unsigned char>(text[j]))) ++j;
    if (j > i) out.push_back(text.substr(i, j - i));
    i = j;
  }
  return out;
}

bool is_flag(const CLI::Option* o) {
  return o->get_expected_max() == 0;
}

// "TEXT", "INT", ... of a value option; "" for a flag.
std::string metavar(const CLI::Option* o) {
  if (is_flag(o)) return {};
  std::string t = o->get_type_name();
  t = t.substr(0, t.find(':'));
  if (t.empty()) t = "VALUE";
  return o->get_expected_max() > 1 ? t + " ..." : t;
}

// The validators' descriptions ("{a,b}", "between 1 and 100000", "NONNEGATIVE").
std::string constraint(const CLI::Option* o) {
  const std::string t = o->get_type_name();
  const auto colon = t.find(':');
  if (colon == std::string::npos) return {};
  std::string c = t.substr(colon + 1);
  const std::string base = t.substr(0, colon) + " ";
  if (c.rfind(base, 0) == 0) c = c.substr(base.size());  // "INT in [1 - 5]" → "in [1 - 5]"
  std::replace(c.begin(), c.end(), ':', ';');
  // Choices read better with spaces: {a,b,c} → {a, b, c} (lets the text wrap between them).
  std::string spaced;
  for (char ch : c) {
    spaced += ch;
    if (ch == ',') spaced += ' ';
  }
  return spaced;
}

bool visible(const CLI::Option* o) {
  return !o->get_group().empty();
}

}  // namespace

int help_width(const char* columns, std::initializer_list<int> fds) {
  if (columns != nullptr && *columns != '\0') {
    char* end = nullptr;
    const long v = std::strtol(columns, &end, 10);
    if (*end == '\0' && v > 0) return static_cast<int>(std::clamp<long>(v, kMinWidth, kMaxWidth));
  }
  for (int fd : fds) {
    winsize ws{};
    if (::isatty(fd) && ::ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
      return std::clamp(static_cast<int>(ws.ws_col), kMinWidth, kMaxWidth);
  }
  return 80;
}

int help_width() {
  return help_width(std::getenv("COLUMNS"), {STDOUT_FILENO, STDERR_FILENO});
}

std::string wrap_words(std::string_view text, std::size_t width, std::size_t indent,
                       std::size_t first_col) {
  std::string out;
  std::size_t col = first_col;
  bool line_empty = true;
  auto newline = [&] {
    out += "\n" + std::string(indent, ' ');
    col = indent;
    line_empty = true;
  };
  for (std::string_view w : words_of(text)) {
    if ((!line_empty && col + 1 + w.size() > width) ||
        (line_empty && col > indent && col + w.size() > width))
      newline();
    while (col + w.size() > width) {  // longer than a whole line: split it
      const std::size_t take = std::max<std::size_t>(1, width > col ? width - col : 1);
      out += w.substr(0, take);
      w.remove_prefix(std::min(take, w.size()));
      newline();
    }
    if (w.empty()) continue;
    if (!line_empty) {
      out += ' ';
      ++col;
    }
    out += w;
    col += w.size();
    line_empty = false;
  }
  return out;
}

std::string wrap_command(std::string_view cmd, std::size_t width, std::size_t indent) {
  std::string out(indent, ' ');
  std::size_t col = indent;
  bool first_word = true;
  const std::size_t cont = indent + 4;
  for (std::string_view w : words_of(cmd)) {
    // Room for " word" and, if more follows, " \".
    if (!first_word && col + 1 + w.size() + 2 > width) {
      out += " \\\n" + std::string(cont, ' ');
      col = cont;
      first_word = true;
    }
    if (!first_word) {
      out += ' ';
      ++col;
    }
    out += w;
    col += w.size();
    first_word = false;
  }
  return out;
}

HelpFormatter::HelpFormatter(std::map<std::string, std::string> short_forms, std::string footer)
    : short_forms_(std::move(short_forms)), footer_(std::move(footer)) {}

void HelpFormatter::examples(const CLI::App* app, std::vector<std::string> commands) {
  for (auto& c : commands)
    if (c.rfind("mlpstorage", 0) != 0) c = "mlpstorage " + c;
  examples_[app] = std::move(commands);
}

std::string HelpFormatter::option_names(const CLI::Option* o) const {
  if (o->get_positional()) {
    const std::string mv = metavar(o);
    return o->get_name() + (mv.empty() ? "" : " " + mv);
  }
  std::string s;
  for (const auto& n : o->get_snames()) s += (s.empty() ? "-" : ", -") + n;
  for (const auto& n : o->get_lnames()) {
    if (auto it = short_forms_.find("--" + n); it != short_forms_.end())
      s += (s.empty() ? "" : ", ") + it->second;
    s += (s.empty() ? "--" : ", --") + n;
  }
  const std::string mv = metavar(o);
  return mv.empty() ? s : s + " " + mv;
}

std::string HelpFormatter::option_help(const CLI::Option* o) const {
  std::string h = o->get_description();
  if (const std::string c = constraint(o); !c.empty()) h += " (" + c + ")";
  if (o->get_positional() && o->get_required()) h += " (required)";
  if (!is_flag(o) && !o->get_default_str().empty()) h += " [default: " + o->get_default_str() + "]";
  for (const CLI::Option* x : o->get_excludes()) h += "; not with " + x->get_name();
  return h;
}

std::string HelpFormatter::make_help(const CLI::App* app, std::string name,
                                     CLI::AppFormatMode /*mode*/) const {
  const std::size_t width = static_cast<std::size_t>(width_ > 0 ? width_ : help_width()) - 1;
  std::string out;
  auto para = [&](const std::string& text) { out += wrap_words(text, width, 0, 0) + "\n"; };

  const auto positionals =
      app->get_options([](const CLI::Option* o) { return o->get_positional() && visible(o); });
  const auto options =
      app->get_options([](const CLI::Option* o) { return !o->get_positional() && visible(o); });
  const auto subs = app->get_subcommands([](const CLI::App* s) { return !s->get_group().empty(); });

  std::string usage = "Usage: " + name;
  if (!options.empty()) usage += " [OPTIONS]";
  for (const CLI::Option* p : positionals)
    usage += " " + (p->get_required() ? p->get_name() : "[" + p->get_name() + "]") +
             (p->get_expected_max() > 1 ? " ..." : "");
  if (!subs.empty()) usage += " COMMAND";
  out += wrap_words(usage, width, 4, 0) + "\n\n";
  if (!app->get_description().empty()) {
    para(app->get_description());
    out += "\n";
  }

  // One column for all names of this command, so the descriptions line up.
  std::size_t col = 0;
  for (const auto* o : positionals) col = std::max(col, option_names(o).size());
  for (const auto* o : options) col = std::max(col, option_names(o).size());
  for (const auto* s : subs) col = std::max(col, s->get_name().size());
  col = std::min(col + 4, std::min(kMaxNameColumn, width / 2));
  auto entry = [&](const std::string& names, const std::string& help) {
    std::size_t at = 2 + names.size();
    if (at > width) {  // even the names do not fit: wrap them too
      out += "  " + wrap_words(names, width, 6, 2);
      at = col + 2;  // forces the description onto the next line
    } else {
      out += "  " + names;
    }
    if (at + 2 > col) {  // names too long: the description starts on the next line
      out += "\n" + std::string(col, ' ');
      at = col;
    } else {
      out += std::string(col - at, ' ');
      at = col;
    }
    out += wrap_words(help, width, col, at) + "\n";
  };

  if (!positionals.empty()) {
    out += "Positionals:\n";
    for (const auto* p : positionals) entry(option_names(p), option_help(p));
    out += "\n";
  }
  std::vector<std::string> groups;
  for (const auto* o : options)
    if (std::find(groups.begin(), groups.end(), o->get_group()) == groups.end())
      groups.push_back(o->get_group());
  for (const auto& g : groups) {
    out += g + ":\n";
    for (const auto* o : options)
      if (o->get_group() == g) entry(option_names(o), option_help(o));
    out += "\n";
  }
  if (!subs.empty()) {
    out += "Commands:\n";
    for (const auto* s : subs) entry(s->get_name(), s->get_description());
    out += "\n";
  }
  if (auto it = examples_.find(app); it != examples_.end() && !it->second.empty()) {
    out += "Examples:\n";
    for (const auto& c : it->second) out += wrap_command(c, width, 2) + "\n";
    out += "\n";
  }
  if (!footer_.empty()) para(footer_);
  return out;
}

}  // namespace kv::orchestrator
