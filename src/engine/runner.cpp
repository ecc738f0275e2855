#include "engine/runner.hpp"

#include "engine/chunk_latency.hpp"

#include <sys/statvfs.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <random>
#include <thread>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/log.hpp"
#include "core/units.hpp"
#include "engine/cache/cache.hpp"
#include "engine/cache_dir.hpp"
#include "engine/io/backend.hpp"
#include "engine/io/payload.hpp"
#include "engine/io/probe.hpp"
#include "engine/metrics/resources.hpp"
#include "engine/metrics/timeseries.hpp"
#include "engine/modes/modes.hpp"
#include "engine/results.hpp"
#include "engine/status_line.hpp"
#include "engine/summary.hpp"
#include "engine/tier/tier.hpp"
#include "engine/workload/conversation.hpp"
#include "engine/workload/prefix.hpp"
#include "engine/workload/processor.hpp"
#include "engine/workload/producers.hpp"
#include "engine/workload/request_factory.hpp"
#include "engine/workload/request_queue.hpp"
#include "engine/workload/stop.hpp"
#include "engine/workload/users.hpp"

namespace kv::engine {

namespace {

using namespace std::chrono_literals;

constexpr double kJoinTimeoutS = 1.0;  // bounded join of in-flight workers at stop (reference: 2 s)
constexpr unsigned kMaxWorkers = 500;

// ---- signals: the handler only sets a flag; the main loop turns it into a stop ----
volatile std::sig_atomic_t g_signal = 0;
extern "C" void on_stop_signal(int sig) {
  if (g_signal != 0) ::_exit(8);  // second signal: leave now
  g_signal = sig;
}
void install_signals() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGUSR1, &sa, nullptr);  // graceful stop that mpirun forwards to every rank
}

class CacheStore final : public workload::KvStore {
 public:
  explicit CacheStore(cache::MultiTierCache& c) : c_(c) {}
  cache::AllocResult allocate(const std::string& key, std::uint64_t tokens, cache::Phase phase) override {
    return c_.allocate(key, tokens, phase);
  }
  cache::AccessResult access(const std::string& key, cache::Phase phase, cache::CacheType type) override {
    return c_.access(key, phase, type);
  }
  bool contains(const std::string& key) const override { return c_.contains(key); }

 private:
  cache::MultiTierCache& c_;
};

// Per-request results; only requests completed before the stop instant count (§5.1).
class Recorder {
 public:
  Recorder(RunData& d, workload::StopFlag& stop, int max_requests, const model::ModelConfig& m, int tp)
      : d_(d), stop_(stop), max_requests_(max_requests), model_(m), tp_(tp) {}

  void record(const workload::Request& req, const workload::RequestOutcome& o, std::int64_t dequeue_ns,
              std::int64_t done_ns) {
    bool request_stop = false;
    {
      std::lock_guard lk(mu_);
      ++finished_;
      if (stopped_) {
        after_stop_.fetch_add(1, std::memory_order_relaxed);
        return;
      }
      switch (o.status) {
        case workload::OutcomeStatus::kInterrupted:
          ++d_.interrupted_requests;
          return;
        case workload::OutcomeStatus::kFailed:
          ++d_.failed_requests;
          if (d_.failure_examples.size() < 5) d_.failure_examples.push_back(o.failure);
          return;
        case workload::OutcomeStatus::kCompleted:
          break;
      }
      ++d_.requests_completed;
      d_.total_tokens += req.generate_tokens;
      const double e2e = static_cast<double>(done_ns - req.submit_ns) * 1e-9;
      d_.e2e_s.push_back(e2e);
      d_.storage_s.push_back(o.storage_s);
      d_.generation_s.push_back(o.generation_s);
      if (o.wrote_prefill) {
        d_.prefill_s.push_back(o.prefill_s);
        d_.prefill_bytes.push_back(model_.object_bytes(req.context_tokens, tp_));
      }
      if (o.decoded) d_.decode_s.push_back(o.decode_s);
      d_.queue_wait_s.push_back(static_cast<double>(dequeue_ns - req.submit_ns) * 1e-9);
      if (o.first_token_ns > 0) d_.ttft_s.push_back(static_cast<double>(o.first_token_ns - req.submit_ns) * 1e-9);
      d_.qos_e2e_s[static_cast<std::size_t>(req.qos)].push_back(e2e);
      if (max_requests_ > 0 && d_.requests_completed >= static_cast<std::uint64_t>(max_requests_)) {
        stopped_ = true;
        stop_ns_ = done_ns;
        reason_ = "max_requests";
        request_stop = true;
      }
    }
    if (request_stop) stop_.request_stop();
  }

