#include "engine/workload/users.hpp"

#include <fmt/format.h>

#include "engine/workload/rng.hpp"

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

std::vector<UserProfile> generate_users(std::uint32_t count, std::uint64_t seed,
                                        const UserSettings& s) {
  std::vector<UserProfile> users;
  users.reserve(count);
  for (std::uint32_t i = 0; i < count; ++i) {
    Rng rng = Rng::derive(seed, Stream::kUsers, {i});
    UserProfile u;
    u.index = i;
    u.id = user_id(i);
    u.template_index = static_cast<int>(rng.uniform_int(0, 2));
    const auto& t = s.templates[static_cast<std::size_t>(u.template_index)];
    u.qos = draw_qos(rng.uniform01(), s);
    u.priority = s.qos[static_cast<std::size_t>(u.qos)].priority;
    u.context_length =
        static_cast<std::uint32_t>(rng.uniform_int(static_cast<std::int64_t>(t.context_tokens.lo),
                                                   static_cast<std::int64_t>(t.context_tokens.hi)));
    u.generation_length = static_cast<std::uint32_t>(
        rng.uniform_int(static_cast<std::int64_t>(t.generation_tokens.lo),
                        static_cast<std::int64_t>(t.generation_tokens.hi)));
    u.think_time_s = rng.uniform(t.think_time_s.lo, t.think_time_s.hi);
    users.push_back(std::move(u));
  }
  return users;
}

}  // namespace kv::workload
