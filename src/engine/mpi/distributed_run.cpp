#include "engine/mpi/distributed_run.hpp"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <random>
#include <thread>
#include <vector>

#include "cluster/cluster.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/json_text.hpp"
#include "core/log.hpp"
#include "dist/mailbox.hpp"
#include "engine/mpi/courier.hpp"
#include "engine/mpi/messages.hpp"
#include "engine/mpi/phase.hpp"
#include "engine/mpi/root_watch.hpp"
#include "engine/mpi/roster.hpp"
#include "engine/results.hpp"
#include "engine/results_merge.hpp"
#include "engine/run/progress.hpp"
#include "engine/run/run.hpp"
#include "engine/run/signals.hpp"
#include "engine/run/state.hpp"
#include "engine/summary.hpp"
#include "engine/summary_format.hpp"

namespace kv::engine::mpi {

namespace {

using SteadyClock = std::chrono::steady_clock;

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}
double since(SteadyClock::time_point t) {
  return std::chrono::duration<double>(SteadyClock::now() - t).count();
}
double mono_s() {
  return std::chrono::duration<double>(SteadyClock::now().time_since_epoch()).count();
}

// Rank 0's heartbeat to every rank (its courier sends it; mpi/root_watch.hpp).
constexpr double kRootBeatS = 1.0;
// How long a rank whose launcher is tearing the job down waits for rank 0's receipt of its results
// (the launcher's SIGKILL follows odls_base_sigkill_timeout, 1 s by default, after its SIGTERM).
constexpr double kReceiptWaitS = 0.8;
// How long a rank waits for its courier thread to end before MPI_Finalize. A thread that does not
// end is stuck in MPI: the rank then leaves with _Exit instead, which the launcher counts as an
// abnormal end, so the bound is generous (a loaded machine must not decide it).
constexpr double kCourierStopS = 5.0;

// What a rank other than 0 has received from rank 0 (the latest of each).
struct Inbox {
  std::optional<Plan> plan;
  std::optional<Go> go;
  std::optional<Stop> stop;
  bool received = false;  // rank 0 has this rank's result
  bool done = false;
};

// A rank's seed: the job's base seed + its rank, wrapping at 2^64 like the unsigned seeds derived
// from it (a --seed near INT64_MAX must not overflow a signed addition).
std::int64_t rank_seed(std::int64_t base, int rank) {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(base) +
                                   static_cast<std::uint64_t>(rank));
}

}  // namespace

struct DistributedRun::Impl {
  dist::RankContext& ctx;
  std::unique_ptr<Courier> courier;  // all MPI traffic, on its own thread (mpi/courier.hpp)
  int rank = 0, size = 1;
  Sender self;

  // What this rank knows about the run.
  bool prepared = false;
  run::RunPlan plan;  // adjusted copy (config, yaml, model)
  std::string base_cache_dir;
  std::optional<std::int64_t> given_seed;
  std::int64_t base_seed = 0;
  unsigned sharers = 1;
  double rank_timeout = 300;
  bool per_rank_output = false;
  std::string output;
  double window_start_unix = 0;
  std::int64_t last_hb_ns = 0;
  bool interrupted = false;  // the run stopped on a signal
  bool cancelled = false;    // rank 0 cancelled the run (not this rank's own failure)
  ojson host_info_json;

  // Ranks other than 0: protocol progress.
  bool reported = false;  // result or failed sent
  Inbox inbox;
  std::string given_output;          // --output as given (rank 0's file)
  std::optional<ojson> own_results;  // this rank's results, once the run produced them
  std::string saved_to;              // where this rank saved them itself
  RootWatch root;                    // rank 0's liveness
  mutable std::optional<std::string> root_lost_why;  // rank 0 is gone (once known, for good)
  bool root_reported = false;                        // the "rank 0 ... is gone" line was printed

  // Rank 0.
  bool beats = false;  // its courier sends every rank a heartbeat (threaded courier)
  std::optional<Roster> roster;
  Rank0Phases phase;
  bool provisional_written = false;
  bool stop_sent = false;
  const RunData* run_data = nullptr;

  explicit Impl(dist::RankContext& c) : ctx(c) {}

