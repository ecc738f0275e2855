#include "orchestrator/logger.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <ctime>

namespace kv::orchestrator {
namespace {

struct LevelInfo {
  Level level;
  const char* name;
  const char* colour;  // ANSI prefix, empty for plain
};

const LevelInfo kLevels[] = {
    {Level::kCritical, "CRITICAL", "\033[1;31m"},
    {Level::kError, "ERROR", "\033[1;31m"},
    {Level::kResult, "RESULT", "\033[32m"},
    {Level::kWarning, "WARNING", "\033[33m"},
    {Level::kStatus, "STATUS", "\033[1;34m"},
    {Level::kInfo, "INFO", ""},
    {Level::kVerbose, "VERBOSE", ""},
    {Level::kVerboser, "VERBOSER", ""},
    {Level::kVerbosest, "VERBOSEST", ""},
    {Level::kDebug, "DEBUG", ""},
    {Level::kRidiculous, "RIDICULOUS", ""},
    {Level::kLudicrous, "LUDICROUS", ""},
    {Level::kPlaid, "PLAID", "\033[1;95m"},
};

const LevelInfo& info_of(Level l) {
  for (const auto& i : kLevels) {
    if (i.level == l) return i;
  }
  return kLevels[5];
}

}  // namespace

const std::vector<std::string>& level_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const auto& i : kLevels) v.emplace_back(i.name);
    return v;
  }();
  return names;
}

Level level_from_name(std::string_view name) {
  std::string up(name);
  std::transform(up.begin(), up.end(), up.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  for (const auto& i : kLevels) {
    if (up == i.name) return i.level;
  }
  return Level::kInfo;
}

const char* level_name(Level l) {
  return info_of(l).name;
}

Logger& Logger::get() {
  static Logger instance;
  return instance;
}

void Logger::configure(std::string_view stream_level, bool verbose, bool debug) {
  Level l = level_from_name(stream_level);
  if (verbose && static_cast<int>(l) > static_cast<int>(Level::kVerbose)) l = Level::kVerbose;
  if (debug && static_cast<int>(l) > static_cast<int>(Level::kDebug)) l = Level::kDebug;
  std::lock_guard lk(mu_);
  level_ = l;
  debug_ = debug;
}

void Logger::set_level(Level l) {
  std::lock_guard lk(mu_);
  level_ = l;
}

void Logger::open_file(const std::string& path) {
  std::lock_guard lk(mu_);
  if (file_) std::fclose(file_);
  file_ = std::fopen(path.c_str(), "a");
}

void Logger::close_file() {
  std::lock_guard lk(mu_);
  if (file_) std::fclose(file_);
  file_ = nullptr;
}

void Logger::log(Level l, std::string_view msg) {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::localtime_r(&t, &tm);
  char ts[32];
  std::strftime(ts, sizeof ts, "%Y-%m-%d %H:%M:%S", &tm);
  const LevelInfo& li = info_of(l);
  std::string line = debug_ ? fmt::format("{}|{}:{}: {}", ts, li.name, ::getpid(), msg)
                            : fmt::format("{}|{}: {}", ts, li.name, msg);
  std::lock_guard lk(mu_);
  if (enabled(l)) {
    static const bool tty = ::isatty(STDERR_FILENO) == 1;
    if (tty && li.colour[0] != '\0') {
      std::fprintf(stderr, "%s%s\033[0m\n", li.colour, line.c_str());
    } else {
      std::fprintf(stderr, "%s\n", line.c_str());
    }
    std::fflush(stderr);
  }
  if (file_) {
    std::fprintf(file_, "%s\n", line.c_str());
    std::fflush(file_);
  }
}

}  // namespace kv::orchestrator
