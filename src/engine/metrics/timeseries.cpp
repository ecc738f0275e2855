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

}  // namespace

struct TimeSeries::Impl {
  struct Slot {
    std::array<std::atomic<std::uint64_t>, kCounters> c{};
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
  std::uint32_t prev = im.used.load(std::memory_order_relaxed);
  while (prev < sec + 1 && !im.used.compare_exchange_weak(prev, sec + 1, std::memory_order_relaxed)) {
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
      if (!any) continue;  // don't allocate blocks for empty rows
      auto& slot = im.slot(s);
      for (int t = 0; t < kTiers; ++t)
        for (int d = 0; d < kDirs; ++d)
          for (bool ops : {false, true}) {
            const auto v = row.value(counter_key(t, d, ops), std::uint64_t{0});
            slot.c[counter_index(t, d, ops)].fetch_add(v, std::memory_order_relaxed);
          }
      std::uint32_t prev = im.used.load(std::memory_order_relaxed);
      while (prev < s + 1 && !im.used.compare_exchange_weak(prev, s + 1, std::memory_order_relaxed)) {
      }
    }
  } catch (const nlohmann::json::exception& e) {
    throw bad(e.what());
  }
}

}  // namespace kv::metrics
