// Per-second time series. Slots live in blocks of kBlockSeconds seconds; a fixed table of atomic
// block pointers (sized from max_seconds) is filled on first touch with a CAS, so add() never takes
// a lock and allocates at most once per block (every ~64 s of run time).
#include "engine/metrics/timeseries.hpp"

#include <array>
#include <string>

#include "core/error.hpp"

namespace kv::metrics {

namespace {

constexpr std::uint32_t kBlockSeconds = 64;
constexpr int kTiers = 3;
constexpr int kDirs = 2;
constexpr int kCounters = kTiers * kDirs * 2;  // bytes + ops per (tier, dir)

const char* tier_name(int t) {
  static const char* const names[kTiers] = {"gpu", "cpu", "storage"};
  return names[t];
}
const char* dir_name(int d) { return d == 0 ? "read" : "write"; }

int counter_index(int tier, int dir, bool ops) { return (tier * kDirs + dir) * 2 + (ops ? 1 : 0); }

std::string counter_key(int tier, int dir, bool ops) {
  return std::string(tier_name(tier)) + "_" + dir_name(dir) + (ops ? "_ops" : "_bytes");
}

constexpr std::int64_t kSecondNs = 1'000'000'000;

}  // namespace

const char* gauge_key(Gauge g) {
  static const char* const keys[kGaugeCount] = {"queue_depth",           "requests_in_service",
                                                "storage_ops_in_flight", "gpu_used_bytes",
                                                "cpu_used_bytes",        "storage_used_bytes"};
  return keys[static_cast<int>(g)];
}

std::uint32_t rows_for(std::int64_t elapsed_ns) {
  if (elapsed_ns <= 0) return 0;
  return static_cast<std::uint32_t>((elapsed_ns + kSecondNs - 1) / kSecondNs);
}

struct TimeSeries::Impl {
  struct Slot {
    std::array<std::atomic<std::uint64_t>, kCounters> c{};
    std::array<std::atomic<std::uint64_t>, kGaugeCount> g{};
    std::atomic<std::uint32_t> sampled{0};  // bit i: gauge i has a value in this row
  };
  struct Block {
    std::array<Slot, kBlockSeconds> slots{};
  };

  explicit Impl(std::uint32_t max_s)
      : max_seconds(max_s), blocks((max_s + kBlockSeconds - 1) / kBlockSeconds) {}
  ~Impl() {
    for (auto& b : blocks) delete b.load(std::memory_order_relaxed);
  }

  // Slot for second `s` (< max_seconds), allocating its block if needed.
  Slot& slot(std::uint32_t s) {
    auto& ptr = blocks[s / kBlockSeconds];
    Block* b = ptr.load(std::memory_order_acquire);
    if (b == nullptr) {
      auto* fresh = new Block();
      if (ptr.compare_exchange_strong(b, fresh, std::memory_order_acq_rel, std::memory_order_acquire)) {
        b = fresh;
      } else {
        delete fresh;  // another thread won; b now holds its block
      }
    }
    return b->slots[s % kBlockSeconds];
  }
  // Read-only access; nullptr when the block was never touched.
  const Slot* peek(std::uint32_t s) const {
    if (s >= max_seconds) return nullptr;
    const Block* b = blocks[s / kBlockSeconds].load(std::memory_order_acquire);
    return b ? &b->slots[s % kBlockSeconds] : nullptr;
  }

  const std::uint32_t max_seconds;
  std::vector<std::atomic<Block*>> blocks;
  std::atomic<std::int64_t> t0{0};
  std::atomic<bool> started{false};
  std::atomic<std::uint32_t> used{0};  // highest touched second + 1
  std::atomic<std::uint32_t> gauge_columns{0};  // bit i: gauge i was ever set (its column exists)