  // Marks the stop instant (first caller wins). Returns the instant and the reason.
  std::pair<std::int64_t, std::string> stop_now(const std::string& reason) {
    std::lock_guard lk(mu_);
    if (!stopped_) {
      stopped_ = true;
      stop_ns_ = kv::mono_ns();
      reason_ = reason;
    }
    return {stop_ns_, reason_};
  }
  std::uint64_t completed() {
    std::lock_guard lk(mu_);
    return d_.requests_completed;
  }
  // Requests that finished (in any state) after the stop instant: they were in flight at stop.
  std::uint64_t after_stop() const { return after_stop_.load(); }
  // Requests that finished processing in any state (completed, failed, interrupted).
  std::uint64_t finished() {
    std::lock_guard lk(mu_);
    return finished_;
  }

 private:
  std::mutex mu_;
  RunData& d_;
  workload::StopFlag& stop_;
  int max_requests_;
  const model::ModelConfig& model_;
  int tp_;
  bool stopped_ = false;
  std::uint64_t finished_ = 0;
  std::int64_t stop_ns_ = 0;
  std::string reason_;
  std::atomic<std::uint64_t> after_stop_{0};
};

io::SyncMode parse_sync(const std::string& s) {
  if (s == "fdatasync") return io::SyncMode::kFdatasync;
  if (s == "none") return io::SyncMode::kNone;
  return io::SyncMode::kFsync;
}

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
    if (ec) throw usage_error("--output", fmt::format("cannot create directory {}: {}", parent.string(), ec.message()));
  }
  if (std::filesystem::is_directory(out, ec)) throw usage_error("--output", fmt::format("{} is a directory", out.string()));
  if (::access(parent.c_str(), W_OK) != 0)
    throw usage_error("--output", fmt::format("directory {} is not writable", parent.string()));
}

std::uint64_t auto_storage_capacity(const std::filesystem::path& dir) {
  struct statvfs v {};
  if (::statvfs(dir.c_str(), &v) != 0) return cache::kUnlimited;
  const double free_b = static_cast<double>(v.f_bavail) * static_cast<double>(v.f_frsize);
  return static_cast<std::uint64_t>(free_b * 0.95);
}

void copy_samples(const metrics::LatencyRecorder& r, std::vector<double>& out) { out = r.samples(); }

io::BackendOptions backend_options(const EngineConfig& c, const std::filesystem::path& dir) {
  io::BackendOptions bo;
  bo.dir = dir;
  bo.engine = c.io_engine == "io_uring" ? io::Engine::kIoUring : io::Engine::kPosix;
  bo.direct_io = c.direct_io;
  bo.sync = parse_sync(c.sync_mode);
  bo.chunk_bytes = static_cast<std::uint64_t>(c.io_chunk_mib) * kMiB;
  bo.io_depth = static_cast<unsigned>(c.io_depth);
  bo.max_inflight_bytes = static_cast<std::uint64_t>(c.max_inflight_mib) * kMiB;
  return bo;
}

constexpr double kProbeSeconds = 6.0;
constexpr std::uint64_t kProbeFileBytes = 256 * kMiB;
constexpr unsigned kProbeThreads = 4;

nlohmann::json probe_json(const io::ProbeResult& p) {
  return nlohmann::json{{"backend", p.backend},       {"fallbacks", p.fallbacks},
                        {"write_gibps", p.write_gibps}, {"read_gibps", p.read_gibps},
                        {"bytes_written", p.bytes_written}, {"bytes_read", p.bytes_read},
                        {"write_seconds", p.write_seconds}, {"read_seconds", p.read_seconds},
                        {"files", p.files},             {"threads", kProbeThreads},
                        {"file_bytes", kProbeFileBytes}, {"ok", p.ok},
                        {"error", p.error}};
}

}  // namespace

