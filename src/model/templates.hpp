// Workload constants that both the engine and `mlpstorage kvcache datasize` need: user templates
// and QoS classes (docs/reference-behaviour.md#users-and-qos-classes), the phase rule and decode
// batch. Defined once here; `--config` YAML may override templates and QoS at run time.
#pragma once

#include <array>
#include <string>

namespace kv::model {

struct Range {
  double lo = 0;
  double hi = 0;
};

struct UserTemplate {
  std::string name;
  Range context_tokens;
  Range generation_tokens;
  Range think_time_s;
};

// chatbot 512–4096 / 50–200 / 0.1–0.5; coding 4096–25000 / 100–500 / 0.2–1.0;
// document 4096–16384 / 200–800 / 0.3–1.5.
inline std::array<UserTemplate, 3> default_user_templates() {
  return {UserTemplate{"chatbot", {512, 4096}, {50, 200}, {0.1, 0.5}},
          UserTemplate{"coding", {4096, 25000}, {100, 500}, {0.2, 1.0}},
          UserTemplate{"document", {4096, 16384}, {200, 800}, {0.3, 1.5}}};
}

struct QosClass {
  std::string name;
  int priority = 1;
  double target_p95_ms = 0;
  double target_p99_ms = 0;
  double target_p999_ms = 0;
  double target_p9999_ms = 0;
};

inline std::array<QosClass, 3> default_qos_classes() {
  return {QosClass{"interactive", 3, 50, 100, 150, 200},
          QosClass{"responsive", 2, 100, 200, 350, 500},
          QosClass{"batch", 1, 1000, 5000, 7500, 10000}};
}

inline constexpr double kInteractiveProbability = 0.15;
inline constexpr double kResponsiveThreshold = 0.50;
inline constexpr int kPrefillOnlyContextThreshold = 10000;  // context >= this → write-only request
inline constexpr int kDecodeBatchSize = 32;                 // decode = 1 + ceil(G/32) reads

}  // namespace kv::model
