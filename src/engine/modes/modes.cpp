#include "engine/modes/modes.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <thread>

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/units.hpp"
#include "engine/export/summary_export.hpp"
#include "engine/modes/trace_tiers.hpp"

namespace kv::engine::modes {

namespace {

constexpr unsigned kMaxWorkers = 500;
constexpr std::uint32_t kMaxUsers = 100000;  // --num-users limit (§2.1)

bool key_given(const YamlSettings& y, const char* key) {
  return std::find(y.keys_given.begin(), y.keys_given.end(), key) != y.keys_given.end();
}

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

}  // namespace

const char* mode_name(Mode m) {
  switch (m) {
    case Mode::kSynthetic: return "synthetic";
    case Mode::kShareGpt: return "sharegpt";
    case Mode::kBurstGpt: return "burstgpt";
    case Mode::kMooncake: return "mooncake";
  }
  return "?";
}

// The request hooks: Mooncake block requests and RAG chunk reads.
class WorkloadModes::Hooks final : public workload::RequestHooks {
 public:
  Hooks(RagWorkload* rag, MooncakeProcessor* mooncake, workload::StopFlag& stop)
      : rag_(rag), mooncake_(mooncake), stop_(stop) {}
  bool process(const workload::Request& req, workload::KvStore& store, workload::RequestOutcome& o,
               std::string& scratch) override {
    return mooncake_ != nullptr && mooncake_->process(req, store, o, scratch);
  }
  bool extra_reads(const workload::Request& req, workload::KvStore& store,
                   workload::RequestOutcome& o) override {
    return rag_ == nullptr || rag_->extra_reads(req, store, o, stop_);
  }

