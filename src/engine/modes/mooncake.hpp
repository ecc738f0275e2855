// Processing of Mooncake trace requests (new; docs/workload-modes.md "Mooncake traces"). A request
// carries its trace record (Request::mode_data). Its I/O:
//   1. for each block i of the input, the 512-token object `mc_<hash_id>`
//      (replay::mooncake_block_tokens tokens): look it up; a hit is a real read (the shared prefix
//      block), a miss is a PREFILL write of the block (a block another request wrote meanwhile
//      counts as a write race, no I/O). Blocks are read/written in order; with --decode-only a miss
//      is not written;
//   2. decode, unless --prefill-only: one read of the last block (--decode-only: a random
//      pre-populated key); on a hit ceil(output_length / decode.batch_size) more reads, on a miss a
//      write of the block (not with --decode-only);
//   3. generation sleep output_length × per-token time.
// No prefix or multi-turn steps (the trace's hash ids are the prefix reuse). Counters are exact and
// thread-safe; `stats()` goes into results.mooncake_stats.
#pragma once

#include <atomic>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "engine/workload/processor.hpp"
#include "engine/workload/stop.hpp"

namespace kv::engine::modes {

class MooncakeProcessor {
 public:
  MooncakeProcessor(const workload::ProcessSettings& settings, workload::StopFlag& stop)
      : s_(settings), stop_(stop) {}
  // False when `req` is not a Mooncake request (no record attached).
  bool process(const workload::Request& req, workload::KvStore& store, workload::RequestOutcome& o,
               std::string& scratch);
  nlohmann::ordered_json stats() const;

 private:
  workload::ProcessSettings s_;
  workload::StopFlag& stop_;
  std::atomic<std::uint64_t> requests_{0}, blocks_{0}, block_hits_{0}, block_misses_{0},
      block_writes_{0}, write_races_{0}, block_bytes_read_{0};
};

}  // namespace kv::engine::modes
