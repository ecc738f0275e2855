// ShareGPT dataset loader (docs/workload-modes.md, `--dataset-path`, `--max-conversations`).
//   Input: a JSON array of {"id": ..., "conversations": [{"from": "human"|"gpt", "value": text},
//   ...]}.
//   * Only the first `max_conversations` records are read (the rest of the file is never parsed).
//   * Messages are taken as consecutive pairs (0,1), (2,3), ...; a pair whose roles are not exactly
//     (human, gpt) is skipped and counted. turn_number = pair index + 1 (so a skipped pair leaves a
//     gap, as in the reference). A trailing unpaired message is ignored.
//   * Tokens = max(1, code points / chars_per_token) (no tokenizer dependency), capped at
//     max_context_tokens / max_generation_tokens. context_tokens is the human message alone.
//   * conversation id = the record's "id" (a number is converted to text) or "conv_<index>"; ids
//     become file names, so one that is not plain ([A-Za-z0-9_.-], not starting with '.', at most
//     kMaxPlainIdBytes) is replaced by "id_<16 hex>" (FNV-1a 64 of the raw id).
//   * Records with no valid turn are dropped (counted in stats.empty_conversations).
//   Errors: missing file -> kv::Error(kFileNotFound); malformed JSON, a record that is not an
//   object, "conversations" not an array, a message that is not an object or whose "value" is not a
//   string
//   -> kv::Error(kInvalidArguments) "<flag>: <file>:<line>: record <i>: <what>".
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "engine/replay/token_stats.hpp"

namespace kv::replay {

struct ShareGptOptions {
  std::size_t max_conversations = 500;       // records read from the start of the file
  std::uint32_t max_context_tokens = 16384;  // reference's hard-coded caps (config: sharegpt.*)
  std::uint32_t max_generation_tokens = 2048;
  std::uint32_t chars_per_token = 4;
  std::string flag = "--dataset-path";  // named in error messages
};

struct ShareGptTurn {
  std::uint32_t turn_number = 0;  // pair index + 1
  std::uint32_t context_tokens = 0;
  std::uint32_t generation_tokens = 0;
};

struct ShareGptConversation {
  std::string id;
  std::vector<ShareGptTurn> turns;  // in conversation order, at least one
};

struct ShareGptStats {
  std::uint64_t records_read = 0;         // records parsed (<= max_conversations)
  std::uint64_t conversations = 0;        // kept (with >= 1 turn)
  std::uint64_t empty_conversations = 0;  // dropped: no valid (human, gpt) pair
  std::uint64_t turns = 0;
  std::uint64_t skipped_pairs = 0;   // pairs whose roles were not (human, gpt)
  std::uint64_t capped_context = 0;  // turns whose context hit max_context_tokens
  std::uint64_t capped_generation = 0;
  TokenStats context;  // over all turns
  TokenStats generation;
};

struct ShareGptDataset {
  std::vector<ShareGptConversation> conversations;
  ShareGptStats stats;
};

ShareGptDataset load_sharegpt(const std::filesystem::path& file, const ShareGptOptions& opts = {});

// max(1, code points / chars_per_token), then capped at `cap` (cap 0 = no cap). Counts UTF-8 code
// points like Python's len(str).
std::uint32_t estimate_tokens(std::string_view text, std::uint32_t chars_per_token,
                              std::uint32_t cap);

inline constexpr std::size_t kMaxPlainIdBytes = 100;
// The id as it is used in keys and file names (see above).
std::string safe_conversation_id(std::string_view raw);

// Key of a turn's KV object: "<conversation_id>_turn_<n>".
std::string sharegpt_turn_key(const std::string& conversation_id, std::uint32_t turn_number);

nlohmann::ordered_json to_json(const ShareGptStats& s);

}  // namespace kv::replay
