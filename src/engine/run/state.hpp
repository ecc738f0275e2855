// RunState: the one owner of everything a run builds. The phases (run/run.hpp) fill it in order;
// observers read it. Everything the worker threads touch lives here, in one heap object, so the
// abandon path (workers still inside a long I/O after the bounded join) can exit the process
// without destroying anything under them: it simply never frees the RunState.
// Members are declared in creation order, so destruction runs in the reverse order (the cache,
// which writes through the tiers and the trace, goes before the workload modes and the directory).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/cache/cache.hpp"
#include "engine/cache_dir.hpp"
#include "engine/chunk_latency.hpp"
#include "engine/io/payload.hpp"
#include "engine/metrics/timeseries.hpp"
#include "engine/modes/modes.hpp"
#include "engine/results.hpp"
#include "engine/run/observer.hpp"
#include "engine/run/plan.hpp"
#include "engine/run/recorder.hpp"
#include "engine/tier/gpu_select.hpp"
#include "engine/workload/conversation.hpp"
#include "engine/workload/prefix.hpp"
#include "engine/workload/processor.hpp"
#include "engine/workload/request_factory.hpp"
#include "engine/workload/request_queue.hpp"
#include "engine/workload/stop.hpp"
#include "engine/workload/users.hpp"

namespace kv::engine::run {

// The cache as the workload's KvStore.
class CacheStore final : public workload::KvStore {
 public:
  explicit CacheStore(cache::MultiTierCache& c) : c_(c) {}
  cache::AllocResult allocate(const std::string& key, std::uint64_t tokens,
                              cache::Phase phase) override {
    return c_.allocate(key, tokens, phase);
  }
  cache::AccessResult access(const std::string& key, cache::Phase phase,
                             cache::CacheType type) override {
    return c_.access(key, phase, type);
  }
  bool contains(const std::string& key) const override { return c_.contains(key); }

 private:
  cache::MultiTierCache& c_;
};

// The worker threads and their bounded join at the stop.
struct WorkerPool {
  std::vector<std::thread> threads;
  std::mutex mu;
  std::condition_variable cv;
  std::atomic<unsigned> done{0};
};

struct RunState {
  explicit RunState(const RunPlan& p) : plan(p), clock(*p.clock) {}
  RunState(const RunState&) = delete;
  RunState& operator=(const RunState&) = delete;

  const EngineConfig& config() const { return plan.config; }

  // ---- assemble ----
  const RunPlan plan;
  const Clock& clock;
  std::vector<RunObserver*> observers;  // plan.observers, then the mode features
  RunData data;
  std::filesystem::path output;
  std::unique_ptr<modes::WorkloadModes> modes;
  std::vector<std::unique_ptr<RunObserver>> own_observers;  // features the run added itself
  std::unique_ptr<CacheDir> dir;
  ChunkLatency chunk_latency;  // outlives the backend
  io::IoStop io_stop;  // the drain deadline for in-flight I/O (window.cpp); outlives the backend
  // The storage backend until the storage tier takes it (with null tiers, --io-trace-log without
  // real I/O, it stays here); raw_backend reads its counters either way.
  std::unique_ptr<io::StorageBackend> backend;
  io::StorageBackend* raw_backend = nullptr;
  tier::GpuTierPlan gpu;  // chosen in assemble; its CUDA tier moves into the cache
  std::uint64_t gpu_limit = 0, cpu_limit = 0, storage_limit = 0;
  std::unique_ptr<io::PayloadGenerator> payload;
  std::unique_ptr<metrics::TimeSeries> series;
  std::unique_ptr<cache::MultiTierCache> cache;
  std::unique_ptr<CacheStore> store;
  std::vector<workload::UserProfile> users;
  std::unique_ptr<workload::ConversationManager> conversations;
  workload::PrefixCache prefix;
  workload::StopFlag stop;
  // Raised at the drain deadline: requests in flight at the stop end there (window.cpp).
  workload::StopFlag drain_end;
  workload::ProcessSettings process_settings;
  workload::FactorySettings factory_settings;
  std::unique_ptr<workload::RequestProcessor> processor;

  // ---- prepare ----
  std::unique_ptr<workload::RequestFactory> factory;
  workload::RequestQueue queue;
  std::unique_ptr<Recorder> recorder;
  modes::Producer* producer = nullptr;  // owned by `modes`

  // ---- window ----
  WorkerPool workers;
  std::int64_t t0_ns = 0;
  std::int64_t stop_ns = 0;
  bool workers_joined = false;  // false: some are still in an I/O (abandon path)
};

}  // namespace kv::engine::run
