// The workload modes as a registry (docs/workload-modes.md): one entry per mode, each in its own
// file (synthetic_mode.cpp, sharegpt_mode.cpp, burstgpt_mode.cpp, mooncake_mode.cpp). An entry
// says when the flags select it, loads and checks its input before any I/O (exit 2 usage /
// malformed, exit 3 missing file, naming the flag and the path or line), builds its producer, and
// names the results key of its producer's statistics. Adding a mode: one file with its entry, one
// line in registry.cpp, and its flag rules (selection precedence, refused combinations) in
// config/mode_rules.cpp, next to the other flag validation.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "engine/config/config.hpp"
#include "engine/config/mode_rules.hpp"
#include "engine/config/yaml_config.hpp"
#include "engine/modes/producers.hpp"
#include "engine/workload/conversation.hpp"
#include "engine/workload/processor.hpp"
#include "engine/workload/request_factory.hpp"
#include "engine/workload/request_queue.hpp"
#include "engine/workload/stop.hpp"

namespace kv::engine::modes {

const char* mode_name(Mode m);

// What a producer is built from.
struct ProducerInputs {
  const EngineConfig& config;
  const YamlSettings& yaml;
  workload::RequestFactory& factory;
  workload::RequestQueue& queue;
  workload::StopFlag& stop;
  workload::ConversationManager& conversations;
  ReplayDraws draws;            // per-request draws of the replays
  FollowUp follow_up;           // RAG follow-ups (may be empty)
  std::uint32_t user_pool = 1;  // users the autoscaler may start (>= --num-users)
  const Clock& clock;
};

// A selected mode with its input loaded.
class ModeSource {
 public:
  virtual ~ModeSource() = default;
  virtual std::unique_ptr<Producer> make_producer(ProducerInputs in) = 0;
  // Whether the mode processes its requests itself (Mooncake block requests); then
  // start_processing() is called once the request settings are known, and process() for each
  // request (true: `o` is filled; false: the standard sequence runs).
  virtual bool processes_requests() const { return false; }
  virtual void start_processing(const workload::ProcessSettings& /*ps*/,
                                workload::StopFlag& /*stop*/) {}
  virtual bool process(const workload::Request& /*req*/, workload::KvStore& /*store*/,
                       workload::RequestOutcome& /*o*/, std::string& /*scratch*/) {
    return false;
  }
  // Adds the mode's own results (besides the producer's statistics), after the window.
  virtual void add_results(nlohmann::ordered_json& /*mode_results*/) const {}
};

struct ModeEntry {
  Mode mode;
  const char* name;       // "sharegpt"; results workload_mode.mode
  const char* stats_key;  // results key of the producer's stats(), or nullptr
  const char* input_key;  // workload_mode key naming the input ("dataset_path"), or nullptr
  std::unique_ptr<ModeSource> (*load)(const EngineConfig& c, const YamlSettings& y);
};

// Every mode, one entry each.
const std::vector<const ModeEntry*>& mode_registry();
// The entry of the mode the flags select (config/mode_rules.hpp).
const ModeEntry& select_mode(const EngineConfig& c);

// The entries (one per mode file).
extern const ModeEntry kSyntheticMode;
extern const ModeEntry kShareGptMode;
extern const ModeEntry kBurstGptMode;
extern const ModeEntry kMooncakeMode;

}  // namespace kv::engine::modes