  // A hard stop: the launcher is tearing the job down (run/signals.hpp). Rank 0 takes only the
  // launcher's own signal for one: a signal someone else sent to rank 0 stops the whole job
  // cleanly instead (stop, gather, write; docs/distributed.md).
  bool hard() const {
    return run::signals::hard_stop() && (rank != 0 || run::signals::launcher_stop());
  }
  bool stop_requested() const { return hard() || run::signals::stop_requested(); }

  // ---- messages ----
  void post(int dest, const Message& msg) { courier->post(dest, encode(msg)); }
  // Rank 0: `msg` to every rank that has not ended (sent a result or a failure).
  void post_to_running(const Message& msg) {
    for (int r = 1; r < size; ++r)
      if (!(*roster)[r].final) post(r, msg);
  }

  void absorb(const dist::Mailbox::Message& m) {
    auto msg = decode(m.text);
    if (!msg) {
      log::warn("rank {}: ignoring a malformed message from rank {}", rank, m.source);
      return;
    }
    if (rank == 0) {
      if (roster->absorb(m.source, *msg) && std::holds_alternative<Result>(*msg))
        post(m.source, Received{});
      return;
    }
    if (m.source == 0) root.heard(mono_s());
    if (auto* p = std::get_if<Plan>(&*msg)) {
      root.planned(mono_s(), p->beat_s);
      inbox.plan = std::move(*p);
    } else if (auto* g = std::get_if<Go>(&*msg)) {
      inbox.go = std::move(*g);
    } else if (auto* st = std::get_if<Stop>(&*msg)) {
      inbox.stop = std::move(*st);
    } else if (std::holds_alternative<Received>(*msg)) {
      inbox.received = true;
    } else if (std::holds_alternative<Done>(*msg)) {
      inbox.done = true;
    }
  }

  void drain() {
    while (auto m = courier->poll()) absorb(*m);
  }

  // Polls until pred() or `seconds` pass; `stop` (optional) ends the wait early.
  bool wait_until(const std::function<bool()>& pred, double seconds,
                  const std::function<bool()>& stop = {}) {
    const auto deadline = SteadyClock::now() + std::chrono::duration<double>(seconds);
    for (int iter = 0;; ++iter) {
      drain();
      if (pred()) return true;
      if (SteadyClock::now() >= deadline) return false;
      if (stop && stop()) return pred();
      // A message ends the nap at once; the naps bound how late a signal or a stop is seen.
      courier->wait(iter < 100 ? 200e-6 : 2e-3);
    }
  }
  bool all_peers(const std::function<bool(const Roster::Peer&)>& f) const {
    return roster->all_peers(f);
  }

  // ---- rank 0: stop, merge and write ----
  // Rank 0 was stopped by a signal: every rank stops its window now and sends its results.
  void stop_everyone() {
    if (stop_sent) return;
    stop_sent = true;
    post_to_running(
        Stop{.reason = fmt::format("rank 0 got signal {}", run::signals::stop_signal())});
    if (!hard()) log::warn("stopping every rank; gathering their results");
  }

  ojson merged(bool provisional) const {
    MergeContext mc;
    mc.base_seed = given_seed;
    mc.cache_dir = base_cache_dir;
    mc.cluster_info = roster->cluster_info();
    mc.interrupted = interrupted || hard();
    if (prepared) {
      RunData empty;
      empty.config = plan.config;
      empty.yaml = plan.yaml;
      empty.model = plan.model;
      mc.empty_results = build_results(empty);
    }
    ojson m = merge_rank_results(roster->outcomes({.stopped = hard() || interrupted,
                                                   .rank_timeout = rank_timeout,
                                                   .provisional = provisional}),
                                 mc);
    if (provisional) m["provisional"] = true;
    return m;
  }

  void write_results(const ojson& m, bool with_per_rank) {
    kv::fs::atomic_write(output, kv::json_text(m, 4) + "\n");
    if (!with_per_rank || !per_rank_output) return;
    for (int r = 0; r < size; ++r) {
      const Roster::Peer& p = (*roster)[r];
      if (p.out.results)
        kv::fs::atomic_write(per_rank_output_path(output, r), p.out.results->dump(4) + "\n");
    }
  }

