// The live one-line status on stderr (issue #4 item 9): elapsed / duration, completed requests, GiB
// read and written, current GiB/s per tier; refreshed about once a second with '\r'; only when
// stderr is a terminal and --quiet is not given. finish() clears the line. As a run observer it
// ticks with the run loop and clears the line at the stop.
// The line always fits the terminal (TIOCGWINSZ, else $COLUMNS, else 80; read at every refresh):
// fields are dropped, least important first, so it never wraps (a wrapped line leaves a stale row
// behind every '\r').
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/cache/cache.hpp"
#include "engine/run/observer.hpp"

namespace kv::engine::run {

class StatusLine final : public RunObserver {
 public:
  StatusLine(bool enabled, int duration_s);
  bool enabled() const { return enabled_; }
  // Call often; prints at most once per second.
  void tick(std::int64_t now_ns, std::int64_t t0_ns, std::uint64_t requests,
            const cache::CacheStats& s);
  bool due(std::int64_t now_ns) const { return enabled_ && now_ns - last_ns_ >= 1'000'000'000; }
  void finish();

  void on_tick(const RunState& s, std::int64_t now_ns) override;
  void on_stop(const RunState&) override { finish(); }

 private:
  bool enabled_;
  int duration_s_;
  std::int64_t last_ns_ = 0;
  cache::CacheStats last_{};
  bool printed_ = false;
};

// True when stderr is a terminal.
bool stderr_is_tty();
// Columns of the terminal on stderr (TIOCGWINSZ), else $COLUMNS, else 80.
int terminal_columns();

struct StatusField {
  std::string text;
  int priority;  // higher = kept longer
};
// Joins the fields in order with " | " after `prefix`, dropping the lowest-priority fields (then
// the prefix) until the visible width (code points) is at most `width`.
std::string fit_status_line(const std::string& prefix, std::vector<StatusField> fields,
                            std::size_t width);
// One refresh of a live line on the terminal: "\r[kv-cache] <fields>\x1b[K", fitted to one column
// less than the terminal (writing the last column makes some terminals wrap).
std::string status_refresh(std::vector<StatusField> fields);

}  // namespace kv::engine::run
