#include "engine/run/status_line.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>

#include "core/units.hpp"
#include "engine/run/state.hpp"

namespace kv::engine::run {

bool stderr_is_tty() {
  return ::isatty(STDERR_FILENO) == 1;
}

StatusLine::StatusLine(bool enabled, int duration_s) : enabled_(enabled), duration_s_(duration_s) {}

void StatusLine::tick(std::int64_t now_ns, std::int64_t t0_ns, std::uint64_t requests,
                      const cache::CacheStats& s) {
  if (!enabled_) return;
  if (last_ns_ == 0) {
    last_ns_ = now_ns;
    last_ = s;
    return;
  }
  if (now_ns - last_ns_ < 1'000'000'000) return;
  const double dt = static_cast<double>(now_ns - last_ns_) * 1e-9;
  auto rate = [&](std::uint64_t now_b, std::uint64_t then_b) {
    return now_b >= then_b ? bytes_to_gib(now_b - then_b) / dt : 0.0;
  };
  std::string tiers;
  const char* names[3] = {"gpu", "cpu", "sto"};
  for (std::size_t t = 0; t < 3; ++t) {
    if (!s.tiers[t].present && s.tiers[t].bytes_read == 0 && s.tiers[t].bytes_written == 0)
      continue;
    tiers += fmt::format(" | {} R {:.2f} W {:.2f}", names[t],
                         rate(s.tiers[t].bytes_read, last_.tiers[t].bytes_read),
                         rate(s.tiers[t].bytes_written, last_.tiers[t].bytes_written));
  }
  const double elapsed = static_cast<double>(now_ns - t0_ns) * 1e-9;
  const std::string line = fmt::format(
      "\r[kv-cache] {:.0f}/{} s | {} req | read {:.2f} GiB written {:.2f} GiB{} GiB/s\x1b[K",
      elapsed, duration_s_, requests, bytes_to_gib(s.total_read_bytes),
      bytes_to_gib(s.total_write_bytes), tiers);
  std::fputs(line.c_str(), stderr);
  std::fflush(stderr);
  printed_ = true;
  last_ns_ = now_ns;
  last_ = s;
}

void StatusLine::finish() {
  if (enabled_ && printed_) {
    std::fputs("\r\x1b[K", stderr);
    std::fflush(stderr);
  }
  printed_ = false;
}

void StatusLine::on_tick(const RunState& s, std::int64_t now_ns) {
  if (due(now_ns) || now_ns - s.t0_ns < 100'000'000)
    tick(now_ns, s.t0_ns, s.recorder->completed(), s.cache->stats());
}

}  // namespace kv::engine::run
