#include "engine/run/reference_accounting.hpp"

#include <fmt/format.h>

#include "engine/metrics/reference_accounting.hpp"
#include "engine/run/state.hpp"

namespace kv::engine::run {

namespace {

metrics::TrafficCounters traffic(const cache::CacheStats& c) {
  metrics::TrafficCounters t;
  for (std::size_t i = 0; i < 3; ++i) {
    t.read_bytes[i] = c.tiers[i].bytes_read;
    t.failed_read_bytes[i] = c.tiers[i].failed_read_bytes;
    t.written_bytes[i] = c.tiers[i].bytes_written;
  }
  t.read_ops = c.read_operations;
  t.failed_reads = c.failed_reads;
  t.write_ops = c.write_operations;
  t.failed_writes = c.failed_writes;
  t.total_read_bytes = c.total_read_bytes;
  t.total_write_bytes = c.total_write_bytes;
  t.failed_write_bytes = c.failed_write_bytes;
  return t;
}

}  // namespace

void ReferenceAccounting::on_request_done(const workload::Request& req, bool completed) {
  if (!completed) return;
  completed_.fetch_add(1, std::memory_order_relaxed);
  tokens_.fetch_add(req.generate_tokens, std::memory_order_relaxed);
}

void ReferenceAccounting::on_finish(RunState& s) {
  RunData& d = s.data;
  metrics::ReferenceAccountingInput in;
  in.window_s = d.elapsed_s;
  in.drain_s = static_cast<double>(s.clock.now_ns() - s.stop_ns) * 1e-9;
  in.requests_in_window = d.requests_completed;
  in.tokens_in_window = d.total_tokens;
  // Every completed request called on_request_done; those past the window's count finished in
  // the drain (the window counts only requests completed before the stop instant).
  const std::uint64_t all = completed_.load(), all_tokens = tokens_.load();
  in.requests_in_drain = all > d.requests_completed ? all - d.requests_completed : 0;
  in.tokens_in_drain = all_tokens > d.total_tokens ? all_tokens - d.total_tokens : 0;
  // Requests being processed at the stop instant: those recorded after it, plus one per worker
  // still inside an operation when it was abandoned (it never records its request; a worker takes
  // no request after the stop, so that one was dequeued before it).
  in.in_flight_at_stop = s.recorder->after_stop() + d.workers_abandoned;
  in.after_drain = traffic(d.end_stats);
  d.mode_results["reference_accounting"] = metrics::reference_accounting_json(in);
}

std::string ReferenceAccounting::console_text(const nlohmann::ordered_json& results) const {
  const auto it = results.find("reference_accounting");
  if (it == results.end() || !it->is_object()) return {};
  return fmt::format(
      "Reference-style read bandwidth: {:.2f} GiB/s (incl. the drain, docs/metrics.md)\n",
      it->value("tier_storage_read_bandwidth_gbps", 0.0));
}

}  // namespace kv::engine::run
