// --mooncake-trace: Mooncake trace replay with block requests (docs/workload-modes.md).
#include "engine/modes/mooncake.hpp"
#include "engine/modes/registry.hpp"
#include "engine/replay/mooncake_trace.hpp"

namespace kv::engine::modes {

namespace {

class MooncakeSource final : public ModeSource {
 public:
  explicit MooncakeSource(std::unique_ptr<replay::MooncakeTraceReader> r) : reader_(std::move(r)) {}
  std::unique_ptr<Producer> make_producer(ProducerInputs in) override {
    return std::make_unique<MooncakeProducer>(std::move(reader_), TraceSettings{in.draws}, in.queue,
                                              in.stop, in.clock);
  }
  bool processes_requests() const override { return true; }
  void start_processing(const workload::ProcessSettings& ps, workload::StopFlag& stop) override {
    processor_ = std::make_unique<MooncakeProcessor>(ps, stop);
  }
  bool process(const workload::Request& req, workload::KvStore& store, workload::RequestOutcome& o,
               std::string& scratch) override {
    return processor_->process(req, store, o, scratch);
  }
  void add_results(nlohmann::ordered_json& top) const override {
    if (processor_) top["mooncake_stats"] = processor_->stats();
  }

 private:
  std::unique_ptr<replay::MooncakeTraceReader> reader_;
  std::unique_ptr<MooncakeProcessor> processor_;
};

}  // namespace

const ModeEntry kMooncakeMode = {
    Mode::kMooncake, "mooncake", "trace_stats", "mooncake_trace",
    [](const EngineConfig& c, const YamlSettings&) -> std::unique_ptr<ModeSource> {
      replay::MooncakeTraceOptions o;
      o.speedup = c.trace_speedup;
      o.replay_cycles = static_cast<std::uint32_t>(c.replay_cycles);
      return std::make_unique<MooncakeSource>(
          std::make_unique<replay::MooncakeTraceReader>(c.mooncake_trace, o));
    }};

}  // namespace kv::engine::modes