  // Waits for every rank's result (or failure), then writes the one results JSON. Returns the
  // job's exit code contribution: 6 on partial failure, 8 when interrupted, else `code`.
  int gather_and_write(int code) {
    phase.advance(Rank0Phase::kGather);
    auto provisional = [&] {
      if (provisional_written || output.empty()) return;
      provisional_written = true;
      try {
        write_results(merged(/*provisional=*/true), false);
      } catch (const std::exception& e) {
        log::warn("could not write provisional results: {}", e.what());
      }
    };
    if (hard() || interrupted) provisional();
    constexpr double kStoppedBudgetS = 20.0;  // mlpstorage sends SIGTERM 30 s after its SIGUSR1
    double budget = hard()        ? 0.5
                    : interrupted ? std::min(rank_timeout, kStoppedBudgetS)
                                  : rank_timeout;
    auto start = SteadyClock::now();
    std::atomic<std::uint64_t> finals{0};  // ranks whose result (or failure) is in
    const auto all_final = [&] {
      std::uint64_t n = 0;
      for (int r = 0; r < roster->size(); ++r) n += (*roster)[r].final ? 1 : 0;
      finals = n;
      return all_peers([](const Roster::Peer& p) { return p.final; });
    };
    run::PhaseProgress progress(run::ProgressOptions::from(plan.config, rank), "gather",
                                "gathering rank results", "ranks",
                                [&] { return run::PhaseSample(finals.load(), size); });
    const auto newly_stopped = [&] { return !stop_sent && run::signals::stop_requested(); };
    // An MPI call that does not return (a peer on another host died, mpi/courier.hpp): nothing
    // more can arrive, so the results are written with what is in.
    const auto mpi_stuck = [&] { return courier->stuck_s() > RootWatch::kSilenceBeats; };
    while (!all_final()) {
      const double left = budget - since(start);
      if (left <= 0) break;
      if (mpi_stuck()) {
        log::warn(
            "MPI communication is stuck (an MPI call has not returned for {:.0f} s): "
            "writing the results without the ranks still missing",
            courier->stuck_s());
        break;
      }
      const bool was_hard = hard();
      wait_until(all_final, left,
                 [&] { return (!was_hard && hard()) || newly_stopped() || mpi_stuck(); });
      if (newly_stopped()) {  // a signal while waiting: the ranks still measuring stop now
        stop_everyone();
        budget = std::min(budget, since(start) + kStoppedBudgetS);
      }
      if (!was_hard && hard()) {  // the launcher is tearing the job down: write now, wait briefly
        provisional();
        budget = since(start) + 0.5;
      }
    }
    progress.finish();
    const ojson m = merged(false);
    write_results(m, true);
    phase.advance(Rank0Phase::kWritten);
    const bool partial = m.value("partial_failure", false);
    if (partial) {
      for (const auto& f : m["failed_ranks"])
        log::error("rank {} ({}) failed: {}", f.value("rank", -1), f.value("host", std::string()),
                   f.value("reason", std::string()));
    }
    if (run_data != nullptr) std::fputs(results_text(m, *run_data).c_str(), stdout);
    std::fprintf(stdout, "Cluster: %d ranks on %zu host(s)%s\n", size,
                 m.value("host_count", std::size_t{0}), partial ? ", PARTIAL FAILURE" : "");
    std::fputs(console::path_lines("Results written to ", output).c_str(), stdout);
    std::fflush(stdout);
    if (partial) return to_int(ExitCode::kFailure);
    if (m.value("interrupted", false)) return to_int(ExitCode::kInterrupted);
    return run::fail_if_nothing_measured(m, code);  // the job measured nothing: exit 6
  }

