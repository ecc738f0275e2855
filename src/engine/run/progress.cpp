#include "engine/run/progress.hpp"

#include <fmt/format.h>

#include "core/units.hpp"
#include "engine/run/state.hpp"

namespace kv::engine::run {

namespace {
constexpr std::size_t kStorage = 2;  // CacheStats::tiers order: gpu, cpu, storage
}

std::string progress_line(const ProgressFields& f) {
  return fmt::format(
      "kv-cache progress: phase={} elapsed_s={:.1f} duration_s={} requests={} read_gibps={:.3f} "
      "write_gibps={:.3f} rank={}",
      f.phase, f.elapsed_s, f.duration_s, f.requests, f.read_gibps, f.write_gibps, f.rank);
}

ProgressRecord::ProgressRecord(double interval_s, int duration_s, int rank, std::FILE* out)
    : interval_ns_(interval_s > 0 ? static_cast<std::int64_t>(interval_s * 1e9) : 0),
      duration_s_(duration_s),
      rank_(rank),
      out_(out) {}

void ProgressRecord::on_window_start(RunState& s) {
  last_ns_ = s.t0_ns;
  const auto st = s.cache->stats();
  last_read_ = st.tiers[kStorage].bytes_read;
  last_write_ = st.tiers[kStorage].bytes_written;
}

void ProgressRecord::emit(const RunState& s, const char* phase, std::int64_t now_ns) {
  const auto st = s.cache->stats();
  const double dt = static_cast<double>(now_ns - last_ns_) * 1e-9;
  auto rate = [&](std::uint64_t now_b, std::uint64_t then_b) {
    return dt > 0 && now_b >= then_b ? bytes_to_gib(now_b - then_b) / dt : 0.0;
  };
  ProgressFields f;
  f.phase = phase;
  f.elapsed_s = static_cast<double>(now_ns - s.t0_ns) * 1e-9;
  f.duration_s = duration_s_;
  f.requests = s.recorder->completed();
  f.read_gibps = rate(st.tiers[kStorage].bytes_read, last_read_);
  f.write_gibps = rate(st.tiers[kStorage].bytes_written, last_write_);
  f.rank = rank_;
  std::fprintf(out_, "%s\n", progress_line(f).c_str());
  std::fflush(out_);
  last_ns_ = now_ns;
  last_read_ = st.tiers[kStorage].bytes_read;
  last_write_ = st.tiers[kStorage].bytes_written;
  ++emitted_;
}

void ProgressRecord::on_tick(const RunState& s, std::int64_t now_ns) {
  if (enabled() && last_ns_ != 0 && now_ns - last_ns_ >= interval_ns_) emit(s, "window", now_ns);
}

void ProgressRecord::on_stop(const RunState& s) {
  // The stop record: what the last partial interval did, and that the drain starts.
  if (enabled() && emitted_ > 0) emit(s, "drain", s.stop_ns);
}

}  // namespace kv::engine::run
