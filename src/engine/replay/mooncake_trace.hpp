// Mooncake (FAST'25) trace reader: JSON lines
//   {"timestamp": <ms from trace start>, "input_length": <tokens>, "output_length": <tokens>,
//    "hash_ids": [<id>, ...]}   -- one id per 512-token block of the input; equal ids across
//                                   requests are the same prefix block (KV reuse).
//   * Spec: a file, a directory (all *.jsonl, sorted) or a glob; see resolve_trace_files().
//   * Streams lines; a bad line (invalid JSON, missing/negative/non-integer field, hash id that is
//     not a non-negative integer) is skipped and counted with the first samples kept, or, in strict
//     mode, throws kv::Error(kInvalidArguments) "<flag>: <file>:<line>: <reason>". Blank lines are
//     ignored.
//   * Cycles and pacing as BurstTraceReader: delay_s = max(0, gap_ms) / 1000 / speedup (0 = none).
//   * Mapping (for the engine): block i of a request is the object mooncake_block_key(hash_ids[i])
//     holding mooncake_block_tokens(rec, i) tokens; an id seen before is a read, a new id a write.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/replay/trace_files.hpp"

namespace kv::replay {

inline constexpr std::uint32_t kMooncakeBlockTokens = 512;

struct MooncakeTraceOptions {
  double speedup = 1.0;             // 0 = no delays; < 0 is a usage error
  std::uint32_t replay_cycles = 1;  // 0 = loop forever
  bool strict = false;
  std::size_t max_bad_samples = 10;
  std::string flag = "--mooncake-trace";
};

struct MooncakeRecord {
  double timestamp_ms = 0;
  std::uint64_t input_length = 0;
  std::uint64_t output_length = 0;
  std::vector<std::uint64_t> hash_ids;  // reused between next() calls
  std::uint64_t index = 0;              // 0-based over all valid records returned
  std::uint32_t cycle = 0;
  double delay_s = 0;
  std::size_t file_index = 0;
  std::uint64_t line = 0;
};

class MooncakeTraceReader {
 public:
  // Throws kInvalidArguments naming the flag, file and line when no record is usable.
  MooncakeTraceReader(const std::string& spec, MooncakeTraceOptions opts = {});
  bool next(MooncakeRecord& out);

  const std::vector<std::filesystem::path>& files() const { return cursor_.files(); }
  const TraceReadStats& stats() const { return stats_; }
  // Records whose hash_ids count differs from ceil(input_length / 512) (accepted, first pass only).
  std::uint64_t block_count_mismatches() const { return mismatches_; }

 private:
  bool parse(const std::string& line, MooncakeRecord& out, std::string& reason);
  void bad_line(const std::string& reason);

  MooncakeTraceOptions opts_;
  LineCursor cursor_;
  TraceReadStats stats_;
  std::string line_;
  std::uint32_t cycle_ = 0;
  std::uint64_t valid_in_pass_ = 0;
  std::uint64_t mismatches_ = 0;
  bool have_prev_ = false;
  double prev_ts_ = 0;
  bool done_ = false;
};

// "mc_<hash_id>"
std::string mooncake_block_key(std::uint64_t hash_id);
// Tokens of block i: 512, except the last block, which holds the rest of input_length
// (input_length - 512 * (n - 1), at least 1). If the trace has more ids than input_length needs,
// the extra blocks count 1 token each; fewer ids than needed -> every block is a full 512.
std::uint64_t mooncake_block_tokens(const MooncakeRecord& rec, std::size_t block,
                                    std::uint32_t block_tokens = kMooncakeBlockTokens);

}  // namespace kv::replay
