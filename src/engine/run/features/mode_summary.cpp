// The selected workload mode's part of the results and console; --validation-trace; --xlsx-output.
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>

#include "core/error.hpp"
#include "core/units.hpp"
#include "engine/export/summary_export.hpp"
#include "engine/run/features.hpp"
#include "engine/run/state.hpp"
#include "engine/summary_format.hpp"

namespace kv::engine::run::features {

namespace {

void check_output_dir(const std::string& flag, const std::string& path) {
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (parent.empty()) return;
  std::error_code ec;
  if (!std::filesystem::is_directory(parent, ec))
    throw Error(ExitCode::kFileNotFound, fmt::format("{}: directory {} does not exist (for {})",
                                                     flag, parent.string(), path));
}

double ratio(double a, double b) {
  return b > 0 ? a / b : 0.0;
}

double num(const nlohmann::ordered_json& j, const char* k) {
  return j.contains(k) && j[k].is_number() ? j[k].get<double>() : 0.0;
}

// The --xlsx-output run-parameters object (docs/workload-modes.md "Summary export").
nlohmann::ordered_json run_parameters(const RunData& d) {
  const EngineConfig& c = d.config;
  nlohmann::ordered_json p;
  p["model"] = d.model.key;
  p["num_users"] = c.num_users;
  p["duration"] = c.duration;
  p["gpu_mem_gb"] = c.gpu_mem_gb;
  p["num_gpus"] = c.num_gpus;
  p["tensor_parallel"] = c.tensor_parallel;
  p["cpu_mem_gb"] = c.cpu_mem_gb;
  p["generation_mode"] = to_text(c.generation_mode);
  p["performance_profile"] = to_text(c.performance_profile);
  p["disable_multi_turn"] = c.disable_multi_turn;
  p["disable_prefix_caching"] = c.disable_prefix_caching;
  p["enable_rag"] = c.enable_rag;
  p["enable_autoscaling"] = c.enable_autoscaling;
  p["seed"] = c.seed ? nlohmann::ordered_json(*c.seed) : nlohmann::ordered_json(nullptr);
  p["max_concurrent_allocs"] = c.max_concurrent_allocs;
  p["request_rate"] = c.request_rate;
  p["max_requests"] = c.max_requests;
  p["dataset_path"] = c.dataset_path.empty() ? nlohmann::ordered_json(nullptr)
                                             : nlohmann::ordered_json(c.dataset_path);
  p["cache_dir"] =
      c.cache_dir.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(c.cache_dir);
  p["storage_capacity_gb"] = c.storage_capacity_gb;
  p["precondition"] = c.precondition;
  p["precondition_size_gb"] = c.precondition_size_gb;
  p["precondition_threads"] = c.precondition_threads;
  p["trace_speedup"] = c.trace_speedup;
  p["replay_cycles"] = c.replay_cycles;
  nlohmann::ordered_json extra = nlohmann::ordered_json::object();
  if (!c.mooncake_trace.empty()) extra["Mooncake Trace"] = c.mooncake_trace;
  if (c.use_burst_trace) extra["Burst Trace Path"] = c.burst_trace_path;
  if (!c.io_trace_log.empty()) extra["I/O Trace Log"] = c.io_trace_log;
  if (c.prefill_only) extra["Prefill Only"] = true;
  if (c.decode_only) extra["Decode Only"] = true;
  if (!extra.empty()) p["extra"] = std::move(extra);
  return p;
}

// results.workload_mode: which mode and features ran, with the mode's input.
nlohmann::ordered_json workload_mode_block(const RunState& s) {
  const EngineConfig& c = s.config();
  nlohmann::ordered_json wm;
  wm["mode"] = s.mode->name;
  wm["rag"] = c.enable_rag;
  wm["autoscaling"] = c.enable_autoscaling;
  wm["prefill_only"] = c.prefill_only;
  wm["decode_only"] = c.decode_only;
  wm["precondition"] = c.precondition;
  wm["null_backends"] = s.io_trace != nullptr && s.io_trace->null_backends();
  if (s.mode->input_key != nullptr) {
    const std::string& input = s.mode->mode == Mode::kShareGpt   ? c.dataset_path
                               : s.mode->mode == Mode::kBurstGpt ? c.burst_trace_path
                                                                 : c.mooncake_trace;
    wm[s.mode->input_key] = input;
    wm["replay_cycles"] = c.replay_cycles;
    wm["trace_speedup"] = c.trace_speedup;
  }
  if (!s.mode_warnings.empty()) wm["warnings"] = s.mode_warnings;
  return wm;
}

}  // namespace

ModeSummary::ModeSummary(RunState& s, const EngineConfig& c) : s_(s) {
  if (!c.validation_trace.empty()) validation_ = replay::load_validation_trace(c.validation_trace);
  if (!c.xlsx_output.empty()) check_output_dir("--xlsx-output", c.xlsx_output);
}

void ModeSummary::on_request_done(const workload::Request& req, bool /*completed*/) {
  s_.producer->request_done(req);
}

std::optional<StopReason> ModeSummary::stop_reason(const RunState& s) const {
  if (s.producer->exhausted() && s.recorder->finished() >= s.producer->enqueued())
    return StopReason::kReplayComplete;
  return std::nullopt;
}

void ModeSummary::on_finish(RunState& s) {
  nlohmann::ordered_json& top = s.data.mode_results;
  top["workload_mode"] = workload_mode_block(s);
  if (s.mode->stats_key != nullptr) top[s.mode->stats_key] = s.producer->stats();
  s.mode_source->add_results(top);
  if (validation_) {
    const double hits = static_cast<double>(s.data.stats.cache_hits),
                 misses = static_cast<double>(s.data.stats.cache_misses);
    top["validation"] =
        replay::to_json(replay::compare_validation(ratio(hits, hits + misses), *validation_));
  }
}

std::string ModeSummary::console_text(const nlohmann::ordered_json& r) const {
  const EngineConfig& c = s_.config();
  std::string o;
  if (s_.mode->mode != Mode::kSynthetic || c.enable_rag || c.enable_autoscaling ||
      r.contains("validation") || r.contains("precondition"))
    o += fmt::format("\nWORKLOAD MODE: {}\n", s_.mode->name);
  if (r.contains("dataset_stats")) {
    const auto& s = r["dataset_stats"];
    o += fmt::format("  ShareGPT: {} conversations, {} turns loaded\n", num(s, "conversations"),
                     num(s, "turns"));
    o += fmt::format("  ShareGPT: {} turns issued over {} pass(es){}\n", num(s, "turns_issued"),
                     num(s, "passes_started"),
                     s.value("replay_complete", false) ? " (replay complete)" : "");
  }
  if (r.contains("trace_stats")) {
    const auto& s = r["trace_stats"];
    o += fmt::format("  Trace: {} records replayed, {} bad lines skipped\n", num(s, "records"),
                     num(s, "bad_lines_skipped"));
    o += fmt::format("  Trace: {} cycle(s) completed{}\n", num(s, "cycles_completed"),
                     s.value("replay_complete", false) ? " (replay complete)" : "");
  }
  if (r.contains("mooncake_stats")) {
    const auto& s = r["mooncake_stats"];
    o += fmt::format("  Mooncake blocks: {} lookups, {} hits (read), {} writes\n",
                     num(s, "block_lookups"), num(s, "block_hits"), num(s, "block_writes"));
    o += fmt::format("  Mooncake block hit rate: {:.1f} %\n", 100 * num(s, "block_hit_rate"));
  }
  if (r.contains("rag_stats")) {
    const auto& s = r["rag_stats"];
    o += fmt::format("  RAG: {} / {} documents ingested ({} chunks), {} evicted\n",
                     num(s, "documents_ingested"), num(s, "documents_planned"),
                     num(s, "chunks_written"), num(s, "documents_evicted"));
    o += fmt::format("  RAG: {} chunk reads ({} hits), {} RAG requests\n", num(s, "chunk_reads"),
                     num(s, "chunk_hits"), num(s, "rag_requests"));
  }
  if (r.contains("precondition")) {
    const auto& s = r["precondition"];
    o += fmt::format("  Precondition: {:.2f} GiB in {} entries before the run\n",
                     num(s, "written_bytes") / static_cast<double>(kGiB), num(s, "entries"));
    o += "  (statistics reset after preconditioning)\n";
  }
  if (r.contains("summary") && r["summary"].contains("autoscaling_summary") &&
      r["summary"]["autoscaling_summary"].is_object()) {
    const auto& s = r["summary"]["autoscaling_summary"];
    o += fmt::format("  Autoscaling: up to {} active producers ({} samples)\n",
                     num(s, "max_active_producers"), num(s, "samples"));
    o += fmt::format("  Autoscaling: {} producers issued requests\n", num(s, "producers_started"));
    if (s.contains("peak_user_count"))
      o += fmt::format("  Capacity: peak {:.1f} tok/s with {} users\n",
                       num(s, "peak_throughput_tokens_per_sec"), num(s, "peak_user_count"));
  }
  if (r.contains("validation")) {
    const auto& v = r["validation"];
    const bool measured = r.contains("requests_completed") && r["requests_completed"].is_number() &&
                          r["requests_completed"].get<double>() > 0;
    if (measured)
      o += fmt::format("  Validation: hit-rate error {:.2f}% -> {}\n", num(v, "avg_error_pct"),
                       v.value("passed", false) ? "PASSED" : "FAILED");
    else  // a run that completed nothing never reads as passed (docs/engine.md, Console output)
      o += "  Validation: not assessed (no request completed)\n";
  }
  return o;
}

void ModeSummary::after_output(const nlohmann::ordered_json& results, const RunData& d,
                               bool wrote_summary) {
  const std::string& xlsx = s_.config().xlsx_output;
  if (!wrote_summary || xlsx.empty()) return;
  const auto path = exporter::write_summary(xlsx, results, run_parameters(d));
  std::fputs(console::path_lines("Summary exported to ", path.string()).c_str(), stdout);
  std::fflush(stdout);
}

}  // namespace kv::engine::run::features
