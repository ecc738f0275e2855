// Minimal thread-safe leveled logger to stderr: "[kv-cache] WARNING: message".
#pragma once

#include <fmt/format.h>

#include <string>
#include <string_view>

namespace kv::log {

enum class Level { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3, kCritical = 4 };

// Parses DEBUG/INFO/WARNING/ERROR/CRITICAL (case-insensitive); throws kv::Error naming `flag`.
Level parse_level(std::string_view name, std::string_view flag = "--log-level");
void set_level(Level l);
Level level();
void set_program(std::string name);
void write(Level l, std::string_view msg);

template <typename... Args>
void debug(fmt::format_string<Args...> f, Args&&... a) {
  if (level() <= Level::kDebug) write(Level::kDebug, fmt::format(f, std::forward<Args>(a)...));
}
template <typename... Args>
void info(fmt::format_string<Args...> f, Args&&... a) {
  if (level() <= Level::kInfo) write(Level::kInfo, fmt::format(f, std::forward<Args>(a)...));
}
template <typename... Args>
void warn(fmt::format_string<Args...> f, Args&&... a) {
  if (level() <= Level::kWarning) write(Level::kWarning, fmt::format(f, std::forward<Args>(a)...));
}
template <typename... Args>
void error(fmt::format_string<Args...> f, Args&&... a) {
  if (level() <= Level::kError) write(Level::kError, fmt::format(f, std::forward<Args>(a)...));
}

}  // namespace kv::log
