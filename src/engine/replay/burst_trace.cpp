#include "engine/replay/burst_trace.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <utility>

#include "core/error.hpp"

namespace kv::replay {

bool split_csv_line(const std::string& line, std::vector<std::string>& fields) {
  std::size_t n = 0;
  auto field = [&]() -> std::string& {
    if (n == fields.size()) fields.emplace_back();
    fields[n].clear();
    return fields[n++];
  };
  std::string* cur = &field();
  bool in_quotes = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (in_quotes) {
      if (c == '"') {
        if (i + 1 < line.size() && line[i + 1] == '"') {
          cur->push_back('"');
          ++i;
        } else {
          in_quotes = false;
        }
      } else {
        cur->push_back(c);
      }
    } else if (c == '"') {
      in_quotes = true;
    } else if (c == ',') {
      cur = &field();
    } else {
      cur->push_back(c);
    }
  }
  fields.resize(n);
  return !in_quotes;
}

namespace {
std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string r(trim(s));
  for (auto& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return r;
}

bool parse_double(std::string_view s, double& v) {
  s = trim(s);
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && p == s.data() + s.size() && std::isfinite(v);
}

// Non-negative integer; accepts "12" and "12.0" (pandas writes floats for columns with NaN).
bool parse_count(std::string_view s, std::uint64_t& v) {
  s = trim(s);
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec == std::errc() && p == s.data() + s.size()) return true;
  double d = 0;
  if (!parse_double(s, d) || d < 0 || d != std::floor(d) || d > 1e18) return false;
  v = static_cast<std::uint64_t>(d);
  return true;
}

const std::string* field_at(const std::vector<std::string>& f, int col) {
  return col >= 0 && static_cast<std::size_t>(col) < f.size() ? &f[static_cast<std::size_t>(col)]
                                                              : nullptr;
}
}  // namespace

BurstTraceReader::BurstTraceReader(const std::string& spec, BurstTraceOptions opts)
    : opts_(std::move(opts)), cursor_(resolve_trace_files(spec, ".csv", opts_.flag), opts_.flag) {
  if (!(opts_.speedup >= 0) || !std::isfinite(opts_.speedup)) {
    throw usage_error("--trace-speedup",
                      "must be >= 0 (got " + std::to_string(opts_.speedup) + ")");
  }
  stats_.files = cursor_.files().size();
  // Before the run: every file's header is valid and at least one row is usable.
  require_usable_record(cursor_.files(), opts_.flag, [this](LineCursor& c, std::string& problem) {
    BurstRecord rec;
    std::string reason;
    bool first = true;
    while (c.next(line_)) {
      if (trim(line_).empty()) continue;
      if (std::exchange(first, false) && parse_header(line_, c)) continue;
      if (parse_row(line_, rec, reason)) return true;
      if (problem.empty()) problem = c.where() + ": " + reason;
    }
    return false;
  });
  col_ts_ = 0, col_model_ = 1, col_req_ = 2, col_resp_ = 3, col_total_ = 4, col_log_ = 5;
}

void BurstTraceReader::bad_line(const std::string& reason) {
  if (opts_.strict) {
    throw Error(ExitCode::kInvalidArguments, opts_.flag + ": " + cursor_.where() + ": " + reason);
  }
  if (cycle_ > 0) return;  // counted once, in the first pass
  ++stats_.bad_lines;
  if (stats_.bad_line_samples.size() < opts_.max_bad_samples) {
    stats_.bad_line_samples.push_back(cursor_.where() + ": " + reason);
  }
}

