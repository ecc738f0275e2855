#include "orchestrator/submission/progress.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>

#include "orchestrator/logger.hpp"

namespace kv::orchestrator::submission {

namespace {

constexpr std::string_view kTag = "kv-cache progress:";

template <typename T>
bool to_number(std::string_view v, T& out) {
  if constexpr (std::is_floating_point_v<T>) {
    try {
      std::size_t used = 0;
      const std::string s(v);
      out = static_cast<T>(std::stod(s, &used));
      return used == s.size() && std::isfinite(static_cast<double>(out));
    } catch (const std::exception&) {
      return false;
    }
  } else {
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
    return ec == std::errc() && p == v.data() + v.size();
  }
}

}  // namespace

std::optional<ProgressRecord> parse_progress_line(std::string_view line) {
  const auto at = line.find(kTag);
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view rest = line.substr(at + kTag.size());
  ProgressRecord r;
  bool have_elapsed = false;
  while (!rest.empty()) {
    const auto start = rest.find_first_not_of(" \t\r");
    if (start == std::string_view::npos) break;
    rest.remove_prefix(start);
    const auto end = rest.find_first_of(" \t\r");
    const std::string_view tok = rest.substr(0, end);
    rest.remove_prefix(end == std::string_view::npos ? rest.size() : end);
    const auto eq = tok.find('=');
    if (eq == std::string_view::npos) continue;
    const std::string_view k = tok.substr(0, eq), v = tok.substr(eq + 1);
    if (k == "phase")
      r.phase = std::string(v);
    else if (k == "elapsed_s")
      have_elapsed = to_number(v, r.elapsed_s);
    else if (k == "duration_s")
      to_number(v, r.duration_s);
    else if (k == "requests")
      to_number(v, r.requests);
    else if (k == "read_gibps")
      to_number(v, r.read_gibps);
    else if (k == "write_gibps")
      to_number(v, r.write_gibps);
    else if (k == "rank")
      to_number(v, r.rank);
    else if (k == "done")
      to_number(v, r.done);
    else if (k == "total")
      to_number(v, r.total);
    else if (k == "unit")
      r.unit = std::string(v);
    else if (k == "step")
      r.step = std::string(v);
  }
  if (!have_elapsed) return std::nullopt;
  return r;
}

std::string format_eta(double seconds) {
  if (seconds < 60) return "<1 min";
  const long long min = std::llround(seconds / 60.0);
  if (min < 60) return fmt::format("{} min", min);
  return fmt::format("{} h {} min", min / 60, min % 60);
}

namespace {

// What a phase outside the window does, as the status line says it.
std::string phase_text(const ProgressRecord& r) {
  std::string t = r.phase == "prepopulate" ? "pre-populating"
                  : r.phase == "probe"     ? "probing the device"
                  : r.phase == "cleanup"   ? "removing cache files"
                  : r.phase == "gather"    ? "gathering rank results"
                                           : r.phase;
  if (!r.step.empty()) t += " (" + r.step + ")";
  if (r.unit.empty()) return t;
  const bool bytes = r.unit == "bytes";
  const auto num = [&](unsigned long long v) {
    return bytes ? fmt::format("{:.2f}", static_cast<double>(v) / (1024.0 * 1024.0 * 1024.0))
                 : std::to_string(v);
  };
  const std::string unit = bytes ? "GiB" : r.unit;
  if (r.total == 0) return fmt::format("{} {} {}", t, num(r.done), unit);
  const double pct =
      100.0 * static_cast<double>(std::min(r.done, r.total)) / static_cast<double>(r.total);
  return fmt::format("{} {}/{} {} ({:.0f} %)", t, num(r.done), num(r.total), unit, pct);
}

}  // namespace

std::string format_status(const SequencePosition& pos, const ProgressRecord& r) {
  std::string s = pos.options > 0 ? fmt::format("option {}/{}, trial {}/{}, ", pos.option,
                                                pos.options, pos.trial, pos.trials)
                                  : std::string();
  const bool window = r.phase.empty() || r.phase == "window" || r.phase == "drain";
  double left = 0;  // of this run
  if (window) {
    if (r.phase == "drain") s += "drain, ";
    s += fmt::format("{:.0f}/{} s, read {:.1f} GiB/s", std::floor(r.elapsed_s), r.duration_s,
                     r.read_gibps);
    left = std::max(0.0, r.duration_s - r.elapsed_s);
  } else {
    s += fmt::format("{}, {:.0f} s", phase_text(r), std::floor(r.elapsed_s));
    if (r.read_gibps > 0) s += fmt::format(", read {:.1f} GiB/s", r.read_gibps);
    if (r.write_gibps > 0) s += fmt::format(", write {:.1f} GiB/s", r.write_gibps);
    if (r.phase == "prepopulate" || r.phase == "probe") left = r.duration_s;  // window to come
  }
  return s + ", ETA " + format_eta(left + pos.remaining_after_s);
}

ProgressRelay::ProgressRelay(SequencePosition pos, bool terminal, double log_every_s,
                             std::function<void(std::string_view)> write_err,
                             std::function<void(const std::string&)> log_status,
                             std::function<double()> now_s)
    : pos_(pos),
      terminal_(terminal),
      log_every_s_(log_every_s),
      write_err_(std::move(write_err)),
      log_status_(std::move(log_status)),
      now_s_(std::move(now_s)) {}

void ProgressRelay::feed(const char* data, std::size_t n) {
  partial_.append(data, n);
  std::size_t start = 0;
  while (true) {
    const auto nl = partial_.find('\n', start);
    if (nl == std::string::npos) break;
    on_line(std::string_view(partial_).substr(start, nl - start));
    start = nl + 1;
  }
  partial_.erase(0, start);
}

void ProgressRelay::on_line(std::string_view line) {
  if (auto r = parse_progress_line(line)) {
    const std::string phase = r->phase;
    latest_[r->rank] = std::move(*r);
    show(phase);
    return;
  }
  if (terminal_ && line_shown_) write_err_("\r\x1b[K");
  std::string copy(line);
  copy += '\n';
  write_err_(copy);
  if (terminal_ && line_shown_) write_err_(last_status_);
}

void ProgressRelay::show(const std::string& phase) {
  ProgressRecord sum;  // the ranks whose latest record is in `phase`
  sum.phase = phase;
  for (const auto& [rank, r] : latest_) {
    sum.duration_s = std::max(sum.duration_s, r.duration_s);
    if (r.phase != phase) continue;
    sum.elapsed_s = std::max(sum.elapsed_s, r.elapsed_s);
    sum.read_gibps += r.read_gibps;
    sum.write_gibps += r.write_gibps;
    sum.requests += r.requests;
    sum.done += r.done;
    sum.total += r.total;
    if (!r.unit.empty()) sum.unit = r.unit;
    if (!r.step.empty()) sum.step = r.step;
  }
  last_status_ = format_status(pos_, sum);
  if (terminal_) {
    write_err_("\r\x1b[K" + last_status_);
    line_shown_ = true;
    return;
  }
  const double now = now_s_();
  // A phase outside the window that just completed is logged too, so the log says how it ended.
  const bool completed = sum.total > 0 && sum.done >= sum.total && phase != "window";
  if (!last_log_s_ || now - *last_log_s_ >= log_every_s_ || phase != last_phase_ || completed) {
    last_log_s_ = now;
    last_phase_ = phase;
    log_status_(last_status_);
  }
}

void ProgressRelay::finish() {
  if (!partial_.empty()) {
    const std::string rest = partial_;
    partial_.clear();
    on_line(rest);
  }
  if (terminal_ && line_shown_) {
    write_err_("\r\x1b[K");
    line_shown_ = false;
  }
}

std::unique_ptr<ProgressRelay> console_relay(const SequencePosition& pos, int err_fd,
                                             double log_every_s) {
  const bool tty = err_fd >= 0 && ::isatty(err_fd) == 1;
  const auto t0 = std::chrono::steady_clock::now();
  return std::make_unique<ProgressRelay>(
      pos, tty, log_every_s,
      [err_fd](std::string_view s) {
        if (err_fd < 0) return;
        while (!s.empty()) {
          const ssize_t w = ::write(err_fd, s.data(), s.size());
          if (w <= 0) return;
          s.remove_prefix(static_cast<std::size_t>(w));
        }
      },
      [](const std::string& line) { logger().status("{}", line); },
      [t0] {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      });
}

}  // namespace kv::orchestrator::submission
