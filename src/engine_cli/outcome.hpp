// The rule for a run that completed no request (docs/safety.md, "A run that measured nothing"),
// shared by the engine (its ERROR line and exit code 6) and mlpstorage (the `failed` record and its
// error text), so both say the same. Read from a results JSON, a single process's or an MPI job's
// merged one; header-only like the rest of the engine's contract.
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <optional>
#include <string>

namespace kv::engine_cli {

namespace outcome_detail {

template <class Json>
std::uint64_t count(const Json& j, const char* key) {
  if (!j.is_object()) return 0;
  const auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->template get<std::uint64_t>() : 0;
}

}  // namespace outcome_detail

// nullopt when `results` has no summary or a request completed; otherwise why nothing was measured:
// "no request completed in the 2.0 s window: <the likely cause>". The causes, first match: every
// request that ended failed (with the first error); requests were still in flight at the stop (the
// window is shorter than one request); nothing was issued (e.g. a trace without a usable record);
// requests were issued but none started.
template <class Json>
std::optional<std::string> nothing_measured(const Json& results) {
  using outcome_detail::count;
  if (!results.is_object()) return std::nullopt;
  const auto s = results.find("summary");
  if (s == results.end() || !s->is_object() || count(*s, "total_requests") > 0) return std::nullopt;
  const auto e = s->find("elapsed_time");
  const double elapsed = e != s->end() && e->is_number() ? e->template get<double>() : 0.0;
  std::string why = fmt::format("no request completed in the {:.1f} s window: ", elapsed);
  const std::uint64_t failed = count(*s, "failed_requests");
  const std::uint64_t in_flight = count(*s, "interrupted_requests");
  const std::uint64_t queued = count(*s, "dropped_queued_requests");
  const auto w = results.find("workload");
  const bool has_workload = w != results.end() && w->is_object();
  if (failed > 0) {
    why += fmt::format("{} requests failed and none completed", failed);
    if (has_workload) {
      const auto ex = w->find("failure_examples");
      if (ex != w->end() && ex->is_array() && !ex->empty() && ex->front().is_string())
        why += " (first: " + ex->front().template get<std::string>() + ")";
    }
  } else if (in_flight > 0) {
    why += fmt::format(
        "the window is shorter than one request ({} in flight and {} queued at the stop; a longer "
        "--duration lets them complete)",
        in_flight, queued);
  } else if (!has_workload || count(*w, "requests_enqueued") == 0) {
    why +=
        "no request was issued (nothing reached the queue: e.g. a trace without a usable record, "
        "or users whose first request comes after the window)";
  } else {
    why += fmt::format("{} requests were issued but none started ({} queued at the stop)",
                       count(*w, "requests_enqueued"), queued);
  }
  return why;
}

}  // namespace kv::engine_cli