  // ---- start-up (prepare) ----
  // Rank 0: waits for every hello, then sends each rank its plan; returns rank 0's own.
  Plan plan_ranks(const EngineConfig& c) {
    const bool all = wait_until(
        [&] { return all_peers([](const Roster::Peer& p) { return p.hello || p.final; }); },
        rank_timeout);
    std::string abort_reason;
    for (int r = 1; r < size && abort_reason.empty(); ++r) {
      const Roster::Peer& p = (*roster)[r];
      if (p.final)
        abort_reason =
            fmt::format("rank {} ({}) failed before set-up: {}", r, p.out.host, p.out.reason);
    }
    if (!all && abort_reason.empty())
      abort_reason = "not every rank reported at start-up within --rank-timeout";
    const std::int64_t base =
        c.seed ? *c.seed : static_cast<std::int64_t>(std::random_device{}() & 0x7fffffff);
    Plan own;
    for (int r = 0; r < size; ++r) {
      const Plan pm{.from = self,
                    .abort = !abort_reason.empty(),
                    .reason = abort_reason,
                    .base_seed = base,
                    .sharers = roster->sharers(r),
                    .beat_s = beats ? kRootBeatS : 0.0};
      if (r == 0)
        own = pm;
      else if (!(*roster)[r].final)
        post(r, pm);
    }
    phase.advance(Rank0Phase::kSetup);
    return own;
  }

  // Ranks other than 0: says hello, waits for the plan.
  Plan hello_and_plan(const std::string& fs_id) {
    post(0, Hello{.from = self, .fs = fs_id, .host_info = host_info_json});
    if (!wait_until([&] { return inbox.plan.has_value(); }, rank_timeout))
      throw Error(ExitCode::kFailure,
                  fmt::format("rank {}: no start-up plan from rank 0 within --rank-timeout {} s",
                              rank, rank_timeout));
    return *inbox.plan;
  }

  // ---- the aligned start (before_window) ----
  void start_window_rank0() {
    wait_until([&] { return all_peers([](const Roster::Peer& p) { return p.ready || p.final; }); },
               rank_timeout, [&] { return stop_requested(); });
    std::string reason;
    for (int r = 1; r < size && reason.empty(); ++r) {
      const Roster::Peer& p = (*roster)[r];
      if (p.final)
        reason = fmt::format("rank {} ({}) failed during set-up: {}", r, p.out.host, p.out.reason);
      else if (!p.ready && !stop_requested())
        reason = fmt::format("rank {} ({}) was not ready within --rank-timeout {} s", r, p.out.host,
                             rank_timeout);
    }
    post_to_running(Go{.ok = reason.empty(), .reason = reason});
    phase.advance(Rank0Phase::kWindow);
    if (!reason.empty()) {
      cancelled = true;
      throw Error(ExitCode::kFailure, "run cancelled: " + reason);
    }
  }

  void start_window_rank() {
    post(0, Ready{.from = self});
    wait_until([&] { return inbox.go.has_value(); }, rank_timeout,
               [&] { return stop_requested() || inbox.stop || root_lost(); });
    if (!inbox.go) {
      if (auto why = root_lost())
        throw Error(ExitCode::kFailure,
                    fmt::format("rank {}: rank 0 {} before the window started", rank, *why));
      if (!stop_requested() && !inbox.stop)
        throw Error(
            ExitCode::kFailure,
            fmt::format("rank {}: rank 0 did not start the window within --rank-timeout {} s", rank,
                        rank_timeout));
    } else if (!inbox.go->ok) {
      cancelled = true;
      throw Error(ExitCode::kFailure,
                  "run cancelled: " +
                      (inbox.go->reason.empty() ? std::string("by rank 0") : inbox.go->reason));
    }
  }

  // ---- results (on_results) ----
  // Ranks other than 0: sends the results to rank 0. When the launcher is tearing the job down
  // (its SIGKILL follows in about a second) the rank first saves its results itself, then waits
  // briefly for rank 0's receipt; the file stays until rank 0 says it wrote --output (`done`).
  // When rank 0 is gone the rank keeps its results, says where, and ends with exit 6.
  int send_results(ojson r, const RunData& d, int code) {
    own_results = std::move(r);
    const bool teardown = hard();
    if (teardown) save_own_results();  // before anything that waits
    std::optional<std::string> lost = root_lost();
    if (!lost) {
      post(0, Result{.from = self, .exit_code = code, .results = own_results});
      reported = true;
    }
    bool sent = false;
    const auto lost_now = [&] { return root_lost().has_value(); };
    if (!lost && teardown) {
      // Nothing can arrive while this rank's MPI traffic is stuck: no need to wait out the rest.
      const auto t0 = SteadyClock::now();
      wait_until([&] { return inbox.received; }, kReceiptWaitS,
                 [&] { return lost_now() || courier->stuck_s() >= RootWatch::kStuckS; });
      sent = inbox.received;
      if (!sent)
        lost = root_lost().value_or(root.unanswered(mono_s(), courier->stuck_s(), since(t0)));
    } else if (!lost) {
      sent = wait_until([&] { return courier->pending_sends() == 0; }, rank_timeout, lost_now);
      if (!sent) lost = root_lost();
    }
    if (lost) return lose_root(*lost);
    // Rank 0 prints this rank's line in the job's summary; stdout stays rank 0's.
    if (sent)
      log::info("rank {} ({}): {} requests completed; results sent to rank 0", rank, self.host,
                d.requests_completed);
    else
      log::warn("rank {} ({}): {} requests completed; results could not be delivered to rank 0",
                rank, self.host, d.requests_completed);
    return code;
  }

