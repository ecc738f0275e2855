// Synthetic users (the reference's default workload): the open-loop user scheduler.
#include "engine/modes/registry.hpp"

namespace kv::engine::modes {

namespace {

class SyntheticSource final : public ModeSource {
 public:
  std::unique_ptr<Producer> make_producer(ProducerInputs in) override {
    return std::make_unique<SyntheticProducer>(in.factory, in.queue, in.stop,
                                               static_cast<std::uint32_t>(in.config.num_users),
                                               std::move(in.follow_up));
  }
};

}  // namespace

const ModeEntry kSyntheticMode = {
    Mode::kSynthetic, "synthetic", nullptr, nullptr,
    [](const EngineConfig&, const YamlSettings&) -> std::unique_ptr<ModeSource> {
      return std::make_unique<SyntheticSource>();
    }};

}  // namespace kv::engine::modes