 private:
  RagWorkload* rag_;
  MooncakeProcessor* mooncake_;
  workload::StopFlag& stop_;
};

WorkloadModes::WorkloadModes(const EngineConfig& c, const YamlSettings& y,
                             const model::ModelConfig& m, std::uint64_t seed)
    : c_(c), y_(y), m_(m), seed_(seed) {
  // ---- mode and the rules between mode flags ----
  if (!c.mooncake_trace.empty()) {
    if (!c.dataset_path.empty() || c.use_burst_trace)
      throw usage_error(
          "--mooncake-trace",
          "cannot be combined with --dataset-path or --use-burst-trace (one replay at a time)");
    mode_ = Mode::kMooncake;
  } else if (!c.dataset_path.empty()) {
    if (c.use_burst_trace)
      warnings_.push_back(
          "--use-burst-trace ignored: --dataset-path takes precedence (as the reference)");
    mode_ = Mode::kShareGpt;
  } else if (c.use_burst_trace) {
    mode_ = Mode::kBurstGpt;
  }
  if (c.enable_autoscaling && (mode_ == Mode::kBurstGpt || mode_ == Mode::kMooncake))
    throw usage_error(
        "--enable-autoscaling",
        fmt::format(
            "needs user producers to start and stop (synthetic users or --dataset-path); a {} "
            "trace replay has none",
            mode_name(mode_)));
  if (c.enable_rag && mode_ == Mode::kMooncake)
    throw usage_error("--enable-rag", "cannot be combined with --mooncake-trace");
  if (c.io_trace_real && c.io_trace_log.empty())
    throw usage_error("--io-trace-real", "needs --io-trace-log PATH");
  if (c.was_given("--burst-trace-path") && mode_ != Mode::kBurstGpt)
    warnings_.push_back("--burst-trace-path ignored without --use-burst-trace");
  if (c.was_given("--request-rate") && mode_ != Mode::kShareGpt)
    warnings_.push_back(
        "--request-rate ignored: only --dataset-path replay is paced by it (as the reference)");
  if ((c.was_given("--trace-speedup") && mode_ != Mode::kBurstGpt && mode_ != Mode::kMooncake) ||
      (c.was_given("--replay-cycles") && mode_ == Mode::kSynthetic))
    warnings_.push_back(
        "--trace-speedup/--replay-cycles ignored without a trace or dataset replay");
  if ((c.was_given("--precondition-size-gb") || c.was_given("--precondition-threads")) &&
      !c.precondition)
    warnings_.push_back(
        "--precondition-size-gb/--precondition-threads ignored without --precondition");
  if (c.was_given("--autoscaler-mode") && !c.enable_autoscaling)
    warnings_.push_back("--autoscaler-mode ignored without --enable-autoscaling");

  // ---- inputs ----
  switch (mode_) {
    case Mode::kShareGpt: {
      replay::ShareGptOptions o;
      o.max_conversations = static_cast<std::size_t>(c.max_conversations);
      // The reference hard-codes 16384 / 2048 / 4 and ignores sharegpt.*; a config file's values
      // win (§8.10).
      if (key_given(y, "sharegpt.max_context_tokens"))
        o.max_context_tokens = static_cast<std::uint32_t>(y.sharegpt_max_context_tokens);
      if (key_given(y, "sharegpt.max_generation_tokens"))
        o.max_generation_tokens = static_cast<std::uint32_t>(y.sharegpt_max_generation_tokens);
      if (key_given(y, "sharegpt.chars_per_token_estimate"))
        o.chars_per_token = static_cast<std::uint32_t>(
            std::max(1.0, std::round(y.sharegpt_chars_per_token_estimate)));
      dataset_ =
          std::make_unique<replay::ShareGptDataset>(replay::load_sharegpt(c.dataset_path, o));
      if (dataset_->conversations.empty())
        throw usage_error(
            "--dataset-path",
            fmt::format("{}: no conversation with a (human, gpt) turn in the first {} records",
                        c.dataset_path, c.max_conversations));
      break;
    }
    case Mode::kBurstGpt: {
      replay::BurstTraceOptions o;
      o.speedup = c.trace_speedup;
      o.replay_cycles = static_cast<std::uint32_t>(c.replay_cycles);
      burst_ = std::make_unique<replay::BurstTraceReader>(c.burst_trace_path, o);
      break;
    }
    case Mode::kMooncake: {
      replay::MooncakeTraceOptions o;
      o.speedup = c.trace_speedup;
      o.replay_cycles = static_cast<std::uint32_t>(c.replay_cycles);
      mooncake_reader_ = std::make_unique<replay::MooncakeTraceReader>(c.mooncake_trace, o);
      break;
    }
    case Mode::kSynthetic: break;
  }
  if (!c.validation_trace.empty()) validation_ = replay::load_validation_trace(c.validation_trace);
  if (!c.xlsx_output.empty()) check_output_dir("--xlsx-output", c.xlsx_output);
  if (!c.io_trace_log.empty()) {
    exporter::IoTraceOptions o;
    o.latency_column = c.io_trace_real;
    trace_ = std::make_unique<exporter::IoTraceWriter>(c.io_trace_log, o);
  }
  if (c.enable_rag) {
    RagSettings rs;
    rs.options.num_docs = static_cast<std::uint32_t>(c.rag_num_docs);
    rs.options.chunk_size_tokens = static_cast<std::uint32_t>(y.rag_chunk_size_tokens);
    rs.options.top_k = static_cast<std::uint32_t>(y.rag_top_k_chunks);
    rs.options.max_chunk_bytes = static_cast<std::uint64_t>(y.rag_max_chunk_bytes);
    rs.options.distribution = replay::parse_retrieval_distribution(y.rag_retrieval_distribution);
    rs.options.large_doc_tokens_min = static_cast<std::uint32_t>(y.rag_large_model_doc_tokens_min);
    rs.options.large_doc_tokens_max = static_cast<std::uint32_t>(y.rag_large_model_doc_tokens_max);
    rs.options.small_doc_tokens_min = static_cast<std::uint32_t>(y.rag_small_model_doc_tokens_min);
    rs.options.small_doc_tokens_max = static_cast<std::uint32_t>(y.rag_small_model_doc_tokens_max);
    rs.request_probability = y.rag_request_probability;
    rs.max_documents = static_cast<std::uint32_t>(y.rag_max_documents);
    rag_ = std::make_unique<RagWorkload>(m_, rs, seed_);
  }
}

WorkloadModes::~WorkloadModes() = default;

std::uint32_t WorkloadModes::user_pool() const {
  const auto users = static_cast<std::uint32_t>(c_.num_users);
  if (!c_.enable_autoscaling) return users;
  return std::max(users, std::min(static_cast<std::uint32_t>(y_.autoscaler_max_users), kMaxUsers));
}

unsigned WorkloadModes::workers(unsigned standard) const {
  if (!c_.enable_autoscaling) return standard;
  return std::min<unsigned>(user_pool(), kMaxWorkers);
}

std::vector<std::unique_ptr<tier::Tier>> WorkloadModes::null_tiers(bool gpu, bool cpu) const {
  std::vector<std::unique_ptr<tier::Tier>> t;
  if (gpu) t.push_back(make_null_tier(tier::TierId::kGpu));
  if (cpu) t.push_back(make_null_tier(tier::TierId::kCpu));
  t.push_back(make_null_tier(tier::TierId::kStorage));
  return t;
}

void WorkloadModes::wrap_tiers(std::vector<std::unique_ptr<tier::Tier>>& tiers) {
  if (!trace_) return;
  for (auto& t : tiers) t = make_tracing_tier(std::move(t), *trace_);
}

workload::KvStore& WorkloadModes::store(workload::KvStore& inner) {
  store_ = &inner;
  if (trace_) {
    tracing_store_ = std::make_unique<TracingStore>(inner);
    store_ = tracing_store_.get();
  }
  return *store_;
}

void WorkloadModes::pre_run(cache::MultiTierCache& cache, std::uint64_t storage_limit,
                            const std::function<bool()>& cancelled) {
  precondition(cache, storage_limit, cancelled);
  if (rag_ && c_.decode_only) {
    // --decode-only: the window must have no writes, so the documents are ingested before it (the
    // caller resets the statistics after the pre-population).
    if (store_ == nullptr)
      throw Error(ExitCode::kGeneralError, "workload modes: store() not set before pre_run()");
    std::fprintf(stdout, "Ingesting %zu RAG documents before the run (--decode-only)...\n",
                 rag_->documents().size());
    std::fflush(stdout);
    workload::StopFlag never;
    rag_->ingest(*store_, cache, never);
    rag_ingested_before_ = true;
  }
}

void WorkloadModes::precondition(cache::MultiTierCache& cache, std::uint64_t storage_limit,
                                 const std::function<bool()>& cancelled) {
  if (!c_.precondition) return;
  PreconditionOptions o;
  if (c_.precondition_size_gb > 0) {
    o.target_bytes = gib_to_bytes(c_.precondition_size_gb);
  } else if (storage_limit == cache::kUnlimited) {
    log::warn(
        "--precondition skipped: the storage capacity is unlimited (give --precondition-size-gb or "
        "--storage-capacity-gb)");
    return;
  } else {
    o.target_bytes = storage_limit > UINT64_MAX / 2 ? UINT64_MAX : 2 * storage_limit;
  }
  const unsigned hw = std::thread::hardware_concurrency();
  o.threads = c_.precondition_threads > 0 ? static_cast<unsigned>(c_.precondition_threads)
                                          : (hw > 0 ? hw : 4);
  o.entry_bytes = m_.object_bytes(kPreconditionTokens, c_.tensor_parallel);
  std::fprintf(stdout,
               "Preconditioning: writing %.2f GiB of %llu-token entries (%.1f MiB each) with %u "
               "threads...\n",
               bytes_to_gib(o.target_bytes), static_cast<unsigned long long>(kPreconditionTokens),
               static_cast<double>(o.entry_bytes) / static_cast<double>(kMiB), o.threads);
  std::fflush(stdout);
  precondition_ = run_precondition(
      [&cache](const std::string& key) {
        return cache.allocate(key, kPreconditionTokens, cache::Phase::kPrefill);
      },
      o, cancelled);
  const PreconditionResult& r = *precondition_;
  std::fprintf(stdout,
               "Preconditioning done: %.2f GiB in %llu entries, %llu failed writes, %.1f s%s\n",
               bytes_to_gib(r.written_bytes), static_cast<unsigned long long>(r.entries),
               static_cast<unsigned long long>(r.failures), r.seconds,
               r.stopped_on_failures ? " (stopped: more than 50 consecutive failures)"
               : r.interrupted       ? " (interrupted)"
                                     : "");
  std::fflush(stdout);
  if (r.stopped_on_failures)
    log::warn("--precondition stopped after more than 50 consecutive failed writes");
  cache.reset_stats();
}

workload::RequestHooks* WorkloadModes::hooks(const workload::ProcessSettings& ps,
                                             workload::StopFlag& stop) {
  if (mode_ == Mode::kMooncake) mooncake_ = std::make_unique<MooncakeProcessor>(ps, stop);
  if (!rag_ && !mooncake_) return nullptr;
  hooks_ = std::make_unique<Hooks>(rag_.get(), mooncake_.get(), stop);
  return hooks_.get();
}

Producer& WorkloadModes::make_producer(workload::RequestFactory& factory,
                                       workload::RequestQueue& queue, workload::StopFlag& stop,
                                       workload::ConversationManager& conversations,
                                       std::uint64_t prepopulated_keys) {
  FollowUp follow;
  if (rag_) follow = [r = rag_.get()](const workload::Request& q) { return r->follow_up(q); };
  ReplayDraws draws;
  draws.users.templates = y_.user_templates;
  draws.users.qos = y_.qos;
  draws.users.interactive_probability = y_.interactive_probability;
  draws.users.responsive_threshold = y_.responsive_threshold;
  draws.prefix_caching = !c_.disable_prefix_caching;
  draws.prefix_probability = y_.system_prompt_hit_probability;
  draws.write_only_threshold = model::kPrefillOnlyContextThreshold;
  draws.prepopulated_keys = prepopulated_keys;
  draws.seed = seed_;
  switch (mode_) {
    case Mode::kSynthetic:
      producer_ = std::make_unique<SyntheticProducer>(
          factory, queue, stop, static_cast<std::uint32_t>(c_.num_users), std::move(follow));
      break;
    case Mode::kShareGpt: {
      ShareGptSettings s;
      s.sessions = user_pool();
      s.initial_sessions = static_cast<std::uint32_t>(c_.num_users);
      s.multi_turn = !c_.disable_multi_turn;
      s.request_rate = c_.request_rate;
      s.replay_cycles = static_cast<std::uint32_t>(c_.replay_cycles);
      s.max_turns = static_cast<std::uint32_t>(y_.max_turns_per_conv);
      s.draws = draws;
      producer_ = std::make_unique<ShareGptProducer>(*dataset_, s, queue, stop, conversations,
                                                     std::move(follow));
      break;
    }
    case Mode::kBurstGpt:
      producer_ = std::make_unique<BurstTraceProducer>(std::move(burst_), TraceSettings{draws},
                                                       queue, stop, std::move(follow));
      break;
    case Mode::kMooncake:
      producer_ = std::make_unique<MooncakeProducer>(std::move(mooncake_reader_),
                                                     TraceSettings{draws}, queue, stop);
      break;
  }
  return *producer_;
}

void WorkloadModes::start(std::int64_t t0_ns, cache::MultiTierCache& cache,
                          workload::RequestQueue& queue, workload::StopFlag& stop) {
  if (rag_ && !rag_ingested_before_) {
    if (store_ == nullptr)
      throw Error(ExitCode::kGeneralError, "workload modes: store() not set before start()");
    rag_->start(*store_, cache, stop);
  }
  if (c_.enable_autoscaling) {
    AutoscalerSettings s;
    s.capacity_mode = c_.autoscaler_mode == "capacity";
    s.target_saturation = c_.target_saturation;
    s.min_users = static_cast<std::uint32_t>(y_.autoscaler_min_users);
    s.max_users = std::max(user_pool(), 1u);
    s.scale_up_factor = y_.autoscaler_scale_up_factor;
    s.scale_down_factor = y_.autoscaler_scale_down_factor;
    s.consecutive_samples = static_cast<std::uint32_t>(y_.autoscaler_consecutive_samples_required);
    s.read_p95_threshold_ms = y_.saturation_read_latency_p95_threshold_ms;
    s.write_p95_threshold_ms = y_.saturation_write_latency_p95_threshold_ms;
    s.queue_depth_threshold = y_.saturation_queue_depth_threshold;
    s.window = static_cast<std::uint32_t>(y_.saturation_history_window_size);
    s.sample_interval_s = y_.autoscaler_sample_interval_s;
    MonitorProbe p;
    p.tokens = [this] { return tokens_.load(); };
    p.storage_bytes = [&cache] {
      const cache::CacheStats st = cache.stats();
      const auto& t = st.tiers[static_cast<std::size_t>(tier::TierId::kStorage)];
      return std::pair<std::uint64_t, std::uint64_t>(t.bytes_read, t.bytes_written);
    };
    p.storage_p95_ms = [&cache] {
      const auto i = static_cast<std::size_t>(tier::TierId::kStorage);
      const auto& lat = cache.latencies();
      const auto r = lat.read[i].histogram(), w = lat.write[i].histogram();
      return std::pair<double, double>(r.count() > 0 ? r.percentile(95) * 1e3 : 0.0,
                                       w.count() > 0 ? w.percentile(95) * 1e3 : 0.0);
    };
    p.queue_depth = [&queue] { return queue.size(); };
    Producer* prod = producer_.get();
    autoscaler_ = std::make_unique<Autoscaler>(
        s, static_cast<std::uint32_t>(c_.num_users), std::move(p),
        [prod](std::uint32_t n) {
          prod->set_active_users(n);
          return prod->active_users();
        },
        stop);
    autoscaler_->start(t0_ns);
  }
}

void WorkloadModes::request_done(const workload::Request& req, bool completed) {
  if (completed) tokens_.fetch_add(req.generate_tokens, std::memory_order_relaxed);
  if (producer_) producer_->request_done(req);
}

std::optional<std::string> WorkloadModes::stop_reason(std::uint64_t requests_finished) const {
  if (autoscaler_) {
    if (auto r = autoscaler_->stop_reason()) return r;
  }
  if (producer_ && producer_->exhausted() && requests_finished >= producer_->enqueued())
    return std::string("replay_complete");
  return std::nullopt;
}

void WorkloadModes::finish(RunData& d) {
  if (rag_) rag_->join();
  if (autoscaler_) autoscaler_->join();
  auto& top = d.mode_results;
  nlohmann::ordered_json wm;
  wm["mode"] = mode_name(mode_);
  wm["rag"] = c_.enable_rag;
  wm["autoscaling"] = c_.enable_autoscaling;
  wm["prefill_only"] = c_.prefill_only;
  wm["decode_only"] = c_.decode_only;
  wm["precondition"] = c_.precondition;
  wm["null_backends"] = null_backends();
  switch (mode_) {
    case Mode::kShareGpt: wm["dataset_path"] = c_.dataset_path; break;
    case Mode::kBurstGpt: wm["burst_trace_path"] = c_.burst_trace_path; break;
    case Mode::kMooncake: wm["mooncake_trace"] = c_.mooncake_trace; break;
    case Mode::kSynthetic: break;
  }
  if (mode_ != Mode::kSynthetic) {
    wm["replay_cycles"] = c_.replay_cycles;
    wm["trace_speedup"] = c_.trace_speedup;
  }
  if (warnings_.size() > 0) wm["warnings"] = warnings_;
  top["workload_mode"] = std::move(wm);
  if (producer_) {
    if (mode_ == Mode::kShareGpt) top["dataset_stats"] = producer_->stats();
    if (mode_ == Mode::kBurstGpt || mode_ == Mode::kMooncake)
      top["trace_stats"] = producer_->stats();
  }
  if (mooncake_) top["mooncake_stats"] = mooncake_->stats();
  if (rag_) top["rag_stats"] = rag_->stats();
  if (precondition_) top["precondition"] = to_json(*precondition_);
  if (validation_) {
    const double hits = static_cast<double>(d.stats.cache_hits),
                 misses = static_cast<double>(d.stats.cache_misses);
    top["validation"] =
        replay::to_json(replay::compare_validation(ratio(hits, hits + misses), *validation_));
  }
  if (trace_) {
    // A write error is reported in the results here and raised (exit 6) by export_outputs(),
    // after the results JSON is written.
    std::string error;
    try {
      trace_->flush();
    } catch (const std::exception& e) {
      error = e.what();
    }
    top["io_trace"] = nlohmann::ordered_json{
        {"path", trace_->path().string()},
        {"rows", trace_->rows()},
        {"compressed", trace_->compressed()},
        {"real_io", !null_backends()},
        {"latency_column", trace_->latency_column()},
        {"error", error.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(error)}};
  }
  if (autoscaler_) {
    top["throughput_timeline"] = autoscaler_->timeline();
    d.mode_summary["autoscaling_stats"] = autoscaler_->log();
    d.mode_summary["autoscaling_summary"] =
        autoscaler_->summary(producer_ ? producer_->users_started() : 0);
  }
}

nlohmann::ordered_json WorkloadModes::run_parameters(const RunData& d) {
  const EngineConfig& c = d.config;
  nlohmann::ordered_json p;
  p["model"] = d.model.key;
  p["num_users"] = c.num_users;
  p["duration"] = c.duration;
  p["gpu_mem_gb"] = c.gpu_mem_gb;
  p["num_gpus"] = c.num_gpus;
  p["tensor_parallel"] = c.tensor_parallel;
  p["cpu_mem_gb"] = c.cpu_mem_gb;
  p["generation_mode"] = c.generation_mode;
  p["performance_profile"] = c.performance_profile;
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

void WorkloadModes::export_outputs(const nlohmann::ordered_json& results, const RunData& d,
                                   bool summary) {
  if (summary && !c_.xlsx_output.empty()) {
    const auto path = exporter::write_summary(c_.xlsx_output, results, run_parameters(d));
    std::fprintf(stdout, "Summary exported to %s\n", path.string().c_str());
  }
  if (trace_) {
    trace_->close();
    std::fprintf(stdout, "I/O trace (%llu rows%s) written to %s\n",
                 static_cast<unsigned long long>(trace_->rows()),
                 null_backends() ? ", no real I/O" : ", real I/O", trace_->path().string().c_str());
  }
  std::fflush(stdout);
}

std::string WorkloadModes::console_text(const nlohmann::ordered_json& r) const {
  std::string o;
  auto num = [](const nlohmann::ordered_json& j, const char* k) -> double {
    return j.contains(k) && j[k].is_number() ? j[k].get<double>() : 0.0;
  };
  if (mode_ != Mode::kSynthetic || c_.enable_rag || c_.enable_autoscaling || validation_ ||
      precondition_)
    o += fmt::format("\nWORKLOAD MODE: {}\n", mode_name(mode_));
  if (r.contains("dataset_stats")) {
    const auto& s = r["dataset_stats"];
    o += fmt::format(
        "  ShareGPT: {} conversations, {} turns loaded; {} turns issued over {} pass(es){}\n",
        num(s, "conversations"), num(s, "turns"), num(s, "turns_issued"), num(s, "passes_started"),
        s.value("replay_complete", false) ? " (replay complete)" : "");
  }
  if (r.contains("trace_stats")) {
    const auto& s = r["trace_stats"];
    o +=
        fmt::format("  Trace: {} records replayed, {} bad lines skipped, {} cycle(s) completed{}\n",
                    num(s, "records"), num(s, "bad_lines_skipped"), num(s, "cycles_completed"),
                    s.value("replay_complete", false) ? " (replay complete)" : "");
  }
  if (r.contains("mooncake_stats")) {
    const auto& s = r["mooncake_stats"];
    o += fmt::format("  Mooncake blocks: {} lookups, {} hits (read), {} writes, hit rate {:.1f}%\n",
                     num(s, "block_lookups"), num(s, "block_hits"), num(s, "block_writes"),
                     100 * num(s, "block_hit_rate"));
  }
  if (r.contains("rag_stats")) {
    const auto& s = r["rag_stats"];
    o += fmt::format(
        "  RAG: {} / {} documents ingested ({} chunks), {} evicted; {} chunk reads ({} hits), {} "
        "RAG requests\n",
        num(s, "documents_ingested"), num(s, "documents_planned"), num(s, "chunks_written"),
        num(s, "documents_evicted"), num(s, "chunk_reads"), num(s, "chunk_hits"),
        num(s, "rag_requests"));
  }
  if (r.contains("precondition")) {
    const auto& s = r["precondition"];
    o += fmt::format(
        "  Precondition: {:.2f} GiB in {} entries before the run (statistics reset after)\n",
        num(s, "written_bytes") / static_cast<double>(kGiB), num(s, "entries"));
  }
  if (r.contains("summary") && r["summary"].contains("autoscaling_summary") &&
      r["summary"]["autoscaling_summary"].is_object()) {
    const auto& s = r["summary"]["autoscaling_summary"];
    o += fmt::format(
        "  Autoscaling: up to {} active producers, {} of them issued requests ({} samples)\n",
        num(s, "max_active_producers"), num(s, "producers_started"), num(s, "samples"));
    if (s.contains("peak_user_count"))
      o += fmt::format("  Capacity: peak {:.1f} tok/s with {} users\n", num(s, "peak_throughput_tokens_per_sec"),
                       num(s, "peak_user_count"));
  }
  if (r.contains("validation")) {
    const auto& v = r["validation"];
    o += fmt::format("  Validation: hit-rate error {:.2f}% -> {}\n", num(v, "avg_error_pct"),
                     v.value("passed", false) ? "PASSED" : "FAILED");
  }
  return o;
}

}  // namespace kv::engine::modes
