// System-prompt prefix caching (docs/reference-behaviour.md#prefix-caching, fixed): with
// probability p (prefix_cache.system_prompt_hit_probability, 0.2) a request carries one of three
// fixed system prompts (5, 9 and 6 tokens, chosen uniformly). The prompt's KV entry
// `kv_system_<hash16>` is REALLY written once (the first request that needs it, or again after it
// was evicted) and then read by every request that carries it. The reference only ever looked the
// key up, so it always missed. Stats keep the reference's meaning: prefix_hits = requests with a
// detected prompt, prefix_misses = requests without one; `stores` (ours) counts the writes of
// prompt entries.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>

namespace kv::workload {

struct SystemPrompt {
  std::string text;
  std::uint32_t tokens = 0;  // word count, used as the token count (as the reference)
  std::string key;           // kv_system_<16 hex digits of xxh3(text[:500] + "_" + tokens)>
};

struct PrefixStats {
  std::uint64_t prefix_hits = 0, prefix_misses = 0, system_prompt_reuse = 0,
                common_phrase_reuse = 0;
  std::uint64_t bytes_saved = 0, stores = 0, reads = 0, read_misses = 0;
};

class PrefixCache {
 public:
  static constexpr int kNumPrompts = 3;
  PrefixCache();
  static std::string key_for(const std::string& text, std::uint32_t tokens);
  const SystemPrompt& prompt(int i) const { return prompts_[static_cast<std::size_t>(i)]; }
  // Held while checking for and writing a prompt's entry, so it is written once.
  std::mutex& store_mutex(int i) { return store_mu_[static_cast<std::size_t>(i)]; }

  void count_detected(std::uint64_t bytes_per_token, int i);
  void count_not_detected() { misses_.fetch_add(1, std::memory_order_relaxed); }
  void count_store() { stores_.fetch_add(1, std::memory_order_relaxed); }
  void count_read(bool hit);
  PrefixStats stats() const;
  void reset();

 private:
  std::array<SystemPrompt, kNumPrompts> prompts_;
  std::array<std::mutex, kNumPrompts> store_mu_;
  std::atomic<std::uint64_t> hits_{0}, misses_{0}, bytes_saved_{0}, stores_{0}, reads_{0},
      read_misses_{0};
};

}  // namespace kv::workload
