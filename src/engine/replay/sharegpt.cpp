#include "engine/replay/sharegpt.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "core/error.hpp"
#include "engine/replay/json_stream.hpp"

namespace kv::replay {

std::uint32_t estimate_tokens(std::string_view text, std::uint32_t chars_per_token,
                              std::uint32_t cap) {
  std::uint64_t code_points = 0;
  for (unsigned char c : text) code_points += (c & 0xC0) != 0x80;  // not a continuation byte
  const std::uint64_t per = chars_per_token == 0 ? 1 : chars_per_token;
  std::uint64_t t = std::max<std::uint64_t>(1, code_points / per);
  if (cap > 0) t = std::min<std::uint64_t>(t, cap);
  return static_cast<std::uint32_t>(t);
}

std::string safe_conversation_id(std::string_view raw) {
  const bool safe = !raw.empty() && raw.size() <= kMaxPlainIdBytes && raw[0] != '.' &&
                    std::all_of(raw.begin(), raw.end(), [](char c) {
                      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                             (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
                    });
  if (safe) return std::string(raw);
  std::uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a 64
  for (unsigned char c : raw) h = (h ^ c) * 0x100000001b3ULL;
  return fmt::format("id_{:016x}", h);
}

std::string sharegpt_turn_key(const std::string& conversation_id, std::uint32_t turn_number) {
  return conversation_id + "_turn_" + std::to_string(turn_number);
}

namespace {
const std::string* message_role(const JsonArrayStream& s, const nlohmann::json& msg,
                                std::size_t m) {
  if (!msg.is_object()) s.fail("conversations[" + std::to_string(m) + "] is not an object");
  auto it = msg.find("from");
  if (it == msg.end() || !it->is_string()) return nullptr;  // unknown role: the pair is skipped
  return it->get_ptr<const std::string*>();
}

const std::string& message_text(const JsonArrayStream& s, const nlohmann::json& msg,
                                std::size_t m) {
  auto it = msg.find("value");
  if (it == msg.end() || !it->is_string()) {
    s.fail("conversations[" + std::to_string(m) + "].value must be a string");
  }
  return *it->get_ptr<const std::string*>();
}
}  // namespace

ShareGptDataset load_sharegpt(const std::filesystem::path& file, const ShareGptOptions& opts) {
  ShareGptDataset ds;
  auto& st = ds.stats;
  std::vector<double> ctx_values;
  std::vector<double> gen_values;
  JsonArrayStream stream(file, opts.flag);
  nlohmann::json rec;
  while (st.records_read < opts.max_conversations && stream.next(rec)) {
    ++st.records_read;
    ShareGptConversation conv;
    if (auto it = rec.find("id"); it != rec.end() && !it->is_null()) {
      conv.id = safe_conversation_id(it->is_string() ? it->get<std::string>() : it->dump());
    }
    if (conv.id.empty()) conv.id = "conv_" + std::to_string(stream.index());
    auto msgs = rec.find("conversations");
    if (msgs != rec.end() && !msgs->is_null()) {
      if (!msgs->is_array()) stream.fail("'conversations' must be an array");
      for (std::size_t i = 0; i + 1 < msgs->size(); i += 2) {
        const auto& h = (*msgs)[i];
        const auto& g = (*msgs)[i + 1];
        const std::string* hr = message_role(stream, h, i);
        const std::string* gr = message_role(stream, g, i + 1);
        if (hr == nullptr || gr == nullptr || *hr != "human" || *gr != "gpt") {
          ++st.skipped_pairs;
          continue;
        }
        ShareGptTurn t;
        t.turn_number = static_cast<std::uint32_t>(i / 2 + 1);
        t.context_tokens = estimate_tokens(message_text(stream, h, i), opts.chars_per_token,
                                           opts.max_context_tokens);
        t.generation_tokens = estimate_tokens(message_text(stream, g, i + 1), opts.chars_per_token,
                                              opts.max_generation_tokens);
        st.capped_context +=
            opts.max_context_tokens > 0 && t.context_tokens == opts.max_context_tokens;
        st.capped_generation +=
            opts.max_generation_tokens > 0 && t.generation_tokens == opts.max_generation_tokens;
        ctx_values.push_back(t.context_tokens);
        gen_values.push_back(t.generation_tokens);
        conv.turns.push_back(t);
      }
    }
    if (conv.turns.empty()) {
      ++st.empty_conversations;
      continue;
    }
    st.turns += conv.turns.size();
    ds.conversations.push_back(std::move(conv));
  }
  st.conversations = ds.conversations.size();
  st.context = summarize(std::move(ctx_values));
  st.generation = summarize(std::move(gen_values));
  return ds;
}

nlohmann::ordered_json to_json(const ShareGptStats& s) {
  nlohmann::ordered_json j;
  j["records_read"] = s.records_read;
  j["conversations"] = s.conversations;
  j["empty_conversations"] = s.empty_conversations;
  j["turns"] = s.turns;
  j["skipped_pairs"] = s.skipped_pairs;
  j["capped_context"] = s.capped_context;
  j["capped_generation"] = s.capped_generation;
  j["context_tokens"] = to_json(s.context);
  j["generation_tokens"] = to_json(s.generation);
  return j;
}

}  // namespace kv::replay