int run_probe_only(const EngineConfig& c) {
  std::unique_ptr<CacheDir> dir = CacheDir::open(c.cache_dir);
  std::fprintf(stdout, "Probing the storage device in %s for %.0f s: %u streams of %llu MiB objects, %s engine%s, "
                       "%d MiB chunks, depth %d, sync %s\n",
               dir->path().c_str(), kProbeSeconds, kProbeThreads,
               static_cast<unsigned long long>(kProbeFileBytes / kMiB), c.io_engine.c_str(),
               c.direct_io ? " + O_DIRECT" : "", c.io_chunk_mib, c.io_depth, c.sync_mode.c_str());
  std::fflush(stdout);
  const io::ProbeResult p = io::run_probe(backend_options(c, dir->path()), kProbeSeconds, kProbeFileBytes, kProbeThreads);
  dir->finish(false);
  for (const auto& f : p.fallbacks) std::fprintf(stdout, "  fallback: %s\n", f.c_str());
  if (!p.ok) {
    std::fprintf(stderr, "kv-cache: error: --probe-device: %s\n", p.error.c_str());
    return to_int(ExitCode::kFailure);
  }
  std::fprintf(stdout, "Backend: %s\nWrite: %.3f GiB/s (%.2f GiB in %.2f s, with %s)\nRead:  %.3f GiB/s (%.2f GiB in %.2f s)\n",
               p.backend.c_str(), p.write_gibps, bytes_to_gib(p.bytes_written), p.write_seconds, c.sync_mode.c_str(),
               p.read_gibps, bytes_to_gib(p.bytes_read), p.read_seconds);
  std::printf("%s\n", probe_json(p).dump(4).c_str());
  return 0;
}

std::uint64_t mem_available_bytes() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  std::uint64_t kb = 0;
  std::string unit;
  while (in >> key >> kb >> unit) {
    if (key == "MemAvailable:") return kb * 1024;
  }
  return 0;
}

