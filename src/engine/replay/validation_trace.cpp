#include "engine/replay/validation_trace.hpp"

#include <cmath>

#include "core/error.hpp"
#include "engine/replay/json_stream.hpp"

namespace kv::replay {

namespace {
double number_field(const JsonArrayStream& s, const nlohmann::json& rec, const char* name) {
  auto it = rec.find(name);
  if (it == rec.end() || it->is_null()) return 0.0;
  if (!it->is_number()) s.fail(std::string("\"") + name + "\" must be a number");
  return it->get<double>();
}
}  // namespace

ValidationTraceStats load_validation_trace(const std::filesystem::path& file,
                                           const std::string& flag) {
  ValidationTraceStats st;
  JsonArrayStream stream(file, flag);
  nlohmann::json rec;
  double ctx = 0, gen = 0, rlat = 0, wlat = 0;
  while (stream.next(rec)) {
    ++st.records;
    if (auto it = rec.find("cache_hit"); it != rec.end() && !it->is_null()) {
      if (it->is_boolean()) {
        st.cache_hits += it->get<bool>() ? 1 : 0;
      } else if (it->is_number_integer() &&
                 (it->get<std::int64_t>() == 0 || it->get<std::int64_t>() == 1)) {
        st.cache_hits += static_cast<std::uint64_t>(it->get<std::int64_t>());
      } else {
        stream.fail("\"cache_hit\" must be true/false");
      }
    }
    const double rb = number_field(stream, rec, "read_bytes");
    const double wb = number_field(stream, rec, "write_bytes");
    if (rb < 0 || wb < 0) stream.fail("read_bytes/write_bytes must be >= 0");
    st.total_read_bytes += static_cast<std::uint64_t>(rb);
    st.total_write_bytes += static_cast<std::uint64_t>(wb);
    ctx += number_field(stream, rec, "context_tokens");
    gen += number_field(stream, rec, "generation_tokens");
    rlat += number_field(stream, rec, "read_latency_ms");
    wlat += number_field(stream, rec, "write_latency_ms");
  }
  if (st.records == 0) {
    throw Error(ExitCode::kInvalidArguments,
                flag + ": " + file.string() + ": the trace has no records");
  }
  const double n = static_cast<double>(st.records);
  st.cache_hit_rate = static_cast<double>(st.cache_hits) / n;
  st.read_write_ratio = st.total_write_bytes > 0 ? static_cast<double>(st.total_read_bytes) /
                                                       static_cast<double>(st.total_write_bytes)
                                                 : 0.0;
  st.mean_context_tokens = ctx / n;
  st.mean_generation_tokens = gen / n;
  st.mean_read_latency_ms = rlat / n;
  st.mean_write_latency_ms = wlat / n;
  return st;
}

ValidationTraceStats builtin_validation_stats() {
  ValidationTraceStats st;
  st.synthetic = true;
  st.cache_hit_rate = 0.65;
  st.read_write_ratio = 10.0;
  st.mean_context_tokens = 1024;
  st.mean_generation_tokens = 200;
  return st;
}

double error_pct(double bench, double trace) {
  if (trace == 0) return bench == 0 ? 0.0 : 100.0;
  return std::fabs(bench - trace) / std::fabs(trace) * 100.0;
}

ValidationResult compare_validation(double bench_cache_hit_rate, const ValidationTraceStats& trace,
                                    double tolerance_pct) {
  ValidationResult r;
  r.trace = trace;
  const double e = error_pct(bench_cache_hit_rate, trace.cache_hit_rate);
  r.comparison["cache_hit_rate"] = {
      {"benchmark", bench_cache_hit_rate}, {"trace", trace.cache_hit_rate}, {"error_pct", e}};
  r.avg_error_pct = e;  // one compared metric
  r.passed = r.avg_error_pct <= tolerance_pct;
  return r;
}

nlohmann::ordered_json to_json(const ValidationTraceStats& s) {
  nlohmann::ordered_json j;
  j["synthetic"] = s.synthetic;
  j["records"] = s.records;
  j["cache_hit_rate"] = s.cache_hit_rate;
  j["read_write_ratio"] = s.read_write_ratio;
  j["mean_context_tokens"] = s.mean_context_tokens;
  j["mean_generation_tokens"] = s.mean_generation_tokens;
  j["total_read_bytes"] = s.total_read_bytes;
  j["total_write_bytes"] = s.total_write_bytes;
  j["mean_read_latency_ms"] = s.mean_read_latency_ms;
  j["mean_write_latency_ms"] = s.mean_write_latency_ms;
  return j;
}

nlohmann::ordered_json to_json(const ValidationResult& r) {
  nlohmann::ordered_json j;
  j["passed"] = r.passed;
  j["avg_error_pct"] = r.avg_error_pct;
  j["comparison"] = r.comparison;
  j["trace_stats"] = to_json(r.trace);
  return j;
}

}  // namespace kv::replay
