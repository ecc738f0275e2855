// --io-trace-log as a run feature (docs/workload-modes.md "I/O trace").
#include <fmt/format.h>

#include <cstdio>

#include "engine/modes/trace_tiers.hpp"
#include "engine/run/features.hpp"
#include "engine/run/state.hpp"
#include "engine/summary_format.hpp"

namespace kv::engine::run::features {

IoTrace::IoTrace(const EngineConfig& c) : real_io_(c.io_trace_real) {
  exporter::IoTraceOptions o;
  o.latency_column = c.io_trace_real;
  trace_ = std::make_unique<exporter::IoTraceWriter>(c.io_trace_log, o);
}

std::vector<std::unique_ptr<tier::Tier>> IoTrace::null_tiers(bool gpu, bool cpu) const {
  std::vector<std::unique_ptr<tier::Tier>> t;
  if (gpu) t.push_back(modes::make_null_tier(tier::TierId::kGpu));
  if (cpu) t.push_back(modes::make_null_tier(tier::TierId::kCpu));
  t.push_back(modes::make_null_tier(tier::TierId::kStorage));
  return t;
}

void IoTrace::wrap_tiers(std::vector<std::unique_ptr<tier::Tier>>& tiers) {
  for (auto& t : tiers) t = modes::make_tracing_tier(std::move(t), *trace_);
}

workload::KvStore& IoTrace::wrap_store(workload::KvStore& inner) {
  store_ = std::make_unique<modes::TracingStore>(inner);
  return *store_;
}

// A write error is reported in the results here and raised (exit 6) by after_output(), after the
// results JSON is written.
void IoTrace::on_finish(RunState& s) {
  std::string error;
  try {
    trace_->flush();
  } catch (const std::exception& e) {
    error = e.what();
  }
  s.data.mode_results["io_trace"] = nlohmann::ordered_json{
      {"path", trace_->path().string()},
      {"rows", trace_->rows()},
      {"compressed", trace_->compressed()},
      {"real_io", real_io_},
      {"latency_column", trace_->latency_column()},
      {"error", error.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(error)}};
}

void IoTrace::after_output(const nlohmann::ordered_json&, const RunData&, bool) {
  trace_->close();
  std::fputs(console::path_lines(fmt::format("I/O trace ({} rows, {}) written to ", trace_->rows(),
                                             real_io_ ? "real I/O" : "no real I/O"),
                                 trace_->path().string())
                 .c_str(),
             stdout);
  std::fflush(stdout);
}

}  // namespace kv::engine::run::features
