// Phase 1 of a run (run/run.hpp): everything is built, nothing is measured yet.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/log.hpp"
#include "core/units.hpp"
#include "engine/run/features.hpp"
#include "engine/run/gauges.hpp"
#include "engine/run/html_report.hpp"
#include "engine/run/progress.hpp"
#include "engine/run/reference_accounting.hpp"
#include "engine/run/run.hpp"
#include "engine/run/signals.hpp"
#include "engine/run/state.hpp"
#include "engine/run/status_line.hpp"
#include "engine/run/storage.hpp"
#include "engine/summary.hpp"
#include "engine/tier/tier.hpp"

namespace kv::engine::run {

namespace {

constexpr unsigned kMaxWorkers = 500;

std::filesystem::path output_path(const EngineConfig& c) {
  if (!c.output.empty()) return c.output;
  return "benchmark_results_" + kv::local_time_string("%Y%m%d_%H%M%S") + ".json";
}

// Fails early (before a long run) if the results file cannot be written.
void check_output(const std::filesystem::path& out) {
  std::error_code ec;
  std::filesystem::path parent = out.parent_path();
  if (parent.empty()) parent = ".";
  if (!std::filesystem::exists(parent, ec)) {
    std::filesystem::create_directories(parent, ec);
    if (ec)
      throw usage_error(
          "--output", fmt::format("cannot create directory {}: {}", parent.string(), ec.message()));
  }
  if (std::filesystem::is_directory(out, ec))
    throw usage_error("--output", fmt::format("{} is a directory", out.string()));
  if (::access(parent.c_str(), W_OK) != 0)
    throw usage_error("--output", fmt::format("directory {} is not writable", parent.string()));
  try {  // the very temp file the final write will need: created and removed
    kv::fs::check_writable(out);
  } catch (const Error& e) {
    throw Error(e.code(), std::string("--output: ") + e.what());
  }
}

// Seeds and output.
void begin(RunState& s) {
  const EngineConfig& c = s.config();
  RunData& d = s.data;
  d.config = c;
  d.yaml = s.plan.yaml;
  d.model = s.plan.model;
  d.payload_seed = c.seed ? static_cast<std::uint64_t>(*c.seed) : 0;
  d.workload_seed = c.seed ? static_cast<std::uint64_t>(*c.seed) : std::random_device{}();
  s.output = output_path(c);
  check_output(s.output);
}

// The workload mode and the features the flags ask for (run/features.hpp): every input is loaded
// and checked here, before any I/O. Then the observers: the run's own first, then the plan's.
void add_features(RunState& s) {
  const EngineConfig& c = s.config();
  // The refused combinations are usage errors of parse_flags (config/flags.cpp validate()).
  s.mode_warnings = check_mode_flags(c).warnings;
  for (const auto& w : s.mode_warnings) log::warn("{}", w);
  s.mode = &modes::select_mode(c);
  s.mode_source = s.mode->load(c, s.plan.yaml);
  if (c.enable_autoscaling) s.own_observers.push_back(std::make_unique<features::Autoscaling>());
  s.own_observers.push_back(std::make_unique<features::ModeSummary>(s, c));
  if (c.precondition) s.own_observers.push_back(std::make_unique<features::Precondition>());
  if (!c.io_trace_log.empty()) {
    auto trace = std::make_unique<features::IoTrace>(c);
    s.io_trace = trace.get();
    s.own_observers.push_back(std::move(trace));
  }
  if (c.enable_rag) {
    auto rag = std::make_unique<features::Rag>(c, s.plan.yaml, s.plan.model, s.data.workload_seed);
    s.rag = &rag->workload();
    s.own_observers.push_back(std::move(rag));
  }
  s.own_observers.push_back(std::make_unique<StatusLine>(stderr_is_tty() && !c.quiet, c.duration));
  s.own_observers.push_back(std::make_unique<ReferenceAccounting>());
  s.own_observers.push_back(std::make_unique<Gauges>());
  if (!c.html_report.empty())
    s.own_observers.push_back(std::make_unique<HtmlReport>(c.html_report));
  if (!stderr_is_tty() && c.progress_interval > 0)
    s.own_observers.push_back(
        std::make_unique<ProgressRecord>(c.progress_interval, c.duration, s.plan.rank));
  for (const auto& o : s.own_observers) s.observers.push_back(o.get());
  for (RunObserver* o : s.plan.observers) s.observers.push_back(o);
}

bool null_backends(const RunState& s) {
  return s.io_trace != nullptr && s.io_trace->null_backends();
}

// The CPU tier must fit in available memory; the GPU tier per --gpu-backend.
void size_memory_tiers(RunState& s) {
  const EngineConfig& c = s.config();
  RunData& d = s.data;
  s.cpu_limit = gib_to_bytes(c.cpu_mem_gb);
  if (s.cpu_limit > 0 && !null_backends(s)) {
    const std::uint64_t avail = mem_available_bytes();
    if (avail > 0 && s.cpu_limit > avail) {
      const double suggest = std::floor(bytes_to_gib(avail) * 0.8 * 10) / 10;
      throw Error(
          ExitCode::kInvalidArguments,
          fmt::format(
              "--cpu-mem-gb: {} GiB does not fit in available memory ({:.1f} GiB MemAvailable)",
              c.cpu_mem_gb, bytes_to_gib(avail)),
          fmt::format("use --cpu-mem-gb {} or less", suggest));
    }
  }
  if (null_backends(s)) {  // --io-trace-log: GPU tier always present (reference trace mode)
    s.gpu_limit = gib_to_bytes(c.gpu_mem_gb * c.num_gpus);
    d.gpu_backend = "null";
  } else {  // engine/tier/gpu_select.hpp: none | simulated | cuda (device memory) | auto
    s.gpu = tier::plan_gpu_tier({std::string(to_text(c.gpu_backend)),
                                 c.gpu_mem_gb,
                                 c.num_gpus,
                                 c.gpu_bandwidth_gbps,
                                 s.plan.yaml.gpu_memory_fraction,
                                 {}});
    s.gpu_limit = s.gpu.limit_bytes;
    d.gpu_backend = s.gpu.backend;
    d.gpu_note = s.gpu.note;
    for (const auto& dev : s.gpu.devices)
      d.gpu_devices.push_back(
          fmt::format("{}: {} ({:.1f} GiB)", dev.ordinal, dev.name, bytes_to_gib(dev.total_bytes)));
    if (!s.gpu.note.empty()) log::warn("{}", s.gpu.note);
  }
  d.gpu_tier = s.gpu_limit > 0;
  d.cpu_tier = s.cpu_limit > 0;
}

// --probe: measures the device before the run (its chunks are not the run's).
void probe_before_run(RunState& s, const io::BackendOptions& bo) {
  const io::ProbeResult p = probe_device(s.config(), s.plan.rank, bo, " (--probe)");
  s.data.device_probe = probe_json(p);
  if (!p.ok)
    log::warn("--probe: {}", p.error);
  else
    std::fprintf(stdout, "Device probe: write %.2f GiB/s, read %.2f GiB/s (%s)\n", p.write_gibps,
                 p.read_gibps, p.backend.c_str());
}

// The owned cache directory, the optional probe and the storage backend; sizes the storage tier.
void open_storage(RunState& s) {
  const EngineConfig& c = s.config();
  RunData& d = s.data;
  s.dir = CacheDir::open(c.cache_dir);
  d.cache_dir = s.dir->path().string();
  d.cache_dir_temporary = s.dir->temporary();
  d.stale_files_removed = s.dir->stale_removed();
  d.foreign_npy_files = s.dir->foreign_npy();
  io::BackendOptions bo = backend_options(c, s.dir->path());
  if (c.probe) probe_before_run(s, bo);
  bo.chunk_observer = &s.chunk_latency;
  bo.stop = &s.io_stop;  // set at the end of the drain (window.cpp)
  io::BackendChoice choice = io::make_backend(bo);
  d.io.engine = choice.engine == io::Engine::kIoUring ? IoEngine::kIoUring : IoEngine::kPosix;
  d.io.backend = choice.backend->name();
  d.io.direct_io = choice.direct_io;
  d.io.sync_mode = c.sync_mode;
  d.io.payload = c.payload;
  d.io.chunk_bytes = bo.chunk_bytes;
  d.io.io_depth = bo.io_depth;
  d.io.max_inflight_bytes = bo.max_inflight_bytes;
  d.io.fallbacks = choice.fallbacks;
  s.raw_backend = choice.backend.get();
  s.backend = std::move(choice.backend);

  s.storage_limit = c.storage_capacity_gb > 0 ? gib_to_bytes(c.storage_capacity_gb)
                    : null_backends(s)        ? cache::kUnlimited  // no real space used
                                              : auto_storage_capacity(s.dir->path());
  if (null_backends(s)) d.io.backend = "null (--io-trace-log: no real I/O)";
  if (c.storage_capacity_gb <= 0 && s.storage_limit != cache::kUnlimited)
    for (const RunObserver* o : s.observers)  // MPI ranks on the same filesystem
      s.storage_limit /= std::max(1u, o->capacity_sharers());
  d.storage_capacity_bytes = s.storage_limit == cache::kUnlimited ? 0 : s.storage_limit;
}

void build_cache(RunState& s) {
  const EngineConfig& c = s.config();
  const YamlSettings& y = s.plan.yaml;
  s.payload = std::make_unique<io::PayloadGenerator>(
      s.data.payload_seed,
      c.payload == PayloadMode::kStamped ? io::PayloadMode::kStamped : io::PayloadMode::kFull);
  s.series = std::make_unique<metrics::TimeSeries>(static_cast<std::uint32_t>(c.duration) + 600);
  std::vector<std::unique_ptr<tier::Tier>> tiers;
  if (null_backends(s)) {
    tiers = s.io_trace->null_tiers(s.gpu_limit > 0, s.cpu_limit > 0);
  } else {
    if (s.gpu_limit > 0) tiers.push_back(s.gpu.make_tier(*s.payload));
    if (s.cpu_limit > 0) tiers.push_back(tier::make_cpu_tier(*s.payload));
    tiers.push_back(tier::make_storage_tier(
        s.dir->wrap(count_in_flight(std::move(s.backend), s.storage_ops_in_flight))));
    s.storage_ops_counted = true;
  }
  if (s.io_trace != nullptr) s.io_trace->wrap_tiers(tiers);
  cache::CacheConfig cc;
  cc.gpu_limit = s.gpu_limit;
  cc.cpu_limit = s.cpu_limit;
  cc.storage_limit = s.storage_limit;
  cc.target_usage_ratio = y.target_usage_ratio;
  cc.large_entry_limit_ratio = y.large_entry_limit_ratio;
  cc.max_recursion_depth = y.max_recursion_depth;
  cc.max_evictions_hard_cap = y.max_evictions_hard_cap;
  cc.max_evictions_min = y.max_evictions_min;
  cc.max_concurrent_allocs = c.max_concurrent_allocs;
  cc.tensor_parallel = c.tensor_parallel;
  cc.model = s.plan.model;
  s.cache =
      std::make_unique<cache::MultiTierCache>(cc, std::move(tiers), *s.payload, s.series.get());
  s.store = std::make_unique<CacheStore>(*s.cache);
}

// Synthetic users drive the run (no dataset or trace replay).
bool synthetic_mode(const EngineConfig& c) {
  return c.dataset_path.empty() && !c.use_burst_trace && c.mooncake_trace.empty();
}

// The user templates and QoS thresholds of the configuration.
workload::UserSettings user_settings(const YamlSettings& y) {
  workload::UserSettings us;
  us.templates = y.user_templates;
  us.qos = y.qos;
  us.interactive_probability = y.interactive_probability;
  us.responsive_threshold = y.responsive_threshold;
  return us;
}

// Users (with autoscaling: the whole pool it may start), the banner, and the request processor.
void build_workload(RunState& s) {
  const EngineConfig& c = s.config();
  const YamlSettings& y = s.plan.yaml;
  const workload::UserSettings us = user_settings(y);
  s.users = workload::generate_users(features::user_pool(c, y), s.data.workload_seed, us);
  s.data.workers = features::worker_count(
      c, y, std::min<unsigned>(static_cast<unsigned>(c.num_users), kMaxWorkers));

  const std::vector<workload::UserProfile> initial(s.users.begin(), s.users.begin() + c.num_users);
  if (synthetic_mode(c)) s.data.user_population = workload::users_json(initial, us);
  if (s.plan.rank == 0) {  // an MPI job prints one banner (rank 0's); rank 0 prints every rank
    std::fputs(banner_text(s.data, initial).c_str(), stdout);
    std::fflush(stdout);
  }

  s.conversations = std::make_unique<workload::ConversationManager>(
      static_cast<std::size_t>(y.max_conversations),
      static_cast<std::uint32_t>(y.max_turns_per_conv));
  workload::ProcessSettings& ps = s.process_settings;
  ps.prefill_only = c.prefill_only;
  ps.decode_only = c.decode_only;
  ps.decode_batch = y.decode_batch_size;
  ps.generation_s_per_token = y.generation_s_per_token(c.generation_mode);
  ps.bytes_per_token = s.plan.model.bytes_per_token();
  s.request_store = s.io_trace != nullptr ? &s.io_trace->wrap_store(*s.store) : s.store.get();
  modes::ModeSource* own = s.mode_source->processes_requests() ? s.mode_source.get() : nullptr;
  if (own != nullptr) own->start_processing(ps, s.stop);
  if (own != nullptr || s.rag != nullptr) {
    s.request_hooks = std::make_unique<features::RequestHooks>(own, s.rag, s.stop);
    ps.hooks = s.request_hooks.get();
  }
  ps.drain_end = &s.drain_end;  // in-flight requests run on during the drain (window.cpp)
  s.processor =
      std::make_unique<workload::RequestProcessor>(*s.request_store, s.prefix, ps, s.stop);

  workload::FactorySettings& fs = s.factory_settings;
  fs.multi_turn = !c.disable_multi_turn;
  fs.prefix_caching = !c.disable_prefix_caching;
  fs.prefix_probability = y.system_prompt_hit_probability;
  fs.continue_probability = 1.0 - y.end_conversation_probability;
  fs.write_only_threshold = model::kPrefillOnlyContextThreshold;
}

}  // namespace

int list_users(const RunPlan& plan) {
  const EngineConfig& c = plan.config;
  const bool synthetic = synthetic_mode(c);
  if (!c.seed)
    log::warn("--list-users without --seed: a random population (a run draws another one)");
  const std::int64_t seed = c.seed ? *c.seed : static_cast<std::int64_t>(std::random_device{}());
  const workload::UserSettings us = user_settings(plan.yaml);
  std::vector<workload::UserProfile> users;
  if (synthetic)
    users = workload::generate_users(static_cast<std::uint32_t>(c.num_users), seed, us);
  else
    log::warn("--list-users: a replay mode simulates no synthetic users (empty list)");
  std::fputs((workload::users_json(users, us).dump(1) + "\n").c_str(), stdout);
  return 0;
}

Run::Assembled Run::assemble(const RunPlan& plan) {
  signals::install();
  auto s = std::make_unique<RunState>(plan);
  begin(*s);
  add_features(*s);
  size_memory_tiers(*s);
  open_storage(*s);
  build_cache(*s);
  build_workload(*s);
  return Assembled(std::move(s));
}

RunPhase::RunPhase(std::unique_ptr<RunState> s) : s_(std::move(s)) {}
RunPhase::RunPhase(RunPhase&&) noexcept = default;
RunPhase::~RunPhase() = default;

}  // namespace kv::engine::run
