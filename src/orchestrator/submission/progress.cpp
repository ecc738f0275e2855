#include "orchestrator/submission/progress.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>

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

std::string format_status(const SequencePosition& pos, const std::string& phase, double elapsed_s,
                          int duration_s, double read_gibps, double eta_s) {
  std::string s =
      fmt::format("option {}/{}, trial {}/{}, ", pos.option, pos.options, pos.trial, pos.trials);
  if (!phase.empty() && phase != "window") s += phase + ", ";
  s += fmt::format("{:.0f}/{} s, read {:.1f} GiB/s, ETA {}", std::floor(elapsed_s), duration_s,
                   read_gibps, format_eta(eta_s));
  return s;
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
    latest_[r->rank] = *r;
    show();
    return;
  }
  if (terminal_ && line_shown_) write_err_("\r\x1b[K");
  std::string copy(line);
  copy += '\n';
  write_err_(copy);
  if (terminal_ && line_shown_) write_err_(last_status_);
}

void ProgressRelay::show() {
  double elapsed = 0, read = 0;
  int duration = 0;
  std::string phase;
  for (const auto& [rank, r] : latest_) {
    read += r.read_gibps;
    if (r.elapsed_s >= elapsed) {
      elapsed = r.elapsed_s;
      phase = r.phase;
    }
    duration = std::max(duration, r.duration_s);
  }
  const double eta = std::max(0.0, duration - elapsed) + pos_.remaining_after_s;
  last_status_ = format_status(pos_, phase, elapsed, duration, read, eta);
  if (terminal_) {
    write_err_("\r\x1b[K" + last_status_);
    line_shown_ = true;
    return;
  }
  const double now = now_s_();
  if (!last_log_s_ || now - *last_log_s_ >= log_every_s_) {
    last_log_s_ = now;
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

}  // namespace kv::orchestrator::submission
