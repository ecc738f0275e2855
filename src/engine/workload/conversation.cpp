#include "engine/workload/conversation.hpp"

#include <fmt/format.h>

namespace kv::workload {

ConversationManager::ConversationManager(std::size_t max_conversations, std::uint32_t max_turns)
    : max_conversations_(max_conversations == 0 ? 1 : max_conversations),
      max_turns_(max_turns == 0 ? 1 : max_turns) {}

std::string ConversationManager::conversation_id(std::string_view user_id, std::uint64_t n) {
  return fmt::format("conv_{}_{}", user_id, n);
}

void ConversationManager::turn_key(std::string& out, std::string_view conv_id, std::uint32_t turn) {
  out.clear();
  fmt::format_to(std::back_inserter(out), "{}_turn_{}", conv_id, turn);
}

std::string ConversationManager::turn_key(std::string_view conv_id, std::uint32_t turn) {
  std::string s;
  turn_key(s, conv_id, turn);
  return s;
}

void ConversationManager::touch(Conv& c) {
  lru_.splice(lru_.end(), lru_, c.lru);
}

void ConversationManager::start(const std::string& conv_id) {
  std::lock_guard lk(mu_);
  if (auto it = convs_.find(conv_id); it != convs_.end()) {
    touch(it->second);
    return;
  }
  while (convs_.size() >= max_conversations_ && !lru_.empty()) {
    convs_.erase(lru_.front());
    lru_.pop_front();
    ++evicted_;
  }
  lru_.push_back(conv_id);
  Conv c;
  c.lru = std::prev(lru_.end());
  convs_.emplace(conv_id, c);
  ++started_;
}

std::optional<std::uint32_t> ConversationManager::add_turn(const std::string& conv_id,
                                                           std::uint64_t tokens) {
  std::lock_guard lk(mu_);
  auto it = convs_.find(conv_id);
  if (it == convs_.end() || it->second.turns >= max_turns_) return std::nullopt;
  touch(it->second);
  it->second.tokens += tokens;
  return ++it->second.turns;
}

std::uint32_t ConversationManager::turns(const std::string& conv_id) const {
  std::lock_guard lk(mu_);
  auto it = convs_.find(conv_id);
  return it == convs_.end() ? 0 : it->second.turns;
}

bool ConversationManager::contains(const std::string& conv_id) const {
  std::lock_guard lk(mu_);
  return convs_.count(conv_id) != 0;
}

void ConversationManager::end(const std::string& conv_id) {
  std::lock_guard lk(mu_);
  auto it = convs_.find(conv_id);
  if (it == convs_.end()) return;
  lru_.erase(it->second.lru);
  convs_.erase(it);
}

std::size_t ConversationManager::size() const {
  std::lock_guard lk(mu_);
  return convs_.size();
}
std::uint64_t ConversationManager::started() const {
  std::lock_guard lk(mu_);
  return started_;
}
std::uint64_t ConversationManager::evicted() const {
  std::lock_guard lk(mu_);
  return evicted_;
}

}  // namespace kv::workload