int run_benchmark(const RunPlan& plan) {
  const EngineConfig& c = plan.config;
  install_signals();

  // Everything the worker threads touch is heap-allocated and owned here, so that the abandon path
  // (workers still in a long I/O after the bounded join) can exit without destroying it under them.
  auto d_owner = std::make_unique<RunData>();
  RunData& d = *d_owner;
  d.config = c;
  d.yaml = plan.yaml;
  d.model = plan.model;
  d.payload_seed = c.seed ? static_cast<std::uint64_t>(*c.seed) : 0;
  d.workload_seed = c.seed ? static_cast<std::uint64_t>(*c.seed) : std::random_device{}();

  const std::filesystem::path out = output_path(c);
  check_output(out);
  // Workload modes (engine/modes): loads and checks every mode input before any I/O.
  auto wm = std::make_unique<modes::WorkloadModes>(c, plan.yaml, plan.model, d.workload_seed);
  for (const auto& w : wm->warnings()) log::warn("{}", w);

  // ---- CPU tier: must fit in available memory ----
  const std::uint64_t cpu_limit = gib_to_bytes(c.cpu_mem_gb);
  if (cpu_limit > 0 && !wm->null_backends()) {
    const std::uint64_t avail = mem_available_bytes();
    if (avail > 0 && cpu_limit > avail) {
      const double suggest = std::floor(bytes_to_gib(avail) * 0.8 * 10) / 10;
      throw Error(ExitCode::kInvalidArguments,
                  fmt::format("--cpu-mem-gb: {} GiB does not fit in available memory ({:.1f} GiB MemAvailable)",
                              c.cpu_mem_gb, bytes_to_gib(avail)),
                  fmt::format("use --cpu-mem-gb {} or less", suggest));
    }
  }

  // ---- GPU tier ----
  std::uint64_t gpu_limit = 0;
  if (wm->null_backends()) {  // --io-trace-log: GPU tier always present (reference trace mode)
    gpu_limit = gib_to_bytes(c.gpu_mem_gb * c.num_gpus);
    d.gpu_backend = "null";
  } else if (c.gpu_backend == "simulated") {
    gpu_limit = gib_to_bytes(c.gpu_mem_gb * c.num_gpus);
    d.gpu_backend = "simulated";
    if (gpu_limit == 0) log::info("--gpu-backend simulated with --gpu-mem-gb 0: no GPU tier");
  } else {
    d.gpu_backend = "none";
    if (c.gpu_backend == "auto" && c.gpu_mem_gb > 0)
      log::warn("--gpu-mem-gb {} ignored: no CUDA GPU backend in this build, so the GPU tier is absent (as the "
                "reference without CUDA); use --gpu-backend simulated for a modelled GPU tier",
                c.gpu_mem_gb);
  }
  d.gpu_tier = gpu_limit > 0;
  d.cpu_tier = cpu_limit > 0;

  // ---- storage directory and backend ----
  std::unique_ptr<CacheDir> dir = CacheDir::open(c.cache_dir);
  d.cache_dir = dir->path().string();
  d.cache_dir_temporary = dir->temporary();
  d.stale_files_removed = dir->stale_removed();
  d.foreign_npy_files = dir->foreign_npy();

  ChunkLatency chunk_latency;  // outlives the backend (declared before it)
  io::BackendOptions bo = backend_options(c, dir->path());
  if (c.probe) {
    std::fprintf(stdout, "Probing the storage device in %s for %.0f s (--probe)...\n", d.cache_dir.c_str(),
                 kProbeSeconds);
    std::fflush(stdout);
    const io::ProbeResult p = io::run_probe(bo, kProbeSeconds, kProbeFileBytes, kProbeThreads);
    d.device_probe = probe_json(p);
    if (!p.ok) log::warn("--probe: {}", p.error);
    else
      std::fprintf(stdout, "Device probe: write %.2f GiB/s, read %.2f GiB/s (%s)\n", p.write_gibps, p.read_gibps,
                   p.backend.c_str());
  }
  bo.chunk_observer = &chunk_latency;  // after the probe: its chunks are not the run's
  io::BackendChoice choice = io::make_backend(bo);
  d.io.engine = choice.engine == io::Engine::kIoUring ? "io_uring" : "posix";
  d.io.backend = choice.backend->name();
  d.io.direct_io = choice.direct_io;
  d.io.sync_mode = c.sync_mode;
  d.io.chunk_bytes = bo.chunk_bytes;
  d.io.io_depth = bo.io_depth;
  d.io.max_inflight_bytes = bo.max_inflight_bytes;
  d.io.fallbacks = choice.fallbacks;
  io::StorageBackend* raw_backend = choice.backend.get();

  std::uint64_t storage_limit = c.storage_capacity_gb > 0 ? gib_to_bytes(c.storage_capacity_gb)
                                : wm->null_backends()    ? cache::kUnlimited  // no real space used
                                                         : auto_storage_capacity(dir->path());
  if (wm->null_backends()) d.io.backend = "null (--io-trace-log: no real I/O)";
  if (c.storage_capacity_gb <= 0 && plan.hooks && storage_limit != cache::kUnlimited)
    storage_limit /= std::max(1u, plan.hooks->capacity_sharers());  // MPI ranks on the same filesystem
  d.storage_capacity_bytes = storage_limit == cache::kUnlimited ? 0 : storage_limit;

  // ---- cache ----
  auto gen = std::make_unique<io::PayloadGenerator>(d.payload_seed);
  auto series = std::make_unique<metrics::TimeSeries>(static_cast<std::uint32_t>(c.duration) + 600);
  std::vector<std::unique_ptr<tier::Tier>> tiers;
  if (wm->null_backends()) {
    tiers = wm->null_tiers(gpu_limit > 0, cpu_limit > 0);
  } else {
    if (gpu_limit > 0) tiers.push_back(tier::make_simulated_gpu_tier(*gen, c.gpu_bandwidth_gbps));
    if (cpu_limit > 0) tiers.push_back(tier::make_cpu_tier(*gen));
    tiers.push_back(tier::make_storage_tier(dir->wrap(std::move(choice.backend))));
  }
  wm->wrap_tiers(tiers);
  cache::CacheConfig cc;
  cc.gpu_limit = gpu_limit;
  cc.cpu_limit = cpu_limit;
  cc.storage_limit = storage_limit;
  cc.target_usage_ratio = plan.yaml.target_usage_ratio;
  cc.large_entry_limit_ratio = plan.yaml.large_entry_limit_ratio;
  cc.max_recursion_depth = plan.yaml.max_recursion_depth;
  cc.max_evictions_hard_cap = plan.yaml.max_evictions_hard_cap;
  cc.max_evictions_min = plan.yaml.max_evictions_min;
  cc.max_concurrent_allocs = c.max_concurrent_allocs;
  cc.tensor_parallel = c.tensor_parallel;
  cc.model = plan.model;
  auto cache_owner = std::make_unique<cache::MultiTierCache>(cc, std::move(tiers), *gen, series.get());
  cache::MultiTierCache& cache = *cache_owner;
  auto store = std::make_unique<CacheStore>(cache);

  // ---- workload ----
  workload::UserSettings us;
  us.templates = plan.yaml.user_templates;
  us.qos = plan.yaml.qos;
  us.interactive_probability = plan.yaml.interactive_probability;
  us.responsive_threshold = plan.yaml.responsive_threshold;
  // With autoscaling: the whole pool of users it may start (the first num_users start the run).
  auto users = workload::generate_users(wm->user_pool(), d.workload_seed, us);
  d.workers = wm->workers(std::min<unsigned>(static_cast<unsigned>(c.num_users), kMaxWorkers));

  const std::vector<workload::UserProfile> initial(users.begin(), users.begin() + c.num_users);
  std::fputs(banner_text(d, initial).c_str(), stdout);
  std::fflush(stdout);

  auto conversations = std::make_unique<workload::ConversationManager>(
      static_cast<std::size_t>(plan.yaml.max_conversations), static_cast<std::uint32_t>(plan.yaml.max_turns_per_conv));
  auto prefix = std::make_unique<workload::PrefixCache>();
  auto stop = std::make_unique<workload::StopFlag>();
  workload::ProcessSettings ps;
  ps.prefill_only = c.prefill_only;
  ps.decode_only = c.decode_only;
  ps.decode_batch = plan.yaml.decode_batch_size;
  const std::size_t mode = c.generation_mode == "none" ? 0 : c.generation_mode == "fast" ? 1 : 2;
  ps.generation_s_per_token = plan.yaml.generation_timing[mode];
  ps.bytes_per_token = plan.model.bytes_per_token();
  ps.hooks = wm->hooks(ps, *stop);
  auto processor =
      std::make_unique<workload::RequestProcessor>(wm->store(*store), *prefix, ps, *stop);

  workload::FactorySettings fs;
  fs.multi_turn = !c.disable_multi_turn;
  fs.prefix_caching = !c.disable_prefix_caching;
  fs.prefix_probability = plan.yaml.system_prompt_hit_probability;
  fs.continue_probability = 1.0 - plan.yaml.end_conversation_probability;
  fs.write_only_threshold = model::kPrefillOnlyContextThreshold;

  wm->pre_run(cache, storage_limit, [] { return g_signal != 0; });  // --precondition, ...

  // ---- --decode-only: pre-populate num_users × 10 entries of 2048 tokens (§5.11), then reset stats ----
  if (c.decode_only) {
    cache.set_alloc_limit_enabled(false);  // no semaphore while pre-populating (reference)
    const std::uint64_t n = static_cast<std::uint64_t>(c.num_users) * 10;
    fs.prepopulated_keys = n;
    std::fprintf(stdout, "Pre-populating %llu entries of 2048 tokens for --decode-only...\n",
                 static_cast<unsigned long long>(n));
    std::fflush(stdout);
    std::atomic<std::uint64_t> next{0}, failed{0};
    const unsigned nthreads = std::max(1u, std::thread::hardware_concurrency());
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < nthreads; ++t)
      pool.emplace_back([&] {
        for (std::uint64_t i; (i = next.fetch_add(1)) < n && g_signal == 0;) {
          if (!cache.allocate(workload::RequestFactory::prepop_key(i), 2048, cache::Phase::kPrefill).ok) ++failed;
        }
      });
    for (auto& t : pool) t.join();
    for (int i = 0; i < workload::PrefixCache::kNumPrompts && !c.disable_prefix_caching; ++i) {
      const auto& p = prefix->prompt(i);
      if (!cache.allocate(p.key, p.tokens, cache::Phase::kPrefill).ok) ++failed;
    }
    if (failed > 0) log::warn("--decode-only: {} pre-population writes failed", failed.load());
    cache.set_alloc_limit_enabled(true);
    cache.reset_stats();
  }

  auto factory = std::make_unique<workload::RequestFactory>(users, d.workload_seed, fs, *conversations);
  auto queue = std::make_unique<workload::RequestQueue>();
  auto recorder = std::make_unique<Recorder>(d, *stop, c.max_requests, plan.model, c.tensor_parallel);
  modes::Producer* scheduler =
      &wm->make_producer(*factory, *queue, *stop, *conversations, fs.prepopulated_keys);

  std::fprintf(stdout, "Running for %d s with %u workers%s...\n", c.duration, d.workers,
               c.max_requests > 0 ? " (or until --max-requests)" : "");
  std::fflush(stdout);

  // ---- run ----
  auto done_mu = std::make_unique<std::mutex>();
  auto done_cv = std::make_unique<std::condition_variable>();
  auto done_count = std::make_unique<std::atomic<unsigned>>(0);
  auto workers = std::make_unique<std::vector<std::thread>>();
  if (plan.hooks) plan.hooks->before_window([] { return g_signal != 0; });  // MPI: aligned start
  const std::int64_t t0 = kv::mono_ns();
  series->start(t0);
  for (unsigned w = 0; w < d.workers && g_signal == 0; ++w) {
    // Raw pointers captured by value: the abandon path releases the owners without destroying them.
    workers->emplace_back([q = queue.get(), proc = processor.get(), rec = recorder.get(), st = stop.get(),
                           mu = done_mu.get(), cv = done_cv.get(), count = done_count.get(),
                           md = wm.get()] {
      std::string scratch;
      scratch.reserve(128);
      while (true) {
        auto req = q->pop(500ms);
        if (!req) {
          if (q->closed() || st->stopped()) break;
          continue;
        }
        if (st->stopped()) continue;
        const std::int64_t dequeue = kv::mono_ns();
        workload::RequestOutcome o = proc->process(*req, scratch);
        rec->record(*req, o, dequeue, kv::mono_ns());
        md->request_done(*req, o.status == workload::OutcomeStatus::kCompleted);
      }
      {
        std::lock_guard lk(*mu);
        count->fetch_add(1);
      }
      cv->notify_all();
    });
  }
  scheduler->start(t0);
  wm->start(t0, cache, *queue, *stop);

  StatusLine status(stderr_is_tty() && !c.quiet, c.duration);
  const std::int64_t deadline = t0 + static_cast<std::int64_t>(c.duration) * 1'000'000'000LL;
  std::string reason = "duration";
  while (true) {
    if (g_signal != 0) {
      reason = "signal";
      break;
    }
    if (stop->stopped()) {
      reason = "max_requests";
      break;
    }
    if (auto r = wm->stop_reason(recorder->finished())) {  // replay drained, or capacity found
      reason = *r;
      break;
    }
    const std::int64_t now = kv::mono_ns();
    if (now >= deadline) break;
    if (status.due(now) || now - t0 < 100'000'000) status.tick(now, t0, recorder->completed(), cache.stats());
    if (plan.hooks) plan.hooks->tick(now, t0, recorder->completed());
    stop->wait_for(std::chrono::nanoseconds(std::min<std::int64_t>(deadline - now, 50'000'000)));
  }
  const auto [stop_ns, stop_reason] = recorder->stop_now(reason);
  stop->request_stop();
  d.stats = cache.stats();  // traffic counters at the stop instant
  d.elapsed_s = static_cast<double>(stop_ns - t0) * 1e-9;
  d.stop_reason = stop_reason;
  d.interrupted = stop_reason == "signal";
  status.finish();
  if (d.interrupted) log::warn("interrupted by signal {}: stopping and writing results", static_cast<int>(g_signal));

  log::debug("stop ({}) at {:.3f} s", stop_reason, d.elapsed_s);
  d.dropped_queued = queue->close();
  scheduler->join();
  d.enqueued = scheduler->enqueued();
  d.queue_max_depth = queue->max_size();

  bool all_done = false;
  {
    std::unique_lock lk(*done_mu);
    all_done = done_cv->wait_for(lk, std::chrono::duration<double>(kJoinTimeoutS),
                                 [&] { return done_count->load() == workers->size(); });
  }
  log::debug("workers {} after {:.3f} s", all_done ? "joined" : "still busy", (kv::mono_ns() - stop_ns) * 1e-9);
  if (all_done) {
    for (auto& t : *workers) t.join();
  } else {
    // Stragglers keep running until the process exits: nothing they use is destroyed (see below).
    for (auto& t : *workers) t.detach();
    dir->seal();  // stragglers can no longer create files
    log::warn("{} worker(s) still in an I/O operation {:.0f} s after stop: not waiting for them (their requests "
              "are not counted)",
              workers->size() - done_count->load(), kJoinTimeoutS);
  }

  auto finish_run = [&]() -> int {
    // ---- results ----
    d.end_stats = cache.stats();
    const cache::CacheLatencies& lat = cache.latencies();
    for (std::size_t t = 0; t < 3; ++t) {
      copy_samples(lat.read[t], d.tier_read_s[t]);
      copy_samples(lat.write[t], d.tier_write_s[t]);
    }
    copy_samples(lat.storage_read_device, d.storage_read_device_s);
    copy_samples(lat.storage_read_host, d.storage_read_host_s);
    copy_samples(lat.storage_write_device, d.storage_write_device_s);
    copy_samples(lat.storage_write_host, d.storage_write_host_s);
    copy_samples(lat.demotion, d.demotion_s);
    d.prefix = prefix->stats();
    d.multi_turn_hits = processor->multi_turn_hits();
    d.multi_turn_misses = processor->multi_turn_misses();
    d.conversations_started = conversations->started();
    d.interrupted_requests += recorder->after_stop();
    d.timeseries = series->to_json(static_cast<std::uint32_t>(std::ceil(d.elapsed_s)));
    wm->finish(d);
    d.io.peak_inflight_bytes = raw_backend->peak_inflight_bytes();
    d.io.chunk_read = chunk_latency.read();
    d.io.chunk_write = chunk_latency.write();

    // Clean up before measuring resources, so unlink time is not hidden; then write the results.
    const CacheDir::Cleanup cleanup = dir->finish(c.keep_cache, /*background=*/true);
    d.cache_kept = cleanup.kept;
    d.files_removed_at_end = cleanup.removed;
    d.resources = metrics::resource_usage();
    log::debug("cleanup done after {:.3f} s ({} files removed)", (kv::mono_ns() - stop_ns) * 1e-9, cleanup.removed);

    const nlohmann::ordered_json results = build_results(d);
    if (!plan.hooks) {
      kv::fs::atomic_write(out, results.dump(4) + "\n");
      log::debug("results written after {:.3f} s", (kv::mono_ns() - stop_ns) * 1e-9);
      std::fputs(results_text(results, d).c_str(), stdout);
      std::fputs(wm->console_text(results).c_str(), stdout);
      std::fprintf(stdout, "Results written to %s\n", out.string().c_str());
    }
    wm->export_outputs(results, d, /*summary=*/!plan.hooks);  // --xlsx-output, --io-trace-log
    if (cleanup.kept) std::fprintf(stdout, "Cache files kept in %s (--keep-cache)\n", d.cache_dir.c_str());
    std::fflush(stdout);

    int code = to_int(ExitCode::kSuccess);
    if (d.interrupted) code = to_int(ExitCode::kInterrupted);
    else if (d.requests_completed == 0 && d.failed_requests > 0) {
      log::error("no request completed and {} failed (first: {})", d.failed_requests,
                 d.failure_examples.empty() ? "?" : d.failure_examples[0]);
      code = to_int(ExitCode::kFailure);
    }
    if (plan.hooks) code = plan.hooks->on_results(results, d, code);  // MPI: rank 0 writes the merged JSON
    return code;
  };
  if (all_done) return finish_run();
  // Workers still hold references into this frame: never return or unwind from here.
  int code = to_int(ExitCode::kFailure);
  try {
    code = finish_run();
  } catch (const Error& e) {
    std::fprintf(stderr, "%s\n", e.describe().c_str());
    code = to_int(e.code());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
  }
  std::fflush(stdout);
  std::fflush(stderr);
  if (plan.hooks) code = plan.hooks->before_abandon_exit(code);  // MPI: finish the protocol, finalise
  std::_Exit(code);
}

}  // namespace kv::engine
