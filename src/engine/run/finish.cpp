// Phase 4 of a run (run/run.hpp): results, clean-up, output, exit code.
#include <cstdio>
#include <cstdlib>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/json_text.hpp"
#include "core/log.hpp"
#include "engine/metrics/resources.hpp"
#include "engine/run/progress.hpp"
#include "engine/run/run.hpp"
#include "engine/run/state.hpp"
#include "engine/summary.hpp"
#include "engine/summary_format.hpp"
#include "engine_cli/outcome.hpp"

namespace kv::engine::run {

namespace {

void copy_samples(const metrics::LatencyRecorder& r, std::vector<double>& out) {
  out = r.samples();
}

// Fills the results data from the cache, the workload and the observers.
void collect(RunState& s) {
  RunData& d = s.data;
  d.end_stats = s.cache->stats();
  const cache::CacheLatencies& lat = s.cache->latencies();
  for (std::size_t t = 0; t < 3; ++t) {
    copy_samples(lat.read[t], d.tier_read_s[t]);
    copy_samples(lat.write[t], d.tier_write_s[t]);
  }
  copy_samples(lat.storage_read_device, d.storage_read_device_s);
  copy_samples(lat.storage_read_host, d.storage_read_host_s);
  copy_samples(lat.storage_write_device, d.storage_write_device_s);
  copy_samples(lat.storage_write_host, d.storage_write_host_s);
  copy_samples(lat.demotion, d.demotion_s);
  d.prefix = s.prefix.stats();
  d.multi_turn_hits = s.processor->multi_turn_hits();
  d.multi_turn_misses = s.processor->multi_turn_misses();
  d.conversations_started = s.conversations->started();
  d.interrupted_requests += s.recorder->after_stop();
  d.timeseries = s.series->to_json(metrics::rows_for(s.stop_ns - s.t0_ns));  // one per second
  for (RunObserver* o : s.observers) o->on_finish(s);
  d.io.peak_inflight_bytes = s.raw_backend->peak_inflight_bytes();
  d.io.chunk_read = s.chunk_latency.read();
  d.io.chunk_write = s.chunk_latency.write();
  d.io.window_chunk_bytes_read = s.chunk_latency.window_bytes(false);
  d.io.window_chunk_bytes_written = s.chunk_latency.window_bytes(true);
}

// Our files leave the cache dir (moved to a trash directory that a detached process deletes), or
// stay with --keep-cache; the cleanup phase reports its progress (run/progress.hpp).
CacheDir::Cleanup clean_up(RunState& s) {
  const EngineConfig& c = s.config();
  if (c.keep_cache) return s.dir->finish(true);
  const std::size_t total = s.dir->owned_count();
  std::atomic<std::size_t> done{0};
  PhaseProgress progress(ProgressOptions::from(c, s.plan.rank), "cleanup", "removing cache files",
                         "files", [&] { return PhaseSample(done.load(), total); });
  const CacheDir::Cleanup cleanup = s.dir->finish(false, /*background=*/true, &done);
  done = total;  // a temporary directory goes as a whole
  progress.finish();
  return cleanup;
}

bool output_owned_by_observer(const RunState& s) {
  for (const RunObserver* o : s.observers)
    if (o->owns_output()) return true;
  return false;
}

void write_output(RunState& s, const nlohmann::ordered_json& results) {
  kv::fs::atomic_write(s.output, kv::json_text(results, 4) + "\n");
  log::debug("results written after {:.3f} s",
             static_cast<double>(s.clock.now_ns() - s.stop_ns) * 1e-9);
  std::fputs(results_text(results, s.data).c_str(), stdout);
  for (const RunObserver* o : s.observers) std::fputs(o->console_text(results).c_str(), stdout);
  std::fputs(console::path_lines("Results written to ", s.output.string()).c_str(), stdout);
}

// The failure rule (docs/safety.md): a run whose failed requests exceed kMaxFailedShare of the
// requests that finished (completed + failed) in the window failed, even when others completed.
constexpr double kMaxFailedShare = 0.01;

// `whole_run`: these results are the whole run's (an MPI rank's are not: rank 0 applies the
// nothing-measured rule to the merged results).
int exit_code(const RunData& d, const nlohmann::ordered_json& results, bool whole_run) {
  if (d.interrupted) return to_int(ExitCode::kInterrupted);
  if (whole_run) {
    if (const int code = fail_if_nothing_measured(results, 0); code != 0) return code;
  }
  const std::uint64_t finished = d.requests_completed + d.failed_requests;
  if (d.failed_requests > 0 &&
      static_cast<double>(d.failed_requests) > kMaxFailedShare * static_cast<double>(finished)) {
    log::error(
        "{} of {} requests failed ({:.1f} %, more than the {:.0f} % a run may lose); first: {}",
        d.failed_requests, finished,
        100.0 * static_cast<double>(d.failed_requests) / static_cast<double>(finished),
        100.0 * kMaxFailedShare, d.failure_examples.empty() ? "?" : d.failure_examples[0]);
    return to_int(ExitCode::kFailure);
  }
  if (d.failed_requests > 0)
    log::warn("{} of {} requests failed (within the {:.0f} % allowed); first: {}",
              d.failed_requests, finished, 100.0 * kMaxFailedShare,
              d.failure_examples.empty() ? "?" : d.failure_examples[0]);
  return to_int(ExitCode::kSuccess);
}

int finish_run(RunState& s) {
  RunData& d = s.data;
  collect(s);
  // Clean up before measuring resources, so unlink time is not hidden; then write the results.
  const CacheDir::Cleanup cleanup = clean_up(s);
  d.cache_kept = cleanup.kept;
  d.files_removed_at_end = cleanup.removed;
  d.resources = metrics::resource_usage();
  log::debug("cleanup done after {:.3f} s ({} files removed)",
             static_cast<double>(s.clock.now_ns() - s.stop_ns) * 1e-9, cleanup.removed);

  const nlohmann::ordered_json results = build_results(d);
  const bool owned = output_owned_by_observer(s);
  if (!owned) write_output(s, results);
  for (RunObserver* o : s.observers) o->after_output(results, d, /*wrote_summary=*/!owned);
  if (cleanup.kept)
    std::fputs(console::path_lines("Cache files kept in ", d.cache_dir, " (--keep-cache)",
                                   "Cache files kept (--keep-cache) in")
                   .c_str(),
               stdout);
  std::fflush(stdout);

  int code = exit_code(d, results, /*whole_run=*/!owned);
  for (RunObserver* o : s.observers) code = o->on_results(results, d, code);  // MPI: rank 0 merges
  return code;
}

// Workers still hold pointers into the state: it is released, never destroyed, and the process
// exits from here without unwinding.
[[noreturn]] void finish_abandoned(std::unique_ptr<RunState> owner) {
  RunState& s = *owner.release();
  int code = to_int(ExitCode::kFailure);
  try {
    code = finish_run(s);
  } catch (const Error& e) {
    std::fprintf(stderr, "%s\n", e.describe().c_str());
    code = to_int(e.code());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
  }
  std::fflush(stdout);
  std::fflush(stderr);
  for (RunObserver* o : s.observers) code = o->before_abandon_exit(code);  // MPI: end the protocol
  std::_Exit(code);
}

}  // namespace

int fail_if_nothing_measured(const nlohmann::ordered_json& results, int code) {
  if (code != 0) return code;
  const std::optional<std::string> why = engine_cli::nothing_measured(results);
  if (!why) return code;
  log::error("{}; a run that measured nothing failed (exit 6, docs/safety.md)", *why);
  return to_int(ExitCode::kFailure);
}

int Run::Windowed::finish() && {
  if (!s_->workers_joined) finish_abandoned(std::move(s_));
  return finish_run(*s_);
}

int run_benchmark(const RunPlan& plan) {
  return Run::assemble(plan).prepare().window().finish();
}

}  // namespace kv::engine::run
