// Synthetic users (kv-cache-engine.md §5.2, §5.8): a template chosen uniformly from the three
// (config-overridable) templates, a QoS class from r = U(0,1) (r < 0.15 interactive, r < 0.50
// responsive, else batch), and per-user context / generation lengths and think time drawn from the
// template ranges. Deterministic in (seed, user index).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/workload/request.hpp"
#include "model/templates.hpp"

namespace kv::workload {

struct UserProfile {
  std::uint32_t index = 0;
  std::string id;          // "user_%04d"
  int template_index = 0;  // into the template array
  QosLevel qos = QosLevel::kBatch;
  int priority = 1;
  std::uint32_t context_length = 0;
  std::uint32_t generation_length = 0;
  double think_time_s = 0;
};

struct UserSettings {
  std::array<model::UserTemplate, 3> templates = model::default_user_templates();
  std::array<model::QosClass, 3> qos =
      model::default_qos_classes();  // interactive, responsive, batch
  double interactive_probability = model::kInteractiveProbability;
  double responsive_threshold = model::kResponsiveThreshold;
};

std::string user_id(std::uint32_t index);  // "user_0007"
QosLevel draw_qos(double r, const UserSettings& s);
std::vector<UserProfile> generate_users(std::uint32_t count, std::uint64_t seed,
                                        const UserSettings& s);

}  // namespace kv::workload
