#include "engine/workload/request_factory.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "engine/workload/rng.hpp"

namespace kv::workload {

RequestFactory::RequestFactory(std::vector<UserProfile> users, std::uint64_t seed,
                               FactorySettings settings, ConversationManager& conversations)
    : users_(std::move(users)),
      seed_(seed),
      s_(settings),
      conv_(conversations),
      state_(users_.size()) {}

std::string RequestFactory::prepop_key(std::uint64_t i) {
  return fmt::format("prepop_{}", i);
}

double RequestFactory::think_time_s(std::uint32_t u, std::uint64_t request_index) const {
  Rng rng = Rng::derive(seed_, Stream::kThink, {u, request_index});
  return users_[u].think_time_s * rng.uniform(0.8, 1.2);
}

Request RequestFactory::make(std::uint32_t u) {
  const UserProfile& user = users_[u];
  UserState& st = state_[u];
  const std::uint64_t r = st.next_request++;
  Rng rng = Rng::derive(seed_, Stream::kRequest, {u, r});

  Request q;
  q.user_index = u;
  q.request_index = r;
  q.priority = user.priority;
  q.qos = user.qos;
  const auto ctx = static_cast<std::int64_t>(user.context_length);
  const auto gen = static_cast<std::int64_t>(user.generation_length);
  q.context_tokens =
      static_cast<std::uint32_t>(rng.uniform_int(std::max<std::int64_t>(1, ctx / 4), ctx));
  q.generate_tokens =
      static_cast<std::uint32_t>(rng.uniform_int(std::max<std::int64_t>(1, gen / 4), gen));

  // Draw every random number unconditionally, in a fixed order, so a setting never shifts the
  // others.
  const double cont = rng.uniform01();
  const double detect = rng.uniform01();
  const auto prompt = static_cast<int>(rng.uniform_int(0, 2));
  const std::int64_t prepop =
      s_.prepopulated_keys > 0
          ? rng.uniform_int(0, static_cast<std::int64_t>(s_.prepopulated_keys) - 1)
          : -1;

  if (s_.multi_turn) {
    if (!st.conversation.empty() && cont >= s_.continue_probability) {
      conv_.end(st.conversation);
      st.conversation.clear();
    }
    if (!st.conversation.empty() && conv_.turns(st.conversation) >= conv_.max_turns()) {
      conv_.end(st.conversation);
      st.conversation.clear();
    }
    std::optional<std::uint32_t> turn;
    if (!st.conversation.empty()) turn = conv_.add_turn(st.conversation, q.context_tokens);
    if (!turn) {  // none yet, ended, or evicted from the manager: start a new one
      if (!st.conversation.empty()) conv_.end(st.conversation);
      st.conversation = ConversationManager::conversation_id(user.id, st.next_conversation++);
      conv_.start(st.conversation);
      turn = conv_.add_turn(st.conversation, q.context_tokens);
    }
    q.conversation_id = st.conversation;
    q.turn = turn.value_or(1);
    q.cache_key = ConversationManager::turn_key(q.conversation_id, q.turn);
  } else {
    q.turn = 1;
    q.cache_key = fmt::format("{}_req_{:06d}", user.id, r);
  }

  if (s_.prefix_caching && detect < s_.prefix_probability) q.prefix_prompt = prompt;
  q.decode_key_index = prepop;
  q.phase = q.context_tokens >= s_.write_only_threshold ? RequestPhase::kPrefill
                                                        : RequestPhase::kPrefillDecode;
  return q;
}

}  // namespace kv::workload
