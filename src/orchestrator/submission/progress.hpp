// The mlpstorage side of the progress relay. The engine writes progress records on stderr when
// its stderr is not a terminal (it is a pipe under mlpstorage), docs/engine.md "Progress on
// stderr":
//   kv-cache progress: phase=<prepopulate|probe|window|drain|cleanup|gather> elapsed_s=<float>
//                      duration_s=<int> requests=<int> read_gibps=<float> write_gibps=<float>
//                      rank=<int> [done=<int> total=<int> unit=<word> [step=<word>]]
// (window: every --progress-interval seconds; the other phases: when they start, every interval
// and when they end, with how far they are in done/total units, total=0 when unknown). Keys may be
// added later: unknown keys are ignored and the order is free; a record may follow a prefix
// (mpirun's --tag-output). ProgressRelay swallows these records and shows mlpstorage's own status
// line instead, e.g.
//   option 2/3, trial 1/3, 143/300 s, read 3.1 GiB/s, ETA 41 min
//   option 1/3, trial 1/3, pre-populating 1234/4000 entries (31 %), 12 s, write 0.5 GiB/s, ETA 6
//   min
// (without the option/trial part for a single `kvcache run`). The phase shown is the one of the
// latest record; with several ranks the amounts and bandwidths are summed over the ranks whose
// latest record is in that phase, and the elapsed time is the largest. On a terminal the line is
// redrawn in place (other stderr lines are printed above it); otherwise it is logged as a STATUS
// line when the phase changes, when a phase outside the window completes (done = total) and at
// most every `log_every_s` seconds otherwise. Every other
// stderr line is passed through unchanged.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace kv::orchestrator::submission {

struct ProgressRecord {
  std::string phase;
  double elapsed_s = 0;
  int duration_s = 0;
  long long requests = 0;
  double read_gibps = 0;
  double write_gibps = 0;
  int rank = 0;
  // Phases outside the window: how far (total 0 = unknown), in `unit` (entries, files, ranks,
  // documents, bytes); `step` within the phase (probe: write | read).
  unsigned long long done = 0, total = 0;
  std::string unit, step;
};

// nullopt when the line is not a progress record (or one without elapsed_s).
std::optional<ProgressRecord> parse_progress_line(std::string_view line);

// "41 min", "1 h 13 min", "<1 min".
std::string format_eta(double seconds);

struct SequencePosition {
  int option = 1;  // 1-based; options = 0: not a sequence (one `kvcache run`), no option/trial text
  int options = 3;
  int trial = 1;  // 1-based
  int trials = 3;
  double remaining_after_s = 0;  // expected seconds of the sequence after this trial's window
};

// The status text of `r` (a record, or the ranks' records of one phase summed); the ETA adds what
// is left of the window (all of it before the window starts) and pos.remaining_after_s.
std::string format_status(const SequencePosition& pos, const ProgressRecord& r);

class ProgressRelay {
 public:
  // `write_err` prints raw text on the console's stderr; `log_status` logs one STATUS line.
  ProgressRelay(SequencePosition pos, bool terminal, double log_every_s,
                std::function<void(std::string_view)> write_err,
                std::function<void(const std::string&)> log_status, std::function<double()> now_s);

  void feed(const char* data, std::size_t n);  // bytes of the child's stderr
  void finish();                               // flush a partial line, clear the status line
  const std::string& last_status() const { return last_status_; }

 private:
  void on_line(std::string_view line);
  void show(const std::string& phase);

  SequencePosition pos_;
  bool terminal_;
  double log_every_s_;
  std::function<void(std::string_view)> write_err_;
  std::function<void(const std::string&)> log_status_;
  std::function<double()> now_s_;
  std::string partial_;
  std::map<int, ProgressRecord> latest_;  // by rank
  std::string last_status_;
  bool line_shown_ = false;
  std::optional<double> last_log_s_;
  std::string last_phase_;
};

// The relay on mlpstorage's console: stderr lines and the redrawn status line go to `err_fd` (-1:
// nowhere; a terminal gets the redrawn line), STATUS lines to mlpstorage's log every `log_every_s`
// seconds otherwise.
std::unique_ptr<ProgressRelay> console_relay(const SequencePosition& pos, int err_fd,
                                             double log_every_s = 30.0);

}  // namespace kv::orchestrator::submission