  // ---- the end (conclude) ----
  int conclude_rank(int code, const std::string& error) {
    if (!root_reported && !error.empty() && !reported && !root_lost()) {
      post(0, Failed{.from = self, .reason = error, .exit_code = code, .cancelled = cancelled});
      reported = true;
    }
    bool done = false;
    if (!root_reported) {
      const double wait = hard() ? 1.0 : interrupted ? 40.0 : 2 * rank_timeout + 30;
      const auto stop = [&] { return hard() || root_lost().has_value(); };
      done = wait_until([&] { return inbox.done; }, wait, stop) ||
             (!root_lost() && wait_until([&] { return inbox.done; }, hard() ? 0.5 : 0.0));
      if (!done) {
        if (auto why = root_lost())
          code = lose_root(*why);
        else if (!inbox.received && own_results)
          code = lose_root("did not answer after this rank's results");
      }
    }
    if (done && !saved_to.empty()) {
      if (per_rank_output) {
        // Rank 0 wrote this rank's <stem>_rank<r>.json itself (on its own host).
      } else if (std::error_code ec; std::filesystem::remove(saved_to, ec), !ec) {
        saved_to.clear();  // rank 0 merged them: the merged --output has them
      }
    } else if (!done && inbox.received && !saved_to.empty() && !root_reported) {
      log::warn(
          "rank {} ({}): rank 0 confirmed receipt of this rank's results but did not say it wrote "
          "them; they are also in {}",
          rank, self.host, saved_to);
    }
    if (done && !hard() && !root_reported) {
      courier->flush(1.0);
      if (courier->stop(kCourierStopS)) {
        ctx.finalize();
        return code;
      }
    } else if (!root_reported) {
      courier->flush(hard() ? 0.2 : 1.0);
    }
    std::fflush(nullptr);
    std::_Exit(code);  // a peer is missing or MPI is stuck: no MPI_Finalize (it could hang)
  }

