// The `reference_accounting` block of the results and its console line (docs/metrics.md,
// "Reference accounting"): what the reference would report for this run, computed beside our
// headline figures. A run observer: it counts every completed request (also those that finish in
// the drain after the window), and at the finish turns the cache counters taken after the drain
// into the reference's figures (metrics/reference_accounting.hpp).
#pragma once

#include <atomic>
#include <cstdint>

#include "engine/run/observer.hpp"

namespace kv::engine::run {

class ReferenceAccounting final : public RunObserver {
 public:
  void on_request_done(const workload::Request& req, bool completed) override;
  void on_finish(RunState& s) override;
  std::string console_text(const nlohmann::ordered_json& results) const override;

 private:
  std::atomic<std::uint64_t> completed_{0}, tokens_{0};
};

}  // namespace kv::engine::run