  void touch(std::uint32_t s) {
    std::uint32_t prev = used.load(std::memory_order_relaxed);
    while (prev < s + 1 && !used.compare_exchange_weak(prev, s + 1, std::memory_order_relaxed)) {
    }
  }
  // Adds `v` to gauge i of row s (set_gauges on a fresh row, merge_json across ranks).
  void add_gauge(std::uint32_t s, int i, std::uint64_t v) {
    auto& sl = slot(s);
    sl.g[static_cast<std::size_t>(i)].fetch_add(v, std::memory_order_relaxed);
    sl.sampled.fetch_or(1u << i, std::memory_order_relaxed);
    gauge_columns.fetch_or(1u << i, std::memory_order_relaxed);
    touch(s);
  }
};

TimeSeries::TimeSeries(std::uint32_t max_seconds) : impl_(std::make_shared<Impl>(max_seconds)) {}

void TimeSeries::start(std::int64_t t0_mono_ns) {
  impl_->t0.store(t0_mono_ns, std::memory_order_relaxed);
  impl_->started.store(true, std::memory_order_release);
}

void TimeSeries::add(SeriesTier tier, SeriesDir dir, std::uint64_t bytes, std::int64_t t_mono_ns) {
  Impl& im = *impl_;
  if (!im.started.load(std::memory_order_acquire)) return;
  const std::int64_t dt = t_mono_ns - im.t0.load(std::memory_order_relaxed);
  const std::int64_t sec64 = dt < 0 ? 0 : dt / 1'000'000'000;
  if (sec64 >= static_cast<std::int64_t>(im.max_seconds)) return;  // beyond the window: dropped
  const auto sec = static_cast<std::uint32_t>(sec64);
  const int t = static_cast<int>(tier);
  const int d = static_cast<int>(dir);
  auto& slot = im.slot(sec);
  slot.c[counter_index(t, d, false)].fetch_add(bytes, std::memory_order_relaxed);
  slot.c[counter_index(t, d, true)].fetch_add(1, std::memory_order_relaxed);
  im.touch(sec);
}

void TimeSeries::set_gauges(std::uint32_t second, const GaugeValues& values) {
  Impl& im = *impl_;
  if (second >= im.max_seconds) return;
  for (int i = 0; i < kGaugeCount; ++i) {
    const auto& v = values[static_cast<std::size_t>(i)];
    if (!v) continue;
    auto& g = im.slot(second).g[static_cast<std::size_t>(i)];
    g.store(0, std::memory_order_relaxed);  // a sample replaces, never adds to, an earlier one
    im.add_gauge(second, i, *v);
  }
}

std::uint32_t TimeSeries::seconds_used() const { return impl_->used.load(std::memory_order_relaxed); }

nlohmann::json TimeSeries::to_json(std::uint32_t seconds) const {
  nlohmann::json out = nlohmann::json::array();
  for (std::uint32_t s = 0; s < seconds; ++s) {
    const Impl::Slot* slot = impl_->peek(s);
    nlohmann::json row = {{"t", s}};
    for (int t = 0; t < kTiers; ++t)
      for (int d = 0; d < kDirs; ++d)
        for (bool ops : {false, true}) {
          const std::uint64_t v =
              slot ? slot->c[counter_index(t, d, ops)].load(std::memory_order_relaxed) : 0;
          row[counter_key(t, d, ops)] = v;
        }
    const std::uint32_t columns = impl_->gauge_columns.load(std::memory_order_relaxed);
    const std::uint32_t sampled = slot ? slot->sampled.load(std::memory_order_relaxed) : 0;
    for (int i = 0; i < kGaugeCount; ++i) {
      if ((columns & (1u << i)) == 0) continue;
      const char* key = gauge_key(static_cast<Gauge>(i));
      if ((sampled & (1u << i)) != 0)
        row[key] = slot->g[static_cast<std::size_t>(i)].load(std::memory_order_relaxed);
      else
        row[key] = nullptr;
    }
    out.push_back(std::move(row));
  }
  return out;
}

void TimeSeries::merge_json(const nlohmann::json& other) {
  auto bad = [](const std::string& what) {
    return Error(ExitCode::kInvalidArguments, "time series JSON: " + what);
  };
  if (!other.is_array()) throw bad("expected an array of per-second rows");
  Impl& im = *impl_;
  try {
    for (const auto& row : other) {
      const auto s64 = row.at("t").get<std::int64_t>();
      if (s64 < 0) throw bad("negative second index");
      if (s64 >= static_cast<std::int64_t>(im.max_seconds)) continue;  // outside our window
      const auto s = static_cast<std::uint32_t>(s64);
      bool any = false;
      for (int t = 0; t < kTiers && !any; ++t)
        for (int d = 0; d < kDirs && !any; ++d)
          for (bool ops : {false, true})
            if (row.value(counter_key(t, d, ops), std::uint64_t{0}) != 0) any = true;
      for (int i = 0; i < kGaugeCount; ++i) {  // a rank's gauge sample: added to the row's
        auto it = row.find(gauge_key(static_cast<Gauge>(i)));
        if (it == row.end() || it->is_null()) continue;
        if (!it->is_number_integer() || (!it->is_number_unsigned() && it->get<std::int64_t>() < 0))
          throw bad(it.key() + ": expected a count or null");
        im.add_gauge(s, i, it->get<std::uint64_t>());
      }
      if (!any) continue;  // don't allocate blocks for empty rows
      auto& slot = im.slot(s);
      for (int t = 0; t < kTiers; ++t)
        for (int d = 0; d < kDirs; ++d)
          for (bool ops : {false, true}) {
            const auto v = row.value(counter_key(t, d, ops), std::uint64_t{0});
            slot.c[counter_index(t, d, ops)].fetch_add(v, std::memory_order_relaxed);
          }
      im.touch(s);
    }
  } catch (const nlohmann::json::exception& e) {
    throw bad(e.what());
  }
}

void GaugeSampler::start(std::int64_t t0_ns) {
  t0_ = t0_ns;
  started_ = true;
  next_ = 0;
}

std::optional<std::uint32_t> GaugeSampler::tick(std::int64_t now_ns) {
  if (!started_ || now_ns < t0_) return std::nullopt;
  const std::int64_t ended = (now_ns - t0_) / kSecondNs;  // seconds of the window that ended
  if (ended <= static_cast<std::int64_t>(next_)) return std::nullopt;
  const auto row = static_cast<std::uint32_t>(ended - 1);
  series_.set_gauges(row, read_());
  next_ = row + 1;
  return row;
}

std::optional<std::uint32_t> GaugeSampler::stop(std::int64_t stop_ns) {
  if (!started_ || stop_ns < t0_) return std::nullopt;
  const std::uint32_t rows = rows_for(stop_ns - t0_);
  if (rows == 0 || rows - 1 < next_) return std::nullopt;
  const GaugeValues v = read_();
  // The latest whole second that ended since the last sample (the run loop stops at the deadline
  // before its tick there), then the partial last row.
  const auto ended = static_cast<std::uint32_t>((stop_ns - t0_) / kSecondNs);
  if (ended > next_) series_.set_gauges(ended - 1, v);
  series_.set_gauges(rows - 1, v);
  next_ = rows;
  return rows - 1;
}

}  // namespace kv::metrics