  // ---- ranks other than 0: when rank 0 is gone ----
  // Rank 0 runs on this host and its process no longer exists.
  bool root_process_gone() const {
    if (!inbox.plan || inbox.plan->from.pid <= 0 || inbox.plan->from.host != self.host)
      return false;
    return ::kill(static_cast<pid_t>(inbox.plan->from.pid), 0) != 0 && errno == ESRCH;
  }
  // Why rank 0 counts as gone (mpi/root_watch.hpp), or nullopt; once gone, for good.
  std::optional<std::string> root_lost() const {
    if (rank == 0 || !inbox.plan) return std::nullopt;
    if (!root_lost_why) root_lost_why = root.gone(mono_s(), root_process_gone());
    return root_lost_why;
  }
  // Rank 0 is gone: this rank keeps its results (if it has any), says so once, and its exit code
  // becomes 6 (the job has no merged results).
  int lose_root(const std::string& why) {
    if (!root_lost_why) root_lost_why = why;
    if (own_results) save_own_results();  // (again, if saved early: now with the reason)
    if (!root_reported) {
      root_reported = true;
      report_root_gone(why);
    }
    return to_int(ExitCode::kFailure);
  }
  // Saves this rank's results itself: `<--output stem>_rank<r>.json` beside --output (in the
  // working directory without --output), else in the temporary directory. Returns the path, or ""
  // when neither could be written.
  std::string save_own_results() {
    const std::string base =
        given_output.empty()
            ? "benchmark_results_" + kv::local_time_string("%Y%m%d_%H%M%S") + ".json"
            : given_output;
    ojson r = *own_results;
    if (root_lost_why) r["distributed"]["rank0_lost"] = *root_lost_why;
    for (const std::string& path : {per_rank_output_path(base, rank), plan.config.output}) {
      try {
        kv::fs::atomic_write(path, kv::json_text(r, 4) + "\n");
        saved_to = path;
        return path;
      } catch (const std::exception& e) {
        log::warn("rank {}: could not save this rank's results to {}: {}", rank, path, e.what());
      }
    }
    return {};
  }
  // "kv-cache: rank 1 (host): rank 0 (host0, pid P) <what>; this rank's results are in <path>"
  // (mlpstorage finds the files by this line, src/orchestrator/distributed_results.hpp).
  void report_root_gone(const std::string& what) {
    const Sender root0 = inbox.plan ? inbox.plan->from : Sender{};
    std::fprintf(stderr, "kv-cache: rank %d (%s): rank 0 (%s, pid %ld) %s; %s\n", rank,
                 self.host.c_str(), root0.host.empty() ? "?" : root0.host.c_str(), root0.pid,
                 what.c_str(),
                 !own_results       ? "this rank has no results (it ended before its window did)"
                 : saved_to.empty() ? "this rank's results could not be saved"
                                    : ("this rank's results are in " + saved_to).c_str());
    std::fflush(stderr);
  }

  int conclude_rank0(int code, const std::string& error) {
    if (!error.empty()) {
      Roster::Peer& me = (*roster)[0];
      if (!me.final) {
        me.final = true;
        me.failed_msg = true;
        me.cancelled = cancelled;
        me.out.reason = error;
        me.out.exit_code = code;
      }
    }
    const std::string why =
        error.empty() ? std::string("rank 0 stopped") : "rank 0 failed: " + error;
    if (phase.before(Rank0Phase::kSetup)) {  // nobody has a plan yet: abort the start-up
      wait_until(
          [&] { return all_peers([](const Roster::Peer& p) { return p.hello || p.final; }); },
          std::min(rank_timeout, 60.0), [&] { return hard(); });
      post_to_running(Plan{.from = self, .abort = true, .reason = why});
      phase.advance(Rank0Phase::kWindow);  // nobody will wait for "go"
    }
    if (phase.before(Rank0Phase::kWindow)) {  // the ranks wait for "go": cancel the window
      wait_until(
          [&] { return all_peers([](const Roster::Peer& p) { return p.ready || p.final; }); },
          rank_timeout, [&] { return hard(); });
      post_to_running(Go{.ok = false, .reason = why});
      phase.advance(Rank0Phase::kWindow);
    }
    if (phase.before(Rank0Phase::kWritten) && !output.empty()) {
      try {
        code = gather_and_write(code);
        if (code == 0) code = to_int(ExitCode::kFailure);
      } catch (const std::exception& e) {
        log::error("could not write {}: {}", output, e.what());
        if (code == 0) code = to_int(ExitCode::kFailure);
      }
    }
    for (int r = 1; r < size; ++r) post(r, Done{});
    phase.advance(Rank0Phase::kDone);
    courier->flush(hard() ? 0.2 : 2.0);
    const bool everyone = all_peers([](const Roster::Peer& p) { return p.final; });
    if (everyone && !hard() && courier->stop(kCourierStopS)) {
      ctx.finalize();
      return code;
    }
    std::fflush(nullptr);
    std::_Exit(code);
  }
};

