#include "engine/modes/registry.hpp"

namespace kv::engine::modes {

const std::vector<const ModeEntry*>& mode_registry() {
  static const std::vector<const ModeEntry*> r = {&kMooncakeMode, &kShareGptMode, &kBurstGptMode,
                                                  &kSyntheticMode};
  return r;
}

const ModeEntry& select_mode(const EngineConfig& c) {
  const Mode m = selected_mode(c);
  for (const ModeEntry* e : mode_registry())
    if (e->mode == m) return *e;
  return kSyntheticMode;
}

const char* mode_name(Mode m) {
  for (const ModeEntry* e : mode_registry())
    if (e->mode == m) return e->name;
  return "?";
}

}  // namespace kv::engine::modes
