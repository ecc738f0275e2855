#include "engine/run/gauges.hpp"

#include "engine/run/state.hpp"

namespace kv::engine::run {

namespace {

using metrics::Gauge;

class InFlightBackend final : public io::StorageBackend {
 public:
  InFlightBackend(std::unique_ptr<io::StorageBackend> inner, std::atomic<std::uint32_t>& n)
      : inner_(std::move(inner)), n_(n) {}
  const char* name() const override { return inner_->name(); }
  io::IoResult write(const io::ObjectSpec& spec, const io::PayloadSource& src) override {
    Count c(n_);
    return inner_->write(spec, src);
  }
  io::IoResult read(const io::ObjectSpec& spec, io::PayloadSink* sink) override {
    Count c(n_);
    return inner_->read(spec, sink);
  }
  bool remove(const std::string& key) override { return inner_->remove(key); }
  std::filesystem::path path_for(const std::string& key) const override {
    return inner_->path_for(key);
  }
  std::uint64_t peak_inflight_bytes() const override { return inner_->peak_inflight_bytes(); }

 private:
  struct Count {
    explicit Count(std::atomic<std::uint32_t>& n) : n_(n) {
      n_.fetch_add(1, std::memory_order_relaxed);
    }
    ~Count() { n_.fetch_sub(1, std::memory_order_relaxed); }
    Count(const Count&) = delete;
    Count& operator=(const Count&) = delete;
    std::atomic<std::uint32_t>& n_;
  };
  std::unique_ptr<io::StorageBackend> inner_;
  std::atomic<std::uint32_t>& n_;
};

void put(metrics::GaugeValues& v, Gauge g, std::optional<std::uint64_t> x) {
  v[static_cast<std::size_t>(g)] = x;
}

}  // namespace

metrics::GaugeValues read_gauges(const RunState& s) {
  metrics::GaugeValues v;
  put(v, Gauge::kQueueDepth, s.queue.size());
  put(v, Gauge::kRequestsInService, s.workers.busy.load(std::memory_order_relaxed));
  if (s.storage_ops_counted)
    put(v, Gauge::kStorageOpsInFlight, s.storage_ops_in_flight.load(std::memory_order_relaxed));
  const auto used = s.cache->usage_now();
  put(v, Gauge::kGpuUsedBytes, used[static_cast<std::size_t>(tier::TierId::kGpu)]);
  put(v, Gauge::kCpuUsedBytes, used[static_cast<std::size_t>(tier::TierId::kCpu)]);
  put(v, Gauge::kStorageUsedBytes, used[static_cast<std::size_t>(tier::TierId::kStorage)]);
  return v;
}

void Gauges::on_window_start(RunState& s) {
  const RunState* state = &s;
  sampler_.emplace(*s.series, [state] { return read_gauges(*state); });
  sampler_->start(s.t0_ns);
}

void Gauges::on_tick(const RunState& /*s*/, std::int64_t now_ns) {
  if (sampler_) sampler_->tick(now_ns);
}

void Gauges::on_stop(const RunState& s) {
  if (sampler_) sampler_->stop(s.stop_ns);
}

std::unique_ptr<io::StorageBackend> count_in_flight(std::unique_ptr<io::StorageBackend> inner,
                                                    std::atomic<std::uint32_t>& in_flight) {
  return std::make_unique<InFlightBackend>(std::move(inner), in_flight);
}

}  // namespace kv::engine::run
