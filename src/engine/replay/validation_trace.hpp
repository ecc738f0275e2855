// Validation trace (docs/workload-modes.md, `--validation-trace`).
//   Input: a JSON array of request records with the fields timestamp, request_id, user_id,
//   context_tokens, generation_tokens, phase, cache_hit, cache_tier, read_bytes, write_bytes,
//   read_latency_ms, write_latency_ms, model_name, conversation_id?, turn_number?, prefix_cached.
//   Only the fields used by the statistics are type-checked (cache_hit: bool or 0/1; the numeric
//   fields: numbers); an absent field counts as 0/false. Missing file -> kFileNotFound; malformed
//   JSON or a wrong type -> kv::Error(kInvalidArguments) "<flag>: <file>:<line>: record <i>: ...".
//   An empty array is an error too (nothing to compare against).
//   Comparison: only the cache hit rate, error% = |bench - trace| / trace x 100 (trace rate 0:
//   0 % if the bench is 0 too, else 100 %); passed = average error <= tolerance (5 %).
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

namespace kv::replay {

struct ValidationTraceStats {
  bool synthetic = false;  // true for the built-in defaults (no file given)
  std::uint64_t records = 0;
  std::uint64_t cache_hits = 0;
  double cache_hit_rate = 0;
  std::uint64_t total_read_bytes = 0;
  std::uint64_t total_write_bytes = 0;
  double read_write_ratio = 0;  // read bytes / write bytes (0 when nothing was written)
  double mean_context_tokens = 0;
  double mean_generation_tokens = 0;
  double mean_read_latency_ms = 0;
  double mean_write_latency_ms = 0;
};

ValidationTraceStats load_validation_trace(const std::filesystem::path& file,
                                           const std::string& flag = "--validation-trace");
// The reference's built-in stats used when no trace is given: hit rate 0.65, R/W 10, mean context
// 1024, mean generation 200.
ValidationTraceStats builtin_validation_stats();

struct ValidationResult {
  bool passed = false;
  double avg_error_pct = 0;
  nlohmann::ordered_json comparison;  // {"cache_hit_rate": {benchmark, trace, error_pct}}
  ValidationTraceStats trace;
};

double error_pct(double bench, double trace);
ValidationResult compare_validation(double bench_cache_hit_rate, const ValidationTraceStats& trace,
                                    double tolerance_pct = 5.0);

nlohmann::ordered_json to_json(const ValidationTraceStats& s);
// results["validation"] = {passed, avg_error_pct, comparison, trace_stats}.
nlohmann::ordered_json to_json(const ValidationResult& r);

}  // namespace kv::replay
