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
#include "engine/modes/producers.hpp"
#include "engine/modes/rag.hpp"
#include "engine/modes/registry.hpp"
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

namespace features {
class IoTrace;
}

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
  std::atomic<unsigned> busy{0};  // workers holding a request (dequeued, not yet recorded)
};

struct RunState {
  explicit RunState(const RunPlan& p) : plan(p), clock(*p.clock) {}
  RunState(const RunState&) = delete;
  RunState& operator=(const RunState&) = delete;

  const EngineConfig& config() const { return plan.config; }

  // ---- assemble ----
  const RunPlan plan;
  const Clock& clock;
  std::vector<RunObserver*> observers;  // the run's own first, then plan.observers
  RunData data;
  std::filesystem::path output;
  const modes::ModeEntry* mode = nullptr;          // the selected workload mode
  std::unique_ptr<modes::ModeSource> mode_source;  // its loaded input
  std::vector<std::string> mode_warnings;          // mode flags ignored (also in the results)
  std::vector<std::unique_ptr<RunObserver>> own_observers;  // features the run added itself
  features::IoTrace* io_trace = nullptr;                    // in own_observers, if any
  modes::RagWorkload* rag = nullptr;                        // in own_observers, if any
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
  // Object reads + writes inside the storage backend now (run/gauges.hpp count_in_flight), the
  // storage_ops_in_flight gauge; counted only when the storage tier does real I/O.
  std::atomic<std::uint32_t> storage_ops_in_flight{0};
  bool storage_ops_counted = false;
  std::unique_ptr<cache::MultiTierCache> cache;
  std::unique_ptr<CacheStore> store;
  workload::KvStore* request_store = nullptr;  // what requests and RAG ingestion write through
  std::vector<workload::UserProfile> users;
  std::unique_ptr<workload::ConversationManager> conversations;
  workload::PrefixCache prefix;
  workload::StopFlag stop;
  // Raised at the drain deadline: requests in flight at the stop end there (window.cpp).
  workload::StopFlag drain_end;
  workload::ProcessSettings process_settings;
  workload::FactorySettings factory_settings;
  std::unique_ptr<workload::RequestHooks> request_hooks;  // the mode's and RAG's
  std::unique_ptr<workload::RequestProcessor> processor;

  // ---- prepare ----
  std::unique_ptr<workload::RequestFactory> factory;
  workload::RequestQueue queue;
  std::unique_ptr<Recorder> recorder;
  std::unique_ptr<modes::Producer> producer_owner;
  modes::Producer* producer = nullptr;

  // ---- window ----
  WorkerPool workers;
  std::int64_t t0_ns = 0;
  std::int64_t stop_ns = 0;
  bool workers_joined = false;  // false: some are still in an I/O (abandon path)
};

}  // namespace kv::engine::run
