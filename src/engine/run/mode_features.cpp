#include "engine/run/mode_features.hpp"

#include "engine/run/signals.hpp"
#include "engine/run/state.hpp"

namespace kv::engine::run {

void ModesObserver::on_prepare(RunState& s) {
  wm_.pre_run(*s.cache, s.storage_limit, [] { return signals::stop_requested(); });
}

void ModesObserver::on_window_start(RunState& s) {
  wm_.start(s.t0_ns, *s.cache, s.queue, s.stop);
}

void ModesObserver::on_request_done(const workload::Request& req, bool completed) {
  wm_.request_done(req, completed);
}

std::optional<std::string> ModesObserver::stop_reason(const RunState& s) const {
  return wm_.stop_reason(s.recorder->finished());
}

void ModesObserver::on_finish(RunState& s) {
  wm_.finish(s.data);
}

std::string ModesObserver::console_text(const nlohmann::ordered_json& results) const {
  return wm_.console_text(results);
}

void ModesObserver::after_output(const nlohmann::ordered_json& results, const RunData& d,
                                 bool wrote_summary) {
  wm_.export_outputs(results, d, wrote_summary);
}

}  // namespace kv::engine::run
