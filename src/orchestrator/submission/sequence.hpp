// Runs a modal submission sequence (`mlpstorage <closed|open|whatif> kvcache run`); the plan is
// sequence_plan.hpp, the summary run_summary.hpp, the live status line progress.hpp.
//
// Order: (resume: reload the recorded invocation) → orgname from mlperf-results.yaml →
// --systemname → plan (CLOSED locks, rank layout: usage errors, exit 2) → verification of the
// configuration → pre-flight checks (engine, launcher, directories, cache free space ≥ the largest
// option's footprint, CPU-tier memory, results and cache on different filesystems, engine
// version) → whatif: print the plan, create nothing → run dir, metadata (status running) → for
// each option, each trial: [inter-option delay before options 2 and 3] settle, one launcher
// invocation for all clients, per-rank files into rank_<N>/, the trial record, settle → summary,
// verification of what ran, metadata.
//
// Ctrl-C (SIGINT/SIGTERM) stops the current trial (the engine writes valid, `interrupted` results),
// skips the rest, writes the summary of the finished trials and the metadata (status
// interrupted, exit 8). `--resume <run dir>` continues from the first unfinished trial: finished
// trials (status success or failed) are kept, an interrupted trial is removed and run again. A
// failed trial is recorded and the sequence goes on (exit 6 at the end).
#pragma once

#include <string>

#include "orchestrator/kvcache.hpp"
#include "orchestrator/options.hpp"

namespace kv::orchestrator::submission {

BenchmarkResult run_sequence(const Invocation& inv, const std::string& datetime,
                             const Environment& env);

// `mlpstorage init`: prints what it did; returns the exit code.
int run_init_command(const Invocation& inv, const Environment& env);

}  // namespace kv::orchestrator::submission
