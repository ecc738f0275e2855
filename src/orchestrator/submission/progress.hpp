// The mlpstorage side of the progress relay. The engine writes one record on stderr every
// --progress-interval seconds when its stderr is not a terminal (it is a pipe under mlpstorage):
//   kv-cache progress: phase=<prepopulate|probe|window|drain|cleanup|gather> elapsed_s=<float>
//                      duration_s=<int> requests=<int> read_gibps=<float> write_gibps=<float>
//                      rank=<int>
// Keys may be added later: unknown keys are ignored and the order is free; a record may follow a
// prefix (mpirun's --tag-output). ProgressRelay swallows these records and shows mlpstorage's own
// status line instead, e.g.
//   option 2/3, trial 1/3, 143/300 s, read 3.1 GiB/s, ETA 41 min
// (the phase is named when it is not the window; with several ranks the bandwidths are summed over
// the ranks' latest records and the elapsed time is the largest). On a terminal the line is
// redrawn in place (other stderr lines are printed above it); otherwise it is logged as a STATUS
// line at most every `log_every_s` seconds. Every other stderr line is passed through unchanged.
#pragma once

#include <functional>
#include <map>
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
};

// nullopt when the line is not a progress record (or one without elapsed_s).
std::optional<ProgressRecord> parse_progress_line(std::string_view line);

// "41 min", "1 h 13 min", "<1 min".
std::string format_eta(double seconds);

struct SequencePosition {
  int option = 1;  // 1-based
  int options = 3;
  int trial = 1;  // 1-based
  int trials = 3;
  double remaining_after_s = 0;  // expected seconds of the sequence after this trial's window
};

std::string format_status(const SequencePosition& pos, const std::string& phase, double elapsed_s,
                          int duration_s, double read_gibps, double eta_s);

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
  void show();

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
};

}  // namespace kv::orchestrator::submission
