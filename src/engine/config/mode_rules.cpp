#include "engine/config/mode_rules.hpp"

namespace kv::engine {

Mode selected_mode(const EngineConfig& c) {
  if (!c.mooncake_trace.empty()) return Mode::kMooncake;
  if (!c.dataset_path.empty()) return Mode::kShareGpt;
  if (c.use_burst_trace) return Mode::kBurstGpt;
  return Mode::kSynthetic;
}

ModeFlagRules check_mode_flags(const EngineConfig& c) {
  ModeFlagRules r;
  const Mode mode = selected_mode(c);
  if (mode == Mode::kMooncake && (!c.dataset_path.empty() || c.use_burst_trace))
    r.errors.push_back(
        "--mooncake-trace: cannot be combined with --dataset-path or --use-burst-trace (one replay "
        "at "
        "a time)");
  if (mode == Mode::kShareGpt && c.use_burst_trace)
    r.warnings.push_back(
        "--use-burst-trace ignored: --dataset-path takes precedence (as the reference)");
  if (c.enable_autoscaling && (mode == Mode::kBurstGpt || mode == Mode::kMooncake))
    r.errors.push_back(
        std::string("--enable-autoscaling: needs user producers to start and stop (synthetic "
                    "users or --dataset-path); a ") +
        (mode == Mode::kBurstGpt ? "burstgpt" : "mooncake") + " trace replay has none");
  if (c.enable_rag && mode == Mode::kMooncake)
    r.errors.push_back("--enable-rag: cannot be combined with --mooncake-trace");
  if (c.io_trace_real && c.io_trace_log.empty())
    r.errors.push_back("--io-trace-real: needs --io-trace-log PATH");
  if (c.was_given("--burst-trace-path") && mode != Mode::kBurstGpt)
    r.warnings.push_back("--burst-trace-path ignored without --use-burst-trace");
  if (c.was_given("--request-rate") && mode != Mode::kShareGpt)
    r.warnings.push_back(
        "--request-rate ignored: only --dataset-path replay is paced by it (as the reference)");
  if ((c.was_given("--trace-speedup") && mode != Mode::kBurstGpt && mode != Mode::kMooncake) ||
      (c.was_given("--replay-cycles") && mode == Mode::kSynthetic))
    r.warnings.push_back(
        "--trace-speedup/--replay-cycles ignored without a trace or dataset replay");
  if ((c.was_given("--precondition-size-gb") || c.was_given("--precondition-threads")) &&
      !c.precondition)
    r.warnings.push_back(
        "--precondition-size-gb/--precondition-threads ignored without --precondition");
  if (c.was_given("--autoscaler-mode") && !c.enable_autoscaling)
    r.warnings.push_back("--autoscaler-mode ignored without --enable-autoscaling");
  return r;
}

}  // namespace kv::engine
