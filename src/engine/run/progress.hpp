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
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

#include "engine/run/observer.hpp"

namespace kv::engine::run {

struct ProgressFields {
  std::string phase;  // prepopulate | probe | window | drain | cleanup | gather
  double elapsed_s = 0;
  int duration_s = 0;
  std::uint64_t requests = 0;
  double read_gibps = 0, write_gibps = 0;
  int rank = 0;
};

// The record's text, without the trailing newline.
std::string progress_line(const ProgressFields& f);

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
