// mlpstorage console logger: the reference's numeric levels
// (CRITICAL 50 … PLAID 3, with RESULT 35, STATUS 25, VERBOSE 19), lines
// "YYYY-MM-DD HH:MM:SS|LEVEL: message" on stderr ("…|LEVEL:file:line: message" is not reproduced;
// --debug adds the pid instead), colours only when stderr is a terminal. Optionally tees every line
// (without colour) into a file, e.g. the run directory's log. Thread-safe.
#pragma once

#include <fmt/format.h>

#include <cstdio>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace kv::orchestrator {

enum class Level : int {
  kPlaid = 3,
  kLudicrous = 5,
  kRidiculous = 7,
  kDebug = 10,
  kVerbosest = 17,
  kVerboser = 18,
  kVerbose = 19,
  kInfo = 20,
  kStatus = 25,
  kWarning = 30,
  kResult = 35,
  kError = 40,
  kCritical = 50,
};

const std::vector<std::string>& level_names();  // upper-case names, high to low
Level level_from_name(std::string_view name);   // case-insensitive; unknown → kInfo
const char* level_name(Level l);

class Logger {
 public:
  static Logger& get();

  // --stream-log-level, then --verbose (lowers to VERBOSE), then --debug (lowers to DEBUG).
  void configure(std::string_view stream_level, bool verbose, bool debug);
  void set_level(Level l);
  Level level() const { return level_; }
  bool enabled(Level l) const { return static_cast<int>(l) >= static_cast<int>(level_); }
  // Also append lines to this file (closed by close_file or the next open_file).
  void open_file(const std::string& path);
  void close_file();

  void log(Level l, std::string_view msg);

  template <typename... A>
  void status(fmt::format_string<A...> f, A&&... a) {
    emit(Level::kStatus, f, std::forward<A>(a)...);
  }
  template <typename... A>
  void info(fmt::format_string<A...> f, A&&... a) {
    emit(Level::kInfo, f, std::forward<A>(a)...);
  }
  template <typename... A>
  void verbose(fmt::format_string<A...> f, A&&... a) {
    emit(Level::kVerbose, f, std::forward<A>(a)...);
  }
  template <typename... A>
  void debug(fmt::format_string<A...> f, A&&... a) {
    emit(Level::kDebug, f, std::forward<A>(a)...);
  }
  template <typename... A>
  void warning(fmt::format_string<A...> f, A&&... a) {
    emit(Level::kWarning, f, std::forward<A>(a)...);
  }
  template <typename... A>
  void error(fmt::format_string<A...> f, A&&... a) {
    emit(Level::kError, f, std::forward<A>(a)...);
  }
  template <typename... A>
  void result(fmt::format_string<A...> f, A&&... a) {
    emit(Level::kResult, f, std::forward<A>(a)...);
  }

 private:
  template <typename... A>
  void emit(Level l, fmt::format_string<A...> f, A&&... a) {
    if (enabled(l) || file_ != nullptr) log(l, fmt::format(f, std::forward<A>(a)...));
  }

  Level level_ = Level::kInfo;
  bool debug_ = false;
  std::FILE* file_ = nullptr;
  std::mutex mu_;
};

inline Logger& logger() {
  return Logger::get();
}

}  // namespace kv::orchestrator
