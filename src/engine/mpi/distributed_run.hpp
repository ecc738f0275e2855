// One rank of a multi-client MPI run (docs/distributed.md). cli_main creates a DistributedRun when
// the launcher started more than one rank; a single process (or `mpirun -n 1`) never sees this
// code. The ranks talk only through a dist::Mailbox (non-blocking point-to-point messages with
// deadlines), so a dead, hung or failing rank can never make another wait forever.
//
// The protocol's messages are mpi/messages.hpp (one struct each); rank 0 coordinates and goes
// through the phases of mpi/phase.hpp (startup -> setup -> window -> gather -> written -> done);
// what it knows of the other ranks is an mpi::Roster (mpi/roster.hpp). Every wait has a deadline
// and also ends on a stop signal.
// Per rank: seed = base seed + rank (base: --seed, else drawn by rank 0); cache directory
// `<--cache-dir>/rank_<r>/`; automatic storage capacity = 95 % of the free space / the number of
// ranks on the same host and filesystem; --num-users users per rank. Only rank 0 writes --output
// (one merged results JSON, engine/results_merge.hpp); --per-rank-output adds <stem>_rank<r>.json.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "dist/context.hpp"
#include "engine/run/observer.hpp"
#include "engine/run/plan.hpp"

namespace kv::engine::mpi {

class DistributedRun final : public run::RunObserver {
 public:
  // Collective (creates the mailbox): every rank constructs it right after RankContext::init().
  explicit DistributedRun(dist::RankContext& ctx);
  ~DistributedRun() override;
  DistributedRun(const DistributedRun&) = delete;
  DistributedRun& operator=(const DistributedRun&) = delete;

  // Ranks the launcher started, from its environment (OMPI_COMM_WORLD_SIZE, PMI_SIZE, SLURM_NTASKS;
  // 2 when only a rank variable is set, so MPI decides; 1 without a launcher or with
  // KV_DIST_NO_MPI). MPI is initialised only when this is > 1, so `mpirun -n 1` runs exactly like a
  // plain process.
  static int launcher_world_size();

  // Start-up exchange, then adjusts `plan` for this rank and adds this rank to plan.observers.
  // Throws kv::Error when the job must not run (another rank failed before set-up).
  void prepare(run::RunPlan& plan);

  // ---- run observer (run/observer.hpp) ----
  // Ranks that share this rank's filesystem on this host.
  unsigned capacity_sharers() const override;
  // Blocks until every rank is ready (the aligned start); throws kv::Error when the run must not
  // start (a peer failed). From here on SIGINT/SIGTERM/SIGHUP mean a hard stop.
  void before_window(run::RunState& s) override;
  // Ranks other than 0: rank 0 sent `stop` (it was stopped by a signal).
  std::optional<StopReason> stop_reason(const run::RunState& s) const override;
  // Rank 0 stopped by a signal: every rank is told to stop.
  void on_stop(const run::RunState& s) override;
  // Heartbeats to rank 0, peer messages.
  void on_tick(const run::RunState& s, std::int64_t now_ns) override;
  // Only rank 0 writes --output (the merged results) and prints the summary.
  bool owns_output() const override { return true; }
  // Rank r>0 sends its results to rank 0; rank 0 gathers, merges and writes. Returns the code.
  int on_results(const nlohmann::ordered_json& results, const RunData& d, int code) override;
  int before_abandon_exit(int code) override { return conclude(code, {}); }

  void tick(std::int64_t now_ns, std::int64_t t0_ns, std::uint64_t completed);

  // Ends this rank's part: reports `error` (non-empty when the run threw) to rank 0, completes the
  // protocol, finalises MPI and returns the exit code. When a peer is missing it exits the process
  // without MPI_Finalize instead (the launcher then ends the job).
  int conclude(int code, const std::string& error);

 private:
  struct Impl;
  std::unique_ptr<Impl> m_;
};

}  // namespace kv::engine::mpi
