// One inference request of the synthetic workload (docs/reference-behaviour.md#request-pipeline).
// Built by the RequestFactory at enqueue time with every random choice already made (so processing
// is deterministic given the cache state), processed by one worker (processor.hpp).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace kv::workload {

enum class QosLevel : int { kInteractive = 0, kResponsive = 1, kBatch = 2 };
inline constexpr int kNumQos = 3;
const char* qos_name(QosLevel q);  // "interactive", "responsive", "batch"

// kPrefill = write-only (context >= 10,000 tokens), kPrefillDecode = write then decode reads,
// kDecode = reads only (RAG requests; workload-modes issue).
enum class RequestPhase : int { kPrefill, kDecode, kPrefillDecode };

struct Request {
  std::uint32_t user_index = 0;
  std::uint64_t request_index = 0;  // per-user counter (0-based)
  std::uint64_t seq = 0;            // global enqueue sequence number (set by the queue)
  int priority = 1;                 // 3 interactive, 2 responsive, 1 batch
  QosLevel qos = QosLevel::kBatch;
  std::uint32_t context_tokens = 0;
  std::uint32_t generate_tokens = 0;
  RequestPhase phase = RequestPhase::kPrefillDecode;
  std::string cache_key;            // "<conv_id>_turn_<n>" or "<user_id>_req_%06d"
  std::string conversation_id;      // empty without multi-turn
  std::uint32_t turn = 1;
  int prefix_prompt = -1;           // index of the detected system prompt, -1 = none
  std::int64_t decode_key_index = -1;  // --decode-only: index of the pre-populated key to read
  std::int64_t submit_ns = 0;       // kv::mono_ns() at enqueue
  // Workload modes (engine/modes): the document of a RAG request (-1 = not a RAG request), and
  // opaque per-request data of a replay mode (a Mooncake record's hash ids), null otherwise.
  std::int32_t rag_doc = -1;
  std::shared_ptr<const void> mode_data;
};

}  // namespace kv::workload
