// The benchmark run (docs/architecture.md "Data flow of one run"), in four phases whose order is a
// type-level fact: each phase consumes its object and returns the object that has the next phase.
//
//   Run::assemble(plan)  checks --output and every mode input, builds the tiers (GPU per
//                        --gpu-backend, CPU if its limit > 0, storage through io::make_backend in
//                        an owned cache dir; the optional --probe), the MultiTierCache and the
//                        request processor. Nothing measured yet.                       ->
//                        Run::Assembled
//   .prepare()           set-up writes before the window (observers' on_prepare: --precondition,
//                        RAG ingestion with --decode-only; then the --decode-only pre-population),
//                        then the request factory, queue, recorder and producer.  -> Run::Prepared
//   .window()            observers' before_window (MPI aligned start), min(users, 500) workers and
//                        the producer from t0; stops at --duration, --max-requests, an observer's
//                        stop reason or a stop signal (run/signals.hpp); drops queued requests,
//                        gives in-flight ones a bounded join and never counts them. ->
//                        Run::Windowed
//   .finish()            collects the results, removes our files unless --keep-cache, writes the
//                        results JSON atomically (also when interrupted: "interrupted": true, exit
//                        8) and the console summary, unless an observer owns the output (MPI rank);
//                        returns the exit code. If workers are still busy after the bounded join,
//                        results are written from what completed and the process _Exits without
//                        waiting for them (observers' before_abandon_exit first).
// Errors in assemble/prepare throw kv::Error before any I/O is measured.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json_fwd.hpp>

#include "engine/run/plan.hpp"

namespace kv::engine::run {

struct RunState;

// What every phase object shares: it owns the run's state until its phase hands it on. Moved,
// never copied; a moved-from phase object is empty.
class RunPhase {
 public:
  RunState& state() { return *s_; }
  RunPhase(RunPhase&&) noexcept;
  ~RunPhase();

 protected:
  explicit RunPhase(std::unique_ptr<RunState> s);
  std::unique_ptr<RunState> s_;
};

class Run {
 public:
  class Assembled;
  class Prepared;
  class Windowed;

  static Assembled assemble(const RunPlan& plan);
};

class Run::Assembled : public RunPhase {
 public:
  Prepared prepare() &&;

 private:
  friend class Run;
  using RunPhase::RunPhase;
};

class Run::Prepared : public RunPhase {
 public:
  Windowed window() &&;

 private:
  friend class Run::Assembled;
  using RunPhase::RunPhase;
};

class Run::Windowed : public RunPhase {
 public:
  // Returns the process exit code (docs/safety.md): 8 when interrupted; 6 when no request
  // completed or more than 1 % of the requests failed; else 0; or what an observer's on_results
  // makes of it (an MPI rank: rank 0 applies the rules to the merged results).
  int finish() &&;

 private:
  friend class Run::Prepared;
  using RunPhase::RunPhase;
};

// assemble -> prepare -> window -> finish.
int run_benchmark(const RunPlan& plan);

// The rule for a run that measured nothing (docs/safety.md), on a whole run's results (a single
// process's, or an MPI job's merged ones): `code` unless it is 0 and no request completed; then
// an ERROR line with the likely cause (engine_cli/outcome.hpp) and 6.
int fail_if_nothing_measured(const nlohmann::ordered_json& results, int code);

// --list-users: prints the synthetic user population the plan would simulate (JSON array, one
// object per user in the reference's field names) to stdout and returns 0. No storage is touched.
int list_users(const RunPlan& plan);

}  // namespace kv::engine::run
