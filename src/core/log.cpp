#include "core/log.hpp"

#include <atomic>
#include <cstdio>
#include <mutex>

#include "core/error.hpp"

namespace kv::log {
namespace {
std::atomic<Level> g_level{Level::kInfo};
std::mutex g_mu;
std::string g_program = "kv";
}  // namespace

Level parse_level(std::string_view name, std::string_view flag) {
  std::string up(name);
  for (auto& c : up) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (up == "DEBUG") return Level::kDebug;
  if (up == "INFO") return Level::kInfo;
  if (up == "WARNING" || up == "WARN") return Level::kWarning;
  if (up == "ERROR") return Level::kError;
  if (up == "CRITICAL") return Level::kCritical;
  throw usage_error(std::string(flag), "unknown log level '" + std::string(name) +
                                           "' (use DEBUG, INFO, WARNING, ERROR or CRITICAL)");
}

void set_level(Level l) { g_level.store(l); }
Level level() { return g_level.load(std::memory_order_relaxed); }
void set_program(std::string name) {
  std::lock_guard lk(g_mu);
  g_program = std::move(name);
}

void write(Level l, std::string_view msg) {
  static constexpr const char* kNames[] = {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"};
  std::lock_guard lk(g_mu);
  std::fprintf(stderr, "[%s] %s: %.*s\n", g_program.c_str(), kNames[static_cast<int>(l)],
               static_cast<int>(msg.size()), msg.data());
}

}  // namespace kv::log
