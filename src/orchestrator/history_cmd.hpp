// `mlpstorage history list|show|rerun|import` on top of history/history.hpp.
//   list   [-b BENCH] [-m MODEL] [--status S] [-n N]  table, newest first (with the verification
//          of kvcache runs); exit 0. list and show open the database read-only: they never write,
//          create or migrate it.
//   show   -i ID → the full record (exit 2 if unknown); -n N → last N as "<id> : <datetime> :
//   <command>";
//          neither → all entries that way ("No history entries found", exit 2, when empty)
//   rerun  ID → the recorded argv again, as a new recorded run (exit 2 if unknown or not
//   re-runnable) import [DIR…] → rows for every *_metadata.json under DIR (default --results-dir)
//   not yet known
#pragma once

#include <ostream>
#include <vector>

#include "history/history.hpp"
#include "orchestrator/kvcache.hpp"
#include "orchestrator/options.hpp"

namespace kv::orchestrator {

// The table `history list` prints (exposed for tests).
std::string format_history_table(const std::vector<kv::history::Entry>& rows);
// The metrics of `history show`: one "key:  value" line each, aligned, nested blocks indented
// (a flat block such as a latency summary on one line), null as "—".
std::string format_metrics(const kv::history::Json& metrics, int indent);

int history_command(const Invocation& inv, const Environment& env);

}  // namespace kv::orchestrator
