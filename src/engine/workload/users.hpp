// Synthetic users: for each user in order, a template chosen uniformly from the three
// (config-overridable) templates, a QoS class from r = U(0,1) (r < 0.15 interactive, r < 0.50
// responsive, else batch), then context length, generation length (integers, inclusive ranges) and
// think time drawn from the template's ranges; id "user_%04d".
// The draws come from CPython's `random` seeded with the seed (pyrandom/py_random.hpp) in the
// reference's order, so a seed gives exactly the reference's population (docs/metrics.md, "Same
// seed, same users"); the first N users of a larger population are the population of N users.
#pragma once

#include <array>
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
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
// The population of `count` users for `seed` (as Python's random.seed(seed): seed and -seed give
// the same users). Integer ranges are truncated to integers.
std::vector<UserProfile> generate_users(std::uint32_t count, std::int64_t seed,
                                        const UserSettings& s);

// The population as a JSON array in the reference's field names: user_id, user_type,
// context_length, generation_length, think_time, priority, qos_level (`kv-cache --list-users`,
// results `workload.users`).
nlohmann::ordered_json users_json(const std::vector<UserProfile>& users, const UserSettings& s);

}  // namespace kv::workload