DistributedRun::DistributedRun(dist::RankContext& ctx) : m_(std::make_unique<Impl>(ctx)) {
  m_->rank = ctx.rank();
  m_->size = ctx.size();
  m_->self = Sender{.rank = m_->rank, .host = ctx.hostname(), .pid = static_cast<long>(::getpid())};
  std::optional<Beat> beat;
  m_->beats = m_->rank == 0 && ctx.serialized();
  if (m_->beats) {
    beat = Beat{.text = encode(Heartbeat{.from = m_->self}), .interval_s = kRootBeatS};
    for (int r = 1; r < m_->size; ++r) beat->to.push_back(r);
  }
  m_->courier = std::make_unique<Courier>(
      mailbox_transport(std::make_unique<dist::Mailbox>(ctx)),
      ctx.serialized() ? Courier::Mode::kThread : Courier::Mode::kInline, std::move(beat));
  if (m_->rank == 0) m_->roster.emplace(m_->size, m_->self);
  run::signals::ignore_early_usr1();  // until the run installs its handlers
}

DistributedRun::~DistributedRun() = default;

int DistributedRun::launcher_world_size() {
  if (!dist::RankContext::launcher_detected()) return 1;
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "SLURM_NTASKS"}) {
    const char* v = std::getenv(name);
    if (v != nullptr && *v != '\0') return std::max(1, std::atoi(v));
  }
  return 2;
}

unsigned DistributedRun::capacity_sharers() const {
  return m_->sharers;
}

void DistributedRun::prepare(run::RunPlan& plan) {
  Impl& m = *m_;
  EngineConfig& c = plan.config;
  m.prepared = true;
  m.base_cache_dir = c.cache_dir;
  m.given_seed = c.seed;
  m.rank_timeout = c.rank_timeout;
  m.per_rank_output = c.per_rank_output;
  m.given_output = c.output;
  plan.rank = m.rank;
  plan.ranks = m.size;
  if (m.rank == 0 && c.output.empty())
    c.output = "benchmark_results_" + kv::local_time_string("%Y%m%d_%H%M%S") + ".json";
  m.output = m.rank == 0 ? c.output : std::string();
  m.plan = plan;

  // Filesystem identity of the cache location (ranks sharing it share its free space).
  std::error_code ec;
  std::filesystem::path where = c.cache_dir.empty() ? std::filesystem::temp_directory_path(ec)
                                                    : std::filesystem::path(c.cache_dir);
  if (!c.cache_dir.empty()) {
    std::filesystem::create_directories(where, ec);
    if (ec)
      throw usage_error("--cache-dir", fmt::format("cannot create {} on {}: {}", where.string(),
                                                   m.self.host, ec.message()));
  }
  struct stat st {};
  const std::string fs_id = ::stat(where.c_str(), &st) == 0
                                ? std::to_string(static_cast<unsigned long long>(st.st_dev))
                                : where.string();
  cluster::HostInfo hi = cluster::collect_local_host();
  hi.mpi_rank = m.rank;
  m.host_info_json = hi.to_json();

  Plan own;
  if (m.rank == 0) {
    (*m.roster)[0].hello_msg = Hello{.from = m.self, .fs = fs_id, .host_info = m.host_info_json};
    own = m.plan_ranks(c);
  } else {
    own = m.hello_and_plan(fs_id);
  }
  if (own.abort) {
    m.cancelled = true;
    throw Error(
        ExitCode::kFailure,
        "run cancelled: " + (own.reason.empty() ? std::string("another rank failed") : own.reason));
  }

  // ---- this rank's plan ----
  m.base_seed = own.base_seed;
  m.sharers = std::max(1u, own.sharers);
  c.seed = rank_seed(m.base_seed, m.rank);
  if (!c.cache_dir.empty())
    c.cache_dir =
        (std::filesystem::path(c.cache_dir) / ("rank_" + std::to_string(m.rank))).string();
  if (m.rank != 0)
    c.output = (std::filesystem::temp_directory_path(ec) /
                fmt::format("kv-cache-rank{}-{}.json", m.rank, m.self.pid))
                   .string();
  if (!c.io_trace_log.empty()) c.io_trace_log = per_rank_output_path(c.io_trace_log, m.rank);
  if (!c.xlsx_output.empty() && m.rank != 0)
    c.xlsx_output = per_rank_output_path(c.xlsx_output, m.rank);
  plan.observers.push_back(this);
  m.plan = plan;
  // One short line per rank (the full paths are in rank 0's banner and the results' ranks[]).
  std::fprintf(stdout, "Rank %d/%d on %s (pid %ld): seed %lld, %s%s\n", m.rank, m.size,
               m.self.host.c_str(), m.self.pid, static_cast<long long>(*c.seed),
               c.cache_dir.empty() ? "temporary cache dir"
                                   : fmt::format("<cache-dir>/rank_{}", m.rank).c_str(),
               m.sharers > 1 ? fmt::format(", capacity/{}", m.sharers).c_str() : "");
  std::fflush(stdout);
}

