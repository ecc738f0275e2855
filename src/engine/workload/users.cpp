#include "engine/workload/users.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <span>

#include "pyrandom/py_random.hpp"

namespace kv::workload {

const char* qos_name(QosLevel q) {
  switch (q) {
    case QosLevel::kInteractive: return "interactive";
    case QosLevel::kResponsive: return "responsive";
    case QosLevel::kBatch: return "batch";
  }
  return "batch";
}

std::string user_id(std::uint32_t index) {
  return fmt::format("user_{:04d}", index);
}

QosLevel draw_qos(double r, const UserSettings& s) {
  if (r < s.interactive_probability) return QosLevel::kInteractive;
  if (r < s.responsive_threshold) return QosLevel::kResponsive;
  return QosLevel::kBatch;
}

std::vector<UserProfile> generate_users(std::uint32_t count, std::int64_t seed,
                                        const UserSettings& s) {
  // One generator for the whole population, drawn in the reference's order (see users.hpp).
  pyrandom::PyRandom rng(seed);
  const std::array<int, 3> template_indices{0, 1, 2};
  const auto randint = [&rng](const model::Range& r) {
    return static_cast<std::uint32_t>(
        rng.randint(static_cast<std::int64_t>(r.lo), static_cast<std::int64_t>(r.hi)));
  };
  std::vector<UserProfile> users;
  users.reserve(count);
  for (std::uint32_t i = 0; i < count; ++i) {
    UserProfile u;
    u.index = i;
    u.id = user_id(i);
    u.template_index = rng.choice(std::span<const int>(template_indices));
    const auto& t = s.templates[static_cast<std::size_t>(u.template_index)];
    u.qos = draw_qos(rng.random(), s);
    u.priority = s.qos[static_cast<std::size_t>(u.qos)].priority;
    u.context_length = randint(t.context_tokens);
    u.generation_length = randint(t.generation_tokens);
    u.think_time_s = rng.uniform(t.think_time_s.lo, t.think_time_s.hi);
    users.push_back(std::move(u));
  }
  return users;
}

nlohmann::ordered_json users_json(const std::vector<UserProfile>& users, const UserSettings& s) {
  auto out = nlohmann::ordered_json::array();
  for (const auto& u : users) {
    out.push_back({{"user_id", u.id},
                   {"user_type", s.templates[static_cast<std::size_t>(u.template_index)].name},
                   {"context_length", u.context_length},
                   {"generation_length", u.generation_length},
                   {"think_time", u.think_time_s},
                   {"priority", u.priority},
                   {"qos_level", qos_name(u.qos)}});
  }
  return out;
}

}  // namespace kv::workload
