// The run's features besides the request source (docs/workload-modes.md), each a run observer
// (run/observer.hpp) wrapping the engine/modes piece that does the work:
//   ModeSummary   the selected mode (modes/registry.hpp): its producer's request_done and
//                 "replay_complete", results.workload_mode and the mode's statistics,
//                 --validation-trace, the console lines, --xlsx-output after the results JSON
//   IoTrace       --io-trace-log: null tiers without --io-trace-real, tracing tiers and store; the
//                 io_trace results block; closes the log after the results JSON (exit 6 on a
//                 write error, raised after the JSON is written)
//   Precondition  --precondition before the window (statistics reset after)
//   Rag           --enable-rag: ingestion (before the window with --decode-only, else from t0),
//                 chunk reads, follow-ups, rag_stats
//   Autoscaling   --enable-autoscaling: starts/stops producers from t0, "autoscaler_capacity",
//                 throughput_timeline and the autoscaling summary
// run/assemble.cpp creates those the flags ask for, in the order Autoscaling, ModeSummary,
// Precondition, Rag, IoTrace (precondition writes before RAG ingests; the autoscaler's stop
// reason is checked first).
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/export/io_trace.hpp"
#include "engine/modes/autoscaler.hpp"
#include "engine/modes/precondition.hpp"
#include "engine/modes/rag.hpp"
#include "engine/modes/registry.hpp"
#include "engine/replay/validation_trace.hpp"
#include "engine/run/observer.hpp"
#include "engine/tier/tier.hpp"

namespace kv::engine::run::features {

// Users to generate (--num-users, or the autoscaler's ceiling) and worker threads (with
// autoscaling min(pool, 500), so added users add real load; else `standard`).
std::uint32_t user_pool(const EngineConfig& c, const YamlSettings& y);
unsigned worker_count(const EngineConfig& c, const YamlSettings& y, unsigned standard);

class ModeSummary final : public RunObserver {
 public:
  // Loads --validation-trace and checks the --xlsx-output directory (errors before any I/O).
  ModeSummary(RunState& s, const EngineConfig& c);
  void on_request_done(const workload::Request& req, bool completed) override;
  std::optional<StopReason> stop_reason(const RunState& s) const override;
  void on_finish(RunState& s) override;
  std::string console_text(const nlohmann::ordered_json& results) const override;
  void after_output(const nlohmann::ordered_json& results, const RunData& d,
                    bool wrote_summary) override;

 private:
  RunState& s_;
  std::optional<replay::ValidationTraceStats> validation_;
};

class IoTrace final : public RunObserver {
 public:
  explicit IoTrace(const EngineConfig& c);
  // No real I/O: every tier is a null tier (--io-trace-log without --io-trace-real).
  bool null_backends() const { return !real_io_; }
  std::vector<std::unique_ptr<tier::Tier>> null_tiers(bool gpu, bool cpu) const;
  void wrap_tiers(std::vector<std::unique_ptr<tier::Tier>>& tiers);
  workload::KvStore& wrap_store(workload::KvStore& inner);
  void on_finish(RunState& s) override;
  void after_output(const nlohmann::ordered_json& results, const RunData& d,
                    bool wrote_summary) override;

 private:
  bool real_io_;
  std::unique_ptr<exporter::IoTraceWriter> trace_;
  std::unique_ptr<workload::KvStore> store_;
};

class Precondition final : public RunObserver {
 public:
  void on_prepare(RunState& s) override;
  void on_finish(RunState& s) override;

 private:
  std::optional<modes::PreconditionResult> result_;
};

class Rag final : public RunObserver {
 public:
  Rag(const EngineConfig& c, const YamlSettings& y, const model::ModelConfig& m,
      std::uint64_t seed);
  modes::RagWorkload& workload() { return *rag_; }
  void on_prepare(RunState& s) override;
  void on_window_start(RunState& s) override;
  void on_finish(RunState& s) override;

 private:
  std::unique_ptr<modes::RagWorkload> rag_;
  bool ingested_before_ = false;
};

class Autoscaling final : public RunObserver {
 public:
  void on_window_start(RunState& s) override;
  void on_request_done(const workload::Request& req, bool completed) override;
  std::optional<StopReason> stop_reason(const RunState& s) const override;
  void on_finish(RunState& s) override;

 private:
  std::unique_ptr<modes::Autoscaler> autoscaler_;
  std::atomic<std::uint64_t> tokens_{0};
};

// The request hooks of a run: the mode's own processing (Mooncake) and RAG chunk reads.
class RequestHooks final : public workload::RequestHooks {
 public:
  RequestHooks(modes::ModeSource* mode, modes::RagWorkload* rag, workload::StopFlag& stop)
      : mode_(mode), rag_(rag), stop_(stop) {}
  bool process(const workload::Request& req, workload::KvStore& store, workload::RequestOutcome& o,
               std::string& scratch) override {
    return mode_ != nullptr && mode_->process(req, store, o, scratch);
  }
  bool extra_reads(const workload::Request& req, workload::KvStore& store,
                   workload::RequestOutcome& o) override {
    return rag_ == nullptr || rag_->extra_reads(req, store, o, stop_);
  }

 private:
  modes::ModeSource* mode_;
  modes::RagWorkload* rag_;
  workload::StopFlag& stop_;
};

}  // namespace kv::engine::run::features