// Returns true if the line was a header (consumed), false if it is a data row.
bool BurstTraceReader::parse_header(const std::string& line, const LineCursor& at) {
  if (!split_csv_line(line, fields_) || fields_.empty()) return false;
  double d = 0;
  col_ts_ = 0, col_model_ = 1, col_req_ = 2, col_resp_ = 3, col_total_ = 4, col_log_ = 5;
  if (parse_double(fields_[0], d)) return false;  // no header: default column order
  col_ts_ = col_model_ = col_req_ = col_resp_ = col_total_ = col_log_ = -1;
  for (std::size_t i = 0; i < fields_.size(); ++i) {
    const std::string name = lower(fields_[i]);
    const int c = static_cast<int>(i);
    if (name == "timestamp")
      col_ts_ = c;
    else if (name == "model")
      col_model_ = c;
    else if (name == "request tokens")
      col_req_ = c;
    else if (name == "response tokens")
      col_resp_ = c;
    else if (name == "total tokens")
      col_total_ = c;
    else if (name == "log type")
      col_log_ = c;
  }
  if (col_ts_ < 0 || col_req_ < 0 || col_resp_ < 0) {
    throw Error(ExitCode::kInvalidArguments,
                opts_.flag + ": " + at.where() +
                    ": header must name the columns Timestamp, Request tokens and Response tokens "
                    "(BurstGPT format: Timestamp,Model,Request tokens,Response tokens,Total "
                    "tokens,Log Type)");
  }
  return true;
}

bool BurstTraceReader::parse_row(const std::string& line, BurstRecord& out, std::string& reason) {
  if (!split_csv_line(line, fields_)) {
    reason = "unterminated quote";
    return false;
  }
  const std::string* ts = field_at(fields_, col_ts_);
  const std::string* req = field_at(fields_, col_req_);
  const std::string* resp = field_at(fields_, col_resp_);
  if (ts == nullptr || req == nullptr || resp == nullptr) {
    reason = "too few fields (" + std::to_string(fields_.size()) + ")";
    return false;
  }
  if (!parse_double(*ts, out.timestamp)) {
    reason = "bad Timestamp '" + *ts + "'";
    return false;
  }
  if (!parse_count(*req, out.request_tokens)) {
    reason = "bad Request tokens '" + *req + "'";
    return false;
  }
  if (!parse_count(*resp, out.response_tokens)) {
    reason = "bad Response tokens '" + *resp + "'";
    return false;
  }
  const std::string* total = field_at(fields_, col_total_);
  if (total == nullptr || trim(*total).empty() || !parse_count(*total, out.total_tokens)) {
    out.total_tokens = out.request_tokens + out.response_tokens;
  }
  const std::string* model = field_at(fields_, col_model_);
  out.model.assign(model != nullptr ? trim(*model) : std::string_view{});
  const std::string* log = field_at(fields_, col_log_);
  out.log_type.assign(log != nullptr ? trim(*log) : std::string_view{});
  return true;
}

bool BurstTraceReader::next(BurstRecord& out) {
  std::string reason;
  while (!done_) {
    if (!cursor_.next(line_)) {
      ++stats_.cycles_completed;
      if ((opts_.replay_cycles > 0 && stats_.cycles_completed >= opts_.replay_cycles) ||
          valid_in_pass_ == 0) {
        done_ = true;
        break;
      }
      ++cycle_;
      valid_in_pass_ = 0;
      have_prev_ = false;
      header_file_ = static_cast<std::size_t>(-1);
      cursor_.rewind();
      continue;
    }
    if (trim(line_).empty()) continue;
    if (header_file_ != cursor_.file_index()) {
      header_file_ = cursor_.file_index();
      if (parse_header(line_, cursor_)) continue;
    }
    if (!parse_row(line_, out, reason)) {
      bad_line(reason);
      continue;
    }
    out.index = stats_.records++;
    out.cycle = cycle_;
    out.file_index = cursor_.file_index();
    out.line = cursor_.line_number();
    out.delay_s = 0;
    if (have_prev_ && opts_.speedup > 0 && out.timestamp > prev_ts_) {
      out.delay_s = std::min(kMaxTraceDelayS, (out.timestamp - prev_ts_) / opts_.speedup);
    }
    have_prev_ = true;
    prev_ts_ = out.timestamp;
    ++valid_in_pass_;
    return true;
  }
  return false;
}

}  // namespace kv::replay
