// The statuses of a run as enums, each with one text table (the texts are the results JSON's
// values; to_text/from_text from engine_cli/choices.hpp work on them):
//   StopReason   results "stop_reason": why the measured window ended;
//   RankStatus   MPI runs, results "ranks[].status": what rank 0 knows of each rank;
//   HealthStatus results "storage_health.overall_status": the verdict of the health rules.
#pragma once

#include <span>

#include "engine_cli/choices.hpp"

namespace kv::engine {

enum class StopReason { kDuration, kMaxRequests, kSignal, kReplayComplete, kAutoscalerCapacity };
enum class RankStatus { kOk, kFailed, kCancelled };
enum class HealthStatus { kPass, kFail };

using engine_cli::Choice;
using engine_cli::from_text;
using engine_cli::to_text;

inline constexpr Choice<StopReason> kStopReasons[] = {
    {.text = "duration", .value = StopReason::kDuration},
    {.text = "max_requests", .value = StopReason::kMaxRequests},
    {.text = "signal", .value = StopReason::kSignal},
    {.text = "replay_complete", .value = StopReason::kReplayComplete},
    {.text = "autoscaler_capacity", .value = StopReason::kAutoscalerCapacity},
};
inline constexpr Choice<RankStatus> kRankStatuses[] = {
    {.text = "ok", .value = RankStatus::kOk},
    {.text = "failed", .value = RankStatus::kFailed},
    {.text = "cancelled", .value = RankStatus::kCancelled},
};
inline constexpr Choice<HealthStatus> kHealthStatuses[] = {
    {.text = "PASS", .value = HealthStatus::kPass},
    {.text = "FAIL", .value = HealthStatus::kFail},
};

constexpr std::span<const Choice<StopReason>> choices_of(StopReason) {
  return kStopReasons;
}
constexpr std::span<const Choice<RankStatus>> choices_of(RankStatus) {
  return kRankStatuses;
}
constexpr std::span<const Choice<HealthStatus>> choices_of(HealthStatus) {
  return kHealthStatuses;
}

}  // namespace kv::engine
