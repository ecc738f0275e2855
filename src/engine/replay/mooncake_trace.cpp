#include "engine/replay/mooncake_trace.hpp"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "core/error.hpp"

namespace kv::replay {

std::string mooncake_block_key(std::uint64_t hash_id) {
  return "mc_" + std::to_string(hash_id);
}

std::uint64_t mooncake_block_tokens(const MooncakeRecord& rec, std::size_t block,
                                    std::uint32_t block_tokens) {
  const std::uint64_t bt = block_tokens == 0 ? kMooncakeBlockTokens : block_tokens;
  const std::uint64_t start = static_cast<std::uint64_t>(block) * bt;
  if (block + 1 < rec.hash_ids.size()) {
    // Not the last block: full, unless input_length ends earlier (too many ids).
    return start < rec.input_length ? bt : 1;
  }
  if (start >= rec.input_length) return 1;
  const std::uint64_t rest = rec.input_length - start;
  return rest > bt ? bt : rest;
}

namespace {
bool get_count(const nlohmann::json& j, const char* name, std::uint64_t& v, std::string& reason) {
  auto it = j.find(name);
  if (it == j.end()) {
    reason = std::string("missing \"") + name + "\"";
    return false;
  }
  if (it->is_number_unsigned()) {
    v = it->get<std::uint64_t>();
    return true;
  }
  if (it->is_number_float()) {
    const double d = it->get<double>();
    if (d >= 0 && d == std::floor(d) && d < 1e18) {
      v = static_cast<std::uint64_t>(d);
      return true;
    }
  }
  reason = std::string("\"") + name + "\" must be a non-negative integer";
  return false;
}
}  // namespace

MooncakeTraceReader::MooncakeTraceReader(const std::string& spec, MooncakeTraceOptions opts)
    : opts_(std::move(opts)), cursor_(resolve_trace_files(spec, ".jsonl", opts_.flag), opts_.flag) {
  if (!(opts_.speedup >= 0) || !std::isfinite(opts_.speedup)) {
    throw usage_error("--trace-speedup",
                      "must be >= 0 (got " + std::to_string(opts_.speedup) + ")");
  }
  stats_.files = cursor_.files().size();
  // Before the run: at least one usable record.
  require_usable_record(cursor_.files(), opts_.flag, [this](LineCursor& c, std::string& problem) {
    MooncakeRecord rec;
    std::string reason;
    while (c.next(line_)) {
      if (line_.find_first_not_of(" \t") == std::string::npos) continue;
      if (parse(line_, rec, reason)) return true;
      if (problem.empty()) problem = c.where() + ": " + reason;
    }
    return false;
  });
}

void MooncakeTraceReader::bad_line(const std::string& reason) {
  if (opts_.strict) {
    throw Error(ExitCode::kInvalidArguments, opts_.flag + ": " + cursor_.where() + ": " + reason);
  }
  if (cycle_ > 0) return;
  ++stats_.bad_lines;
  if (stats_.bad_line_samples.size() < opts_.max_bad_samples) {
    stats_.bad_line_samples.push_back(cursor_.where() + ": " + reason);
  }
}

bool MooncakeTraceReader::parse(const std::string& line, MooncakeRecord& out, std::string& reason) {
  const auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    reason = "invalid JSON";
    return false;
  }
  if (!j.is_object()) {
    reason = "not a JSON object";
    return false;
  }
  auto ts = j.find("timestamp");
  if (ts == j.end() || !ts->is_number() || !(ts->get<double>() >= 0)) {
    reason = "\"timestamp\" must be a non-negative number (ms)";
    return false;
  }
  out.timestamp_ms = ts->get<double>();
  if (!get_count(j, "input_length", out.input_length, reason) ||
      !get_count(j, "output_length", out.output_length, reason)) {
    return false;
  }
  auto ids = j.find("hash_ids");
  if (ids == j.end() || !ids->is_array()) {
    reason = "\"hash_ids\" must be an array";
    return false;
  }
  out.hash_ids.clear();
  for (const auto& h : *ids) {
    if (!h.is_number_unsigned()) {
      reason = "\"hash_ids\" must hold non-negative integers";
      return false;
    }
    out.hash_ids.push_back(h.get<std::uint64_t>());
  }
  return true;
}

bool MooncakeTraceReader::next(MooncakeRecord& out) {
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
      cursor_.rewind();
      continue;
    }
    if (line_.find_first_not_of(" \t") == std::string::npos) continue;
    if (!parse(line_, out, reason)) {
      bad_line(reason);
      continue;
    }
    const std::uint64_t expect =
        (out.input_length + kMooncakeBlockTokens - 1) / kMooncakeBlockTokens;
    if (cycle_ == 0 && out.hash_ids.size() != expect) ++mismatches_;
    out.index = stats_.records++;
    out.cycle = cycle_;
    out.file_index = cursor_.file_index();
    out.line = cursor_.line_number();
    out.delay_s = 0;
    if (have_prev_ && opts_.speedup > 0 && out.timestamp_ms > prev_ts_) {
      out.delay_s =
          std::min(kMaxTraceDelayS, (out.timestamp_ms - prev_ts_) / 1000.0 / opts_.speedup);
    }
    have_prev_ = true;
    prev_ts_ = out.timestamp_ms;
    ++valid_in_pass_;
    return true;
  }
  return false;
}

}  // namespace kv::replay
