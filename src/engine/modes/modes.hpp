// The workload modes of a run (issue #5; docs/workload-modes.md), behind one object the runner
// calls at fixed points:
//   construction   checks the mode flags together and loads/opens every input (ShareGPT dataset,
//                  BurstGPT/Mooncake readers, validation trace, I/O trace log, the --xlsx-output
//                  directory): all input errors surface before any I/O (exit 2 usage / malformed,
//                  exit 3 missing file, each naming the flag and the path or line);
//   tiers          null tiers for --io-trace-log (the reference's trace-only mode) and the tracing
//                  wrapper around every tier when logging;
//   pre-run        --precondition; with --decode-only, RAG ingestion (so the window has no writes);
//   run            the producer (synthetic users, ShareGPT sessions, BurstGPT or Mooncake replay),
//                  the request hooks (RAG chunk reads, Mooncake block requests), RAG ingestion and
//                  the autoscaler; request_done() after every processed request; stop_reason()
//                  when the replay is over and drained ("replay_complete") or capacity autoscaling
//                  stopped ("autoscaler_capacity");
//   results        finish() fills RunData::mode_results / mode_summary; export_outputs() writes
//                  --xlsx-output and closes the trace log after the results JSON is written.
// Mode selection: --mooncake-trace, else --dataset-path (wins over --use-burst-trace, as the
// reference), else --use-burst-trace, else synthetic users.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "engine/cache/cache.hpp"
#include "engine/config.hpp"
#include "engine/export/io_trace.hpp"
#include "engine/modes/autoscaler.hpp"
#include "engine/modes/mooncake.hpp"
#include "engine/modes/precondition.hpp"
#include "engine/modes/producers.hpp"
#include "engine/modes/rag.hpp"
#include "engine/replay/sharegpt.hpp"
#include "engine/replay/validation_trace.hpp"
#include "engine/results.hpp"
#include "engine/tier/tier.hpp"
#include "engine/workload/processor.hpp"
#include "engine/workload/request_factory.hpp"
#include "engine/yaml_config.hpp"
#include "model/model.hpp"

namespace kv::engine::modes {

enum class Mode { kSynthetic, kShareGpt, kBurstGpt, kMooncake };
const char* mode_name(Mode m);

class WorkloadModes {
 public:
  WorkloadModes(const EngineConfig& c, const YamlSettings& y, const model::ModelConfig& m,
                std::uint64_t seed);
  ~WorkloadModes();
  WorkloadModes(const WorkloadModes&) = delete;
  WorkloadModes& operator=(const WorkloadModes&) = delete;

  Mode mode() const { return mode_; }
  // --io-trace-log without --io-trace-real: no real I/O (every tier is a null tier).
  bool null_backends() const { return trace_ && !c_.io_trace_real; }
  // Users to generate: num_users, or the autoscaler's ceiling.
  std::uint32_t user_pool() const;
  // Worker threads: min(user_pool, 500) when autoscaling (so added users add real load), else
  // `standard`.
  unsigned workers(unsigned standard) const;
  std::vector<std::string> warnings() const { return warnings_; }

  std::vector<std::unique_ptr<tier::Tier>> null_tiers(bool gpu, bool cpu) const;
  void wrap_tiers(std::vector<std::unique_ptr<tier::Tier>>& tiers);
  workload::KvStore& store(workload::KvStore& inner);

  // Before the measured window: --precondition (prints progress, resets the cache statistics
  // after), and RAG ingestion when --decode-only.
  void pre_run(cache::MultiTierCache& cache, std::uint64_t storage_limit,
               const std::function<bool()>& cancelled);
  void precondition(cache::MultiTierCache& cache, std::uint64_t storage_limit,
                    const std::function<bool()>& cancelled);

  workload::RequestHooks* hooks(const workload::ProcessSettings& ps, workload::StopFlag& stop);
  Producer& make_producer(workload::RequestFactory& factory, workload::RequestQueue& queue,
                          workload::StopFlag& stop, workload::ConversationManager& conversations,
                          std::uint64_t prepopulated_keys);
  void start(std::int64_t t0_ns, cache::MultiTierCache& cache, workload::RequestQueue& queue,
             workload::StopFlag& stop);
  void request_done(const workload::Request& req, bool completed);
  std::optional<std::string> stop_reason(std::uint64_t requests_finished) const;
  // After the stop instant and the producer's join: stops the mode threads, fills d.mode_*.
  void finish(RunData& d);
  // After the results JSON was written: --xlsx-output (if `summary`), then the trace log is closed
  // (kv::Error on a write failure).
  void export_outputs(const nlohmann::ordered_json& results, const RunData& d, bool summary = true);
  std::string console_text(const nlohmann::ordered_json& results) const;

  // The --xlsx-output run-parameters object (docs/workload-modes.md "Summary export").
  static nlohmann::ordered_json run_parameters(const RunData& d);

 private:
  class Hooks;
  const EngineConfig& c_;
  const YamlSettings& y_;
  const model::ModelConfig& m_;
  std::uint64_t seed_;
  Mode mode_ = Mode::kSynthetic;
  std::vector<std::string> warnings_;

  std::unique_ptr<replay::ShareGptDataset> dataset_;
  std::unique_ptr<replay::BurstTraceReader> burst_;
  std::unique_ptr<replay::MooncakeTraceReader> mooncake_reader_;
  std::optional<replay::ValidationTraceStats> validation_;
  std::unique_ptr<exporter::IoTraceWriter> trace_;
  std::unique_ptr<workload::KvStore> tracing_store_;
  workload::KvStore* store_ = nullptr;  // what requests and RAG ingestion write through

  std::unique_ptr<RagWorkload> rag_;
  std::unique_ptr<MooncakeProcessor> mooncake_;
  std::unique_ptr<Hooks> hooks_;
  std::unique_ptr<Producer> producer_;
  std::unique_ptr<Autoscaler> autoscaler_;
  std::optional<PreconditionResult> precondition_;
  bool rag_ingested_before_ = false;
  std::atomic<std::uint64_t> tokens_{0};
};

}  // namespace kv::engine::modes
