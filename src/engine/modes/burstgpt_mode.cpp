// --use-burst-trace: BurstGPT trace replay (docs/workload-modes.md).
#include "engine/modes/registry.hpp"
#include "engine/replay/burst_trace.hpp"

namespace kv::engine::modes {

namespace {

class BurstGptSource final : public ModeSource {
 public:
  explicit BurstGptSource(std::unique_ptr<replay::BurstTraceReader> r) : reader_(std::move(r)) {}
  std::unique_ptr<Producer> make_producer(ProducerInputs in) override {
    return std::make_unique<BurstTraceProducer>(std::move(reader_), TraceSettings{in.draws},
                                                in.queue, in.stop, std::move(in.follow_up),
                                                in.clock);
  }

 private:
  std::unique_ptr<replay::BurstTraceReader> reader_;
};

}  // namespace

const ModeEntry kBurstGptMode = {
    Mode::kBurstGpt, "burstgpt", "trace_stats", "burst_trace_path",
    [](const EngineConfig& c, const YamlSettings&) -> std::unique_ptr<ModeSource> {
      replay::BurstTraceOptions o;
      o.speedup = c.trace_speedup;
      o.replay_cycles = static_cast<std::uint32_t>(c.replay_cycles);
      return std::make_unique<BurstGptSource>(
          std::make_unique<replay::BurstTraceReader>(c.burst_trace_path, o));
    }};

}  // namespace kv::engine::modes