void DistributedRun::before_window(run::RunState& /*s*/) {
  Impl& m = *m_;
  run::signals::set_hard_mode();
  if (m.rank == 0)
    m.start_window_rank0();
  else
    m.start_window_rank();
  m.window_start_unix = unix_now();
}

std::optional<StopReason> DistributedRun::stop_reason(const run::RunState& /*s*/) const {
  // Rank 0 was stopped by a signal, or is gone: this rank stops as if it had been signalled (no
  // drain).
  if (m_->rank != 0 && (m_->inbox.stop || m_->root_lost())) return StopReason::kSignal;
  return std::nullopt;
}

void DistributedRun::on_stop(const run::RunState& s) {
  Impl& m = *m_;
  if (!s.data.interrupted) return;
  m.interrupted = true;
  if (m.rank == 0)
    m.stop_everyone();
  else if (auto why = m.root_lost(); why && !run::signals::stop_requested())
    log::warn("rank {} ({}): rank 0 {}: stopping; this rank keeps its own results", m.rank,
              m.self.host, *why);
  else if (m.inbox.stop && !run::signals::stop_requested())
    log::warn("rank {}: {}: stopping and sending the results", m.rank,
              m.inbox.stop->reason.empty() ? "rank 0 stopped the job" : m.inbox.stop->reason);
}

void DistributedRun::on_tick(const run::RunState& s, std::int64_t now_ns) {
  tick(now_ns, s.t0_ns, s.recorder->completed());
}

void DistributedRun::tick(std::int64_t now_ns, std::int64_t t0_ns, std::uint64_t completed) {
  Impl& m = *m_;
  if (m.rank == 0) {
    m.drain();
    for (int r = 1; r < m.size; ++r) {
      Roster::Peer& p = (*m.roster)[r];
      if (!p.final && !p.warned_silent && since(p.last_seen) > 5.0) {
        p.warned_silent = true;
        log::warn("rank {} ({}) has not reported for {:.0f} s", r, p.out.host, since(p.last_seen));
      }
    }
    return;
  }
  m.drain();
  if (now_ns - m.last_hb_ns < 1'000'000'000LL || m.courier->pending_sends() > 8) return;
  m.last_hb_ns = now_ns;
  m.post(0, Heartbeat{.from = m.self,
                      .t = static_cast<double>(now_ns - t0_ns) * 1e-9,
                      .completed = completed});
}

int DistributedRun::on_results(const nlohmann::ordered_json& results, const RunData& d, int code) {
  Impl& m = *m_;
  m.interrupted = d.interrupted;
  ojson r = results;
  r["distributed"] =
      ojson{{"rank", m.rank},
            {"size", m.size},
            {"host", m.self.host},
            {"pid", m.self.pid},
            {"seed", rank_seed(m.base_seed, m.rank)},
            {"base_seed", m.base_seed},
            {"seed_given", m.given_seed.has_value()},
            {"capacity_sharers", m.sharers},
            {"cache_dir_base", m.base_cache_dir.empty() ? ojson(nullptr) : ojson(m.base_cache_dir)},
            {"window_start_unix_s", m.window_start_unix}};
  if (m.rank != 0) return m.send_results(std::move(r), d, code);
  Roster::Peer& me = (*m.roster)[0];
  me.out.results = std::move(r);
  me.out.exit_code = code;
  me.final = true;
  m.run_data = &d;
  const int out = m.gather_and_write(code);
  m.run_data = nullptr;
  return out;
}

int DistributedRun::conclude(int code, const std::string& error) {
  Impl& m = *m_;
  if (!m.prepared && error.empty()) {  // --help, --version, --probe-device: no protocol was started
    m.ctx.finalize();
    return code;
  }
  return m.rank == 0 ? m.conclude_rank0(code, error) : m.conclude_rank(code, error);
}

}  // namespace kv::engine::mpi
