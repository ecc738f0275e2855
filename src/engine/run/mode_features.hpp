// The workload modes' part of a run as a run observer: --precondition and RAG ingestion before the
// window, RAG ingestion and the autoscaler from t0, the replay's and the autoscaler's stop
// reasons, the modes' results fragments, console lines and exports (--xlsx-output, the I/O trace).
#pragma once

#include "engine/modes/modes.hpp"
#include "engine/run/observer.hpp"

namespace kv::engine::run {

class ModesObserver final : public RunObserver {
 public:
  explicit ModesObserver(modes::WorkloadModes& wm) : wm_(wm) {}
  void on_prepare(RunState& s) override;
  void on_window_start(RunState& s) override;
  void on_request_done(const workload::Request& req, bool completed) override;
  std::optional<std::string> stop_reason(const RunState& s) const override;
  void on_finish(RunState& s) override;
  std::string console_text(const nlohmann::ordered_json& results) const override;
  void after_output(const nlohmann::ordered_json& results, const RunData& d,
                    bool wrote_summary) override;

 private:
  modes::WorkloadModes& wm_;
};

}  // namespace kv::engine::run
