// Builds each user's next request (docs/reference-behaviour.md#users-and-qos-classes,
// #conversations, #per-request-io): context = randint(max(1,
// C/4), C), generation = randint(max(1, G/4), G) from the user's profile; conversation continue
// (p = 1 − conversation.end_conversation_probability, 0.8) / end / start, the 50-turn limit; system
// prompt detection; the phase rule (context >= 10,000 → write-only). Every random choice of request
// r of user u comes from Rng::derive(seed, kRequest, {u, r}) and the think time before it from
// Rng::derive(seed, kThink, {u, r}): the request sequence of a user is a pure function of the seed.
// make() for different users may run concurrently; make() for one user must not (one producer
// each).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/workload/conversation.hpp"
#include "engine/workload/request.hpp"
#include "engine/workload/users.hpp"

namespace kv::workload {

struct FactorySettings {
  bool multi_turn = true;
  bool prefix_caching = true;
  double prefix_probability = 0.2;             // prefix_cache.system_prompt_hit_probability
  double continue_probability = 0.8;           // 1 − conversation.end_conversation_probability
  std::uint32_t write_only_threshold = 10000;  // context >= this → phase kPrefill
  std::uint64_t prepopulated_keys = 0;         // --decode-only: keys prepop_0 .. prepop_{n-1}
};

class RequestFactory {
 public:
  RequestFactory(std::vector<UserProfile> users, std::uint64_t seed, FactorySettings settings,
                 ConversationManager& conversations);

  static std::string prepop_key(std::uint64_t i);  // "prepop_<i>"

  const std::vector<UserProfile>& users() const { return users_; }
  // Think time (seconds) before request `request_index` of user `u`: think_time × U(0.8, 1.2).
  double think_time_s(std::uint32_t u, std::uint64_t request_index) const;
  // The user's next request (advances its counter). submit_ns is left 0 for the caller to stamp.
  Request make(std::uint32_t u);
  std::uint64_t requests_made(std::uint32_t u) const { return state_[u].next_request; }

 private:
  struct UserState {
    std::uint64_t next_request = 0;
    std::uint64_t next_conversation = 0;
    std::string conversation;  // empty = none
  };
  std::vector<UserProfile> users_;
  std::uint64_t seed_;
  FactorySettings s_;
  ConversationManager& conv_;
  std::vector<UserState> state_;
};

}  // namespace kv::workload
