#include "engine/run/progress.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "core/clock.hpp"
#include "core/units.hpp"
#include "engine/run/state.hpp"
#include "engine/run/status_line.hpp"

namespace kv::engine::run {

namespace {
constexpr std::size_t kStorage = 2;  // CacheStats::tiers order: gpu, cpu, storage
}

std::string progress_line(const ProgressFields& f) {
  return fmt::format(
             "kv-cache progress: phase={} elapsed_s={:.1f} duration_s={} requests={} "
             "read_gibps={:.3f} "
             "write_gibps={:.3f} rank={}",
             f.phase, f.elapsed_s, f.duration_s, f.requests, f.read_gibps, f.write_gibps, f.rank) +
         (f.unit.empty() ? std::string()
                         : fmt::format(" done={} total={} unit={}", f.done, f.total, f.unit)) +
         (f.step.empty() ? std::string() : " step=" + f.step);
}

ProgressOptions ProgressOptions::from(const EngineConfig& c, int rank) {
  ProgressOptions o;
  o.interval_s = c.progress_interval;
  o.terminal = stderr_is_tty();
  o.quiet = c.quiet;
  o.duration_s = c.duration;
  o.rank = rank;
  return o;
}

namespace {

constexpr std::int64_t kStatusEveryNs = 1'000'000'000;
constexpr auto kPollPeriod = std::chrono::milliseconds(100);

// "1234/4000 entries (31 %)", "1.25 GiB", "3/4 ranks (75 %)".
std::string amount_text(const PhaseSample& p, const std::string& unit) {
  const bool bytes = unit == "bytes";
  const auto num = [&](std::uint64_t v) {
    return bytes ? fmt::format("{:.2f}", bytes_to_gib(v)) : std::to_string(v);
  };
  const std::string u = bytes ? "GiB" : unit;
  if (p.total == 0) return num(p.done) + " " + u;
  const double pct =
      100.0 * static_cast<double>(std::min(p.done, p.total)) / static_cast<double>(p.total);
  return fmt::format("{}/{} {} ({:.0f} %)", num(p.done), num(p.total), u, pct);
}

}  // namespace

PhaseProgress::PhaseProgress(Manual, ProgressOptions o, std::string phase, std::string doing,
                             std::string unit, std::function<PhaseSample()> sample,
                             std::int64_t start_ns)
    : o_(o),
      phase_(std::move(phase)),
      doing_(std::move(doing)),
      unit_(std::move(unit)),
      sample_(std::move(sample)) {
  start(start_ns);
}

PhaseProgress::PhaseProgress(ProgressOptions o, std::string phase, std::string doing,
                             std::string unit, std::function<PhaseSample()> sample)
    : PhaseProgress(Manual{}, o, std::move(phase), std::move(doing), std::move(unit),
                    std::move(sample), mono_ns()) {
  const bool records = !o_.terminal && o_.interval_s > 0;
  const bool line = o_.terminal && !o_.quiet;
  if (!records && !line) return;
  thread_ = std::thread([this] {
    std::unique_lock lk(mu_);
    while (!cv_.wait_for(lk, kPollPeriod, [this] { return stop_; })) {
      lk.unlock();
      tick(mono_ns());
      lk.lock();
    }
  });
}

PhaseProgress::~PhaseProgress() {
  finish();
}

void PhaseProgress::start(std::int64_t now_ns) {
  start_ns_ = last_record_ns_ = last_status_ns_ = last_rate_ns_ = now_ns;
  const PhaseSample p = sample_();
  last_read_ = p.read_bytes;
  last_written_ = p.written_bytes;
  if (!o_.terminal && o_.interval_s > 0) record(now_ns, p);  // what the phase does
}

void PhaseProgress::tick(std::int64_t now_ns) {
  if (finished_) return;
  if (!o_.terminal && o_.interval_s > 0 &&
      static_cast<double>(now_ns - last_record_ns_) * 1e-9 >= o_.interval_s)
    record(now_ns, sample_());
  if (o_.terminal && !o_.quiet && now_ns - start_ns_ >= kStatusEveryNs &&
      (!status_shown_ || now_ns - last_status_ns_ >= kStatusEveryNs))
    status(now_ns, sample_());
}

void PhaseProgress::finish() {
  finish(mono_ns());
}

void PhaseProgress::finish(std::int64_t now_ns) {
  if (thread_.joinable()) {
    {
      std::lock_guard lk(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  if (finished_) return;
  finished_ = true;
  if (!o_.terminal && o_.interval_s > 0) record(now_ns, sample_());  // how it ended
  if (status_shown_) {
    std::fputs("\r\x1b[K", o_.out);
    std::fflush(o_.out);
  }
}

void PhaseProgress::record(std::int64_t now_ns, const PhaseSample& p) {
  const double dt = static_cast<double>(now_ns - last_rate_ns_) * 1e-9;
  auto rate = [&](std::uint64_t now_b, std::uint64_t then_b) {
    return dt > 0 && now_b >= then_b ? bytes_to_gib(now_b - then_b) / dt : 0.0;
  };
  ProgressFields f;
  f.phase = phase_;
  f.elapsed_s = static_cast<double>(now_ns - start_ns_) * 1e-9;
  f.duration_s = o_.duration_s;
  f.read_gibps = rate(p.read_bytes, last_read_);
  f.write_gibps = rate(p.written_bytes, last_written_);
  f.rank = o_.rank;
  f.done = p.done;
  f.total = p.total;
  f.unit = unit_;
  f.step = p.step;
  std::fprintf(o_.out, "%s\n", progress_line(f).c_str());
  std::fflush(o_.out);
  last_record_ns_ = last_rate_ns_ = now_ns;
  last_read_ = p.read_bytes;
  last_written_ = p.written_bytes;
  ++records_;
}

void PhaseProgress::status(std::int64_t now_ns, const PhaseSample& p) {
  const double dt = static_cast<double>(now_ns - last_rate_ns_) * 1e-9;
  auto rate = [&](std::uint64_t now_b, std::uint64_t then_b) {
    return dt > 0 && now_b >= then_b ? bytes_to_gib(now_b - then_b) / dt : 0.0;
  };
  std::vector<StatusField> fields = {
      {doing_ + (p.step.empty() ? "" : " (" + p.step + ")"), 9},
      {amount_text(p, unit_), 8},
      {fmt::format("{:.0f} s", static_cast<double>(now_ns - start_ns_) * 1e-9), 7}};
  if (p.read_bytes != 0 || p.written_bytes != 0)
    fields.push_back({fmt::format("R {:.2f} W {:.2f} GiB/s", rate(p.read_bytes, last_read_),
                                  rate(p.written_bytes, last_written_)),
                      6});
  std::fputs(status_refresh(std::move(fields)).c_str(), o_.out);
  std::fflush(o_.out);
  status_shown_ = true;
  last_status_ns_ = last_rate_ns_ = now_ns;
  last_read_ = p.read_bytes;
  last_written_ = p.written_bytes;
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
