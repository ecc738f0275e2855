// The periodic progress record on stderr for logs and for mlpstorage, which relays it (when stderr
// is not a terminal; a terminal gets the live status line instead). One line every
// --progress-interval seconds of the window (default 10 s, 0 = none):
//
//   kv-cache progress: phase=window elapsed_s=12.0 duration_s=60 requests=314 read_gibps=1.234
//   write_gibps=0.456 rank=0
//
// (one line; wrapped here). read/write_gibps are the storage tier's rates over the last interval.
// Parsers must ignore unknown keys and must not require a fixed order (keys may be appended).
// A final record with phase=drain is written at the stop when the window lasted at least one
// interval. Documented in docs/engine.md ("Progress on stderr").
//
// The phases outside the window that may take more than a second (pre-population, the device
// probe, the cache-dir cleanup, the MPI gather) report through PhaseProgress: on a non-terminal
// stderr one record when the phase starts, one every --progress-interval seconds and one when it
// ends, with keys appended to the window's:
//
//   kv-cache progress: phase=prepopulate elapsed_s=3.0 duration_s=8 requests=0 read_gibps=0.000
//   write_gibps=0.512 rank=0 done=1234 total=4000 unit=entries step=write
//
// (elapsed_s = seconds since the phase started; total=0 when the amount is not known in advance;
// step only for phases with steps). On a terminal (and without --quiet) a status line instead,
// once the phase has lasted a second, refreshed every second and cleared when the phase ends:
//   [kv-cache] pre-populating | 1234/4000 entries (31 %) | 3 s | W 0.51 GiB/s
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "engine/config/config.hpp"
#include "engine/run/observer.hpp"

namespace kv::engine::run {

struct ProgressFields {
  std::string phase;  // prepopulate | probe | window | drain | cleanup | gather
  double elapsed_s = 0;
  int duration_s = 0;
  std::uint64_t requests = 0;
  double read_gibps = 0, write_gibps = 0;
  int rank = 0;
  // Phases outside the window (appended keys; written only when `unit` is not empty).
  std::uint64_t done = 0, total = 0;  // total 0: not known in advance
  std::string unit;                   // entries | files | ranks | bytes
  std::string step;                   // e.g. probe: write | read | remove (omitted when empty)
};

// The record's text, without the trailing newline.
std::string progress_line(const ProgressFields& f);

// Where progress goes and how often.
struct ProgressOptions {
  double interval_s = 10;  // --progress-interval: seconds between records; 0 = no record
  bool terminal = false;   // stderr is a terminal: a status line instead of records
  bool quiet = false;      // --quiet: no status line
  int duration_s = 0;      // --duration (the records' duration_s)
  int rank = 0;
  std::FILE* out = stderr;
  // From the configuration, for this process's stderr.
  static ProgressOptions from(const EngineConfig& c, int rank);
};

// What a phase has done so far, polled by PhaseProgress when it reports.
struct PhaseSample {
  PhaseSample(std::uint64_t done_ = 0, std::uint64_t total_ = 0, std::uint64_t read = 0,
              std::uint64_t written = 0, std::string step_ = {})
      : done(done_),
        total(total_),
        read_bytes(read),
        written_bytes(written),
        step(std::move(step_)) {}
  std::uint64_t done, total;
  std::uint64_t read_bytes, written_bytes;  // storage bytes so far (for the rates)
  std::string step;
};

// Progress of one phase outside the window. A thread polls `sample` and reports (records or the
// status line, above) until finish() or destruction. `doing` is the status line's text
// ("pre-populating"); `unit` names what done/total count.
class PhaseProgress {
 public:
  PhaseProgress(ProgressOptions o, std::string phase, std::string doing, std::string unit,
                std::function<PhaseSample()> sample);
  // Without a thread: the caller calls tick(); tests drive it with their own clock.
  struct Manual {};
  PhaseProgress(Manual, ProgressOptions o, std::string phase, std::string doing, std::string unit,
                std::function<PhaseSample()> sample, std::int64_t start_ns);
  ~PhaseProgress();
  PhaseProgress(const PhaseProgress&) = delete;
  PhaseProgress& operator=(const PhaseProgress&) = delete;

  // Reports if a record or a refresh is due at `now_ns` (steady clock).
  void tick(std::int64_t now_ns);
  // Stops the thread, writes the final record (or clears the status line). Idempotent.
  void finish();
  void finish(std::int64_t now_ns);
  int records() const { return records_.load(); }

 private:
  void start(std::int64_t now_ns);
  void record(std::int64_t now_ns, const PhaseSample& p);
  void status(std::int64_t now_ns, const PhaseSample& p);

  ProgressOptions o_;
  std::string phase_, doing_, unit_;
  std::function<PhaseSample()> sample_;
  std::int64_t start_ns_ = 0, last_record_ns_ = 0, last_status_ns_ = 0;
  std::uint64_t last_read_ = 0, last_written_ = 0;
  std::int64_t last_rate_ns_ = 0;
  std::atomic<int> records_{0};
  bool status_shown_ = false, finished_ = false;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

class ProgressRecord final : public RunObserver {
 public:
  ProgressRecord(double interval_s, int duration_s, int rank, std::FILE* out = stderr);
  bool enabled() const { return interval_ns_ > 0; }

  void on_window_start(RunState& s) override;
  void on_tick(const RunState& s, std::int64_t now_ns) override;
  void on_stop(const RunState& s) override;

 private:
  void emit(const RunState& s, const char* phase, std::int64_t now_ns);

  std::int64_t interval_ns_;
  int duration_s_;
  int rank_;
  std::FILE* out_;
  std::int64_t last_ns_ = 0;
  std::uint64_t last_read_ = 0, last_write_ = 0;
  int emitted_ = 0;
};

}  // namespace kv::engine::run
