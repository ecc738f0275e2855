#include "engine/workload/prefix.hpp"

#include <fmt/format.h>
#include <xxhash.h>

namespace kv::workload {

namespace {
std::uint32_t word_count(const std::string& s) {
  std::uint32_t n = 0;
  bool in_word = false;
  for (char c : s) {
    const bool space = c == ' ' || c == '\t' || c == '\n';
    if (!space && !in_word) ++n;
    in_word = !space;
  }
  return n;
}
}  // namespace

std::string PrefixCache::key_for(const std::string& text, std::uint32_t tokens) {
  const std::string material = text.substr(0, 500) + "_" + std::to_string(tokens);
  return fmt::format("kv_system_{:016x}", XXH3_64bits(material.data(), material.size()));
}

PrefixCache::PrefixCache() {
  const char* texts[kNumPrompts] = {"You are a helpful assistant.",
                                    "You are an expert programmer. Answer with correct code.",
                                    "Summarize the following document in detail."};
  for (int i = 0; i < kNumPrompts; ++i) {
    auto& p = prompts_[static_cast<std::size_t>(i)];
    p.text = texts[i];
    p.tokens = word_count(p.text);
    p.key = key_for(p.text, p.tokens);
  }
}

void PrefixCache::count_detected(std::uint64_t bytes_per_token, int i) {
  hits_.fetch_add(1, std::memory_order_relaxed);
  bytes_saved_.fetch_add(bytes_per_token * prompt(i).tokens, std::memory_order_relaxed);
}

void PrefixCache::count_read(bool hit) {
  reads_.fetch_add(1, std::memory_order_relaxed);
  if (!hit) read_misses_.fetch_add(1, std::memory_order_relaxed);
}

PrefixStats PrefixCache::stats() const {
  PrefixStats s;
  s.prefix_hits = hits_.load();
  s.prefix_misses = misses_.load();
  s.system_prompt_reuse = s.prefix_hits;
  s.bytes_saved = bytes_saved_.load();
  s.stores = stores_.load();
  s.reads = reads_.load();
  s.read_misses = read_misses_.load();
  return s;
}

void PrefixCache::reset() {
  hits_ = 0;
  misses_ = 0;
  bytes_saved_ = 0;
  stores_ = 0;
  reads_ = 0;
  read_misses_ = 0;
}

}  // namespace kv::workload
