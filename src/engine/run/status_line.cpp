#include "engine/run/status_line.hpp"

#include <fmt/format.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "core/units.hpp"
#include "engine/run/state.hpp"

namespace kv::engine::run {

bool stderr_is_tty() {
  return ::isatty(STDERR_FILENO) == 1;
}

int terminal_columns() {
  struct winsize ws {};
  if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  if (const char* c = std::getenv("COLUMNS")) {
    const int n = std::atoi(c);
    if (n > 0) return n;
  }
  return 80;
}

std::string fit_status_line(const std::string& prefix, std::vector<StatusField> fields,
                            std::size_t width) {
  auto columns = [](const std::string& s) {
    std::size_t n = 0;
    for (unsigned char c : s) n += (c & 0xC0) != 0x80;
    return n;
  };
  bool with_prefix = true;
  for (;;) {
    std::string line = with_prefix ? prefix : std::string();
    for (std::size_t i = 0; i < fields.size(); ++i) line += (i == 0 ? "" : " | ") + fields[i].text;
    if (columns(line) <= width) return line;
    if (fields.empty()) return {};
    // The prefix goes before the two most important fields do.
    if (with_prefix && fields.size() <= 2) {
      with_prefix = false;
      continue;
    }
    fields.erase(std::min_element(
        fields.begin(), fields.end(),
        [](const StatusField& x, const StatusField& y) { return x.priority < y.priority; }));
  }
}

std::string status_refresh(std::vector<StatusField> fields) {
  const int cols = terminal_columns();
  return "\r" +
         fit_status_line("[kv-cache] ", std::move(fields),
                         static_cast<std::size_t>(std::max(cols - 1, 1))) +
         "\x1b[K";
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
  // Fields in display order; priorities: elapsed, requests, storage rates, totals, CPU, GPU.
  const double elapsed = static_cast<double>(now_ns - t0_ns) * 1e-9;
  std::vector<StatusField> fields = {{fmt::format("{:.0f}/{} s", elapsed, duration_s_), 9},
                                     {fmt::format("{} req", requests), 8}};
  const char* names[3] = {"gpu", "cpu", "sto"};
  const int prio[3] = {4, 5, 7};
  for (std::size_t t = 3; t-- > 0;) {
    if (!s.tiers[t].present && s.tiers[t].bytes_read == 0 && s.tiers[t].bytes_written == 0)
      continue;
    fields.push_back({fmt::format("{} R {:.2f} W {:.2f} GiB/s", names[t],
                                  rate(s.tiers[t].bytes_read, last_.tiers[t].bytes_read),
                                  rate(s.tiers[t].bytes_written, last_.tiers[t].bytes_written)),
                      prio[t]});
  }
  fields.push_back({fmt::format("total R {:.2f} W {:.2f} GiB", bytes_to_gib(s.total_read_bytes),
                                bytes_to_gib(s.total_write_bytes)),
                    6});
  std::fputs(status_refresh(std::move(fields)).c_str(), stderr);
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
