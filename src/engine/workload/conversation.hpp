// Multi-turn conversations (docs/reference-behaviour.md#conversations, ids fixed). At most
// `max_conversations` live conversations, LRU by last access (evicting one drops only its metadata;
// its files stay, as in the reference). Conversation IDs come from per-user counters,
// `conv_<user_id>_<n>` (not the wall clock), so file names are reproducible for a seed. A turn's
// history is every EARLIER turn of its conversation (the reference also read later turns already
// generated). Thread-safe.
#pragma once

#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace kv::workload {

class ConversationManager {
 public:
  explicit ConversationManager(std::size_t max_conversations = 1000, std::uint32_t max_turns = 50);

  static std::string conversation_id(std::string_view user_id, std::uint64_t n);  // conv_<user>_<n>
  // "<conv_id>_turn_<turn>", appended to `out` (cleared first): no allocation once `out` has
  // capacity.
  static void turn_key(std::string& out, std::string_view conv_id, std::uint32_t turn);
  static std::string turn_key(std::string_view conv_id, std::uint32_t turn);

  // Registers a new conversation (evicting the LRU one when full).
  void start(const std::string& conv_id);
  // Adds a turn; returns its number (1-based), or nullopt if the conversation is unknown (evicted
  // or ended) or already has max_turns turns.
  std::optional<std::uint32_t> add_turn(const std::string& conv_id, std::uint64_t tokens);
  std::uint32_t turns(const std::string& conv_id) const;  // 0 if unknown
  bool contains(const std::string& conv_id) const;
  void end(const std::string& conv_id);

  std::size_t size() const;
  std::uint32_t max_turns() const { return max_turns_; }
  std::uint64_t started() const;
  std::uint64_t evicted() const;

 private:
  struct Conv {
    std::uint32_t turns = 0;
    std::uint64_t tokens = 0;
    std::list<std::string>::iterator lru;
  };
  void touch(Conv& c);

  std::size_t max_conversations_;
  std::uint32_t max_turns_;
  mutable std::mutex mu_;
  std::list<std::string> lru_;  // front = least recently used
  std::unordered_map<std::string, Conv> convs_;
  std::uint64_t started_ = 0, evicted_ = 0;
};

}  // namespace kv::workload
