// --dataset-path: ShareGPT conversation replay (docs/workload-modes.md).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "core/error.hpp"
#include "engine/modes/registry.hpp"
#include "engine/replay/sharegpt.hpp"

namespace kv::engine::modes {

namespace {

bool key_given(const YamlSettings& y, const char* key) {
  return std::find(y.keys_given.begin(), y.keys_given.end(), key) != y.keys_given.end();
}

class ShareGptSource final : public ModeSource {
 public:
  explicit ShareGptSource(replay::ShareGptDataset ds) : dataset_(std::move(ds)) {}
  std::unique_ptr<Producer> make_producer(ProducerInputs in) override {
    const EngineConfig& c = in.config;
    ShareGptSettings s;
    s.sessions = in.user_pool;
    s.initial_sessions = static_cast<std::uint32_t>(c.num_users);
    s.multi_turn = !c.disable_multi_turn;
    s.request_rate = c.request_rate;
    s.replay_cycles = static_cast<std::uint32_t>(c.replay_cycles);
    s.max_turns = static_cast<std::uint32_t>(in.yaml.max_turns_per_conv);
    s.draws = in.draws;
    return std::make_unique<ShareGptProducer>(dataset_, s, in.queue, in.stop, in.conversations,
                                              std::move(in.follow_up), in.clock);
  }

 private:
  replay::ShareGptDataset dataset_;
};

std::unique_ptr<ModeSource> load(const EngineConfig& c, const YamlSettings& y) {
  replay::ShareGptOptions o;
  o.max_conversations = static_cast<std::size_t>(c.max_conversations);
  // The reference hard-codes 16384 / 2048 / 4 and ignores sharegpt.*; a config file's values win
  // (docs/workload-modes.md).
  if (key_given(y, "sharegpt.max_context_tokens"))
    o.max_context_tokens = static_cast<std::uint32_t>(y.sharegpt_max_context_tokens);
  if (key_given(y, "sharegpt.max_generation_tokens"))
    o.max_generation_tokens = static_cast<std::uint32_t>(y.sharegpt_max_generation_tokens);
  if (key_given(y, "sharegpt.chars_per_token_estimate"))
    o.chars_per_token =
        static_cast<std::uint32_t>(std::max(1.0, std::round(y.sharegpt_chars_per_token_estimate)));
  replay::ShareGptDataset ds = replay::load_sharegpt(c.dataset_path, o);
  if (ds.conversations.empty())
    throw usage_error(
        "--dataset-path",
        fmt::format("{}: no conversation with a (human, gpt) turn in the first {} records",
                    c.dataset_path, c.max_conversations));
  return std::make_unique<ShareGptSource>(std::move(ds));
}

}  // namespace

const ModeEntry kShareGptMode = {Mode::kShareGpt, "sharegpt", "dataset_stats", "dataset_path",
                                 load};

}  // namespace kv::engine::modes
