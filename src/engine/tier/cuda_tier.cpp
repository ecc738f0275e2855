// CUDA GPU tier (contract in cuda_tier.hpp).
#include "engine/tier/cuda_tier.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <unordered_map>

#include "core/clock.hpp"
#include "core/log.hpp"
#include "core/units.hpp"
#include "engine/tier/detail.hpp"
#include "engine/tier/slab.hpp"

namespace kv::tier {
namespace {

using cuda::CUresult;
using cuda::kSuccess;
using detail::Extent;

constexpr std::uint64_t kGranularity = 256;  // device allocation alignment for copies

struct Slot {
  std::byte* host = nullptr;  // pinned
  cuda::CUstream stream = nullptr;
};

// One device: its primary context, slab, staging slots. Owned by the tier; torn down in reverse.
struct Device {
  int ordinal = 0;
  cuda::CUdevice dev = 0;
  cuda::CUcontext ctx = nullptr;
  cuda::CUdeviceptr base = 0;
  std::unique_ptr<detail::SlabAllocator> slab;  // guarded by the tier's mutex
  std::vector<Slot> slots;
  std::vector<Slot*> free_slots;  // guarded by mu
  std::mutex mu;
  std::condition_variable cv;
};

std::string gib_text(std::uint64_t b) {
  return fmt::format("{:.2f} GiB", bytes_to_gib(b));
}

class CudaGpuTier;

struct Entry {
  CudaGpuTier* owner = nullptr;
  Device* device = nullptr;
  std::vector<Extent> extents;  // in object order
  std::uint64_t size = 0;
  ~Entry();
};

// A staging slot held for the life of this object; the device's context is current in this thread.
class SlotLease {
 public:
  SlotLease(const cuda::Api& api, Device& d) : d_(d) {
    std::unique_lock lk(d.mu);
    d.cv.wait(lk, [&] { return !d.free_slots.empty(); });
    s_ = d.free_slots.back();
    d.free_slots.pop_back();
    lk.unlock();
    ctx_rc_ = api.cuCtxSetCurrent(d.ctx);
  }
  ~SlotLease() {
    {
      std::lock_guard lk(d_.mu);
      d_.free_slots.push_back(s_);
    }
    d_.cv.notify_one();
  }
  SlotLease(const SlotLease&) = delete;
  SlotLease& operator=(const SlotLease&) = delete;
  Slot& slot() { return *s_; }
  CUresult context_status() const { return ctx_rc_; }

 private:
  Device& d_;
  Slot* s_ = nullptr;
  CUresult ctx_rc_ = kSuccess;
};

class CudaGpuTier final : public Tier {
 public:
  CudaGpuTier(std::shared_ptr<cuda::Driver> drv, std::size_t staging_bytes)
      : drv_(std::move(drv)), api_(drv_->api()), staging_bytes_(staging_bytes) {}

  ~CudaGpuTier() override {
    std::unordered_map<std::string, std::shared_ptr<Entry>> all;
    {
      std::lock_guard lk(mu_);
      all.swap(map_);
    }
    all.clear();  // entries give their extents back (no driver call)
    for (auto it = devices_.rbegin(); it != devices_.rend(); ++it) teardown(**it);
  }

  TierId id() const override { return TierId::kGpu; }

  // Opens one device: context, slab, staging. On failure sets `failure`/`message`; what was
  // created is released by the destructor.
  bool add_device(int ordinal, const CudaTierOptions& opt, CudaFailure& failure,
                  std::string& message) {
    auto d = std::make_unique<Device>();
    Device& dev = *d;
    dev.ordinal = ordinal;
    devices_.push_back(std::move(d));
    const auto info = drv_->device_info(ordinal);
    const std::string where =
        fmt::format("device {} ({})", ordinal, info.name.empty() ? "?" : info.name);
    auto driver_error = [&](const char* call, CUresult rc) {
      failure =
          rc == cuda::kErrorOutOfMemory ? CudaFailure::kOutOfMemory : CudaFailure::kDriverError;
      message = fmt::format("{} on {}: {}", call, where, drv_->describe(rc));
      return false;
    };
    if (CUresult rc = api_.cuDeviceGet(&dev.dev, ordinal); rc != kSuccess)
      return driver_error("cuDeviceGet", rc);
    const double cap = opt.memory_fraction * static_cast<double>(info.total_bytes);
    if (static_cast<double>(opt.bytes_per_device) > cap) {
      failure = CudaFailure::kTooLarge;
      message = fmt::format(
          "{} per GPU exceeds {:.0f} % of {} ({} total; gpu_backend.memory_fraction {})",
          gib_text(opt.bytes_per_device), opt.memory_fraction * 100, where,
          gib_text(info.total_bytes), opt.memory_fraction);
      return false;
    }
    if (CUresult rc = api_.cuDevicePrimaryCtxRetain(&dev.ctx, dev.dev); rc != kSuccess) {
      dev.ctx = nullptr;
      return driver_error("cuDevicePrimaryCtxRetain", rc);
    }
    if (CUresult rc = api_.cuCtxSetCurrent(dev.ctx); rc != kSuccess)
      return driver_error("cuCtxSetCurrent", rc);
    std::size_t free_b = 0, total_b = 0;
    if (CUresult rc = api_.cuMemGetInfo(&free_b, &total_b); rc != kSuccess)
      return driver_error("cuMemGetInfo", rc);
    if (opt.bytes_per_device > free_b) {
      failure = CudaFailure::kOutOfMemory;
      message =
          fmt::format("{} per GPU does not fit in the free memory of {} ({} free of {})",
                      gib_text(opt.bytes_per_device), where, gib_text(free_b), gib_text(total_b));
      return false;
    }
    if (CUresult rc = api_.cuMemAlloc(&dev.base, opt.bytes_per_device); rc != kSuccess) {
      dev.base = 0;
      if (rc == cuda::kErrorOutOfMemory) {
        failure = CudaFailure::kOutOfMemory;
        message = fmt::format("cannot allocate {} on {}: {}", gib_text(opt.bytes_per_device), where,
                              drv_->describe(rc));
        return false;
      }
      return driver_error("cuMemAlloc", rc);
    }
    dev.slab = std::make_unique<detail::SlabAllocator>(opt.bytes_per_device, kGranularity);
    for (unsigned i = 0; i < opt.staging_slots; ++i) {
      Slot s;
      void* p = nullptr;
      if (CUresult rc = api_.cuMemHostAlloc(&p, opt.staging_bytes, cuda::kMemHostAllocPortable);
          rc != kSuccess)
        return driver_error("cuMemHostAlloc (pinned staging buffer)", rc);
      s.host = static_cast<std::byte*>(p);
      if (CUresult rc = api_.cuStreamCreate(&s.stream, cuda::kStreamNonBlocking); rc != kSuccess) {
        api_.cuMemFreeHost(p);
        return driver_error("cuStreamCreate", rc);
      }
      dev.slots.push_back(s);
    }
    for (auto& s : dev.slots) dev.free_slots.push_back(&s);
    return true;
  }

  io::IoResult write(const io::ObjectSpec& spec, const io::PayloadSource& src) override {
    // A previous copy under this key goes first, so a rewrite needs no room for two copies (the
    // cache accounts for one); its space comes back now unless a demotion source still holds it.
    remove(spec.key);
    auto e = std::make_shared<Entry>();
    e->owner = this;
    e->size = spec.payload_bytes;
    {
      std::lock_guard lk(mu_);
      Device* best = nullptr;  // the device with the most free space that can hold the object
      for (auto& d : devices_) {
        if (d->slab->free_bytes() >= d->slab->rounded(e->size) &&
            (best == nullptr || d->slab->free_bytes() > best->slab->free_bytes()))
          best = d.get();
      }
      if (best == nullptr || !best->slab->allocate(e->size, e->extents)) {
        e->owner = nullptr;  // nothing to give back
        return detail::failed(
            ENOSPC, fmt::format("gpu tier (cuda): no room for '{}' ({} bytes) on any device",
                                spec.key, e->size));
      }
      e->device = best;
    }
    const io::IoResult r = move_object(*e, spec.key, &src, nullptr);
    if (!r.ok) return r;         // `e` gives its extents back
    std::shared_ptr<Entry> old;  // a concurrent write of the same key (the cache serialises them)
    {
      std::lock_guard lk(mu_);
      auto& slot = map_[spec.key];
      old = std::move(slot);
      slot = std::move(e);
    }
    return r;  // `old` gives its extents back here, outside the lock
  }

  io::IoResult read(const io::ObjectSpec& spec, io::PayloadSink* sink) override {
    auto e = find(spec.key);
    if (!e) return detail::failed(ENOENT, "gpu tier (cuda): no entry '" + spec.key + "'");
    return move_object(*e, spec.key, nullptr, sink);
  }

  bool remove(const std::string& key) override {
    std::shared_ptr<Entry> old;
    {
      std::lock_guard lk(mu_);
      auto it = map_.find(key);
      if (it == map_.end()) return false;
      old = std::move(it->second);
      map_.erase(it);
    }
    return true;  // extents given back outside the lock (unless a demotion source still holds them)
  }

  std::unique_ptr<io::PayloadSource> source_for(const io::ObjectSpec& spec) override {
    auto e = find(spec.key);
    if (!e) return nullptr;
    return std::make_unique<Source>(*this, std::move(e));
  }

  void release(Device* d, const std::vector<Extent>& extents) {
    std::lock_guard lk(mu_);
    d->slab->release(extents);
  }

 private:
  // Staged device→host copy for a demotion: one slot, held from the first fill to destruction.
  class Source final : public io::PayloadSource {
   public:
    Source(CudaGpuTier& t, std::shared_ptr<Entry> e) : t_(t), e_(std::move(e)) {}
    void fill(std::uint64_t offset, std::span<std::byte> out) const override {
      std::lock_guard lk(mu_);
      std::size_t done = 0;
      while (done < out.size()) {
        const std::uint64_t pos = offset + done;
        if (pos >= e_->size) {
          std::memset(out.data() + done, 0, out.size() - done);
          return;
        }
        if (pos < begin_ || pos >= end_) stage(pos);
        const auto n =
            static_cast<std::size_t>(std::min<std::uint64_t>(end_ - pos, out.size() - done));
        std::memcpy(out.data() + done, lease_->slot().host + (pos - begin_), n);
        done += n;
      }
    }

   private:
    void stage(std::uint64_t pos) const {
      if (!lease_) lease_ = std::make_unique<SlotLease>(t_.api_, *e_->device);
      begin_ = pos;
      end_ = std::min<std::uint64_t>(e_->size, pos + t_.staging_bytes_);
      CUresult rc = lease_->context_status();
      if (rc == kSuccess)
        rc = t_.transfer(*e_, lease_->slot(), begin_, static_cast<std::size_t>(end_ - begin_),
                         false);
      if (rc != kSuccess) {
        log::error(
            "gpu tier (cuda): device→host copy for a demotion failed ({}); the demoted copy of "
            "bytes "
            "{}..{} holds zeros",
            t_.drv_->describe(rc), begin_, end_);
        std::memset(lease_->slot().host, 0, static_cast<std::size_t>(end_ - begin_));
      }
    }

    CudaGpuTier& t_;
    std::shared_ptr<Entry> e_;
    mutable std::mutex mu_;
    mutable std::unique_ptr<SlotLease> lease_;
    mutable std::uint64_t begin_ = 0, end_ = 0;  // staged window of the object
  };

  // Moves a whole object through one staging slot, piece by piece: host→device when `src` is set
  // (the source fills the pinned buffer first), else device→host (then the sink, if any, consumes
  // the piece). Only the copies and the stream synchronisation are timed.
  io::IoResult move_object(const Entry& e, const std::string& key, const io::PayloadSource* src,
                           io::PayloadSink* sink) const {
    SlotLease lease(api_, *e.device);
    if (lease.context_status() != kSuccess)
      return copy_failed("cuCtxSetCurrent", lease.context_status(), key);
    const bool to_device = src != nullptr;
    std::int64_t ns = 0;
    for (std::uint64_t off = 0; off < e.size; off += staging_bytes_) {
      const auto n =
          static_cast<std::size_t>(std::min<std::uint64_t>(staging_bytes_, e.size - off));
      if (to_device) src->fill(off, {lease.slot().host, n});  // untimed: generation / previous tier
      const auto t0 = mono_ns();
      const CUresult rc = transfer(e, lease.slot(), off, n, to_device);
      ns += mono_ns() - t0;
      if (rc != kSuccess)
        return copy_failed(to_device ? "host→device copy" : "device→host copy", rc, key);
      if (sink != nullptr) sink->consume(off, {lease.slot().host, n});  // untimed
    }
    return detail::timed_copy(e.size, ns);
  }

  // Copies object bytes [off, off + n) between the slot's pinned buffer and the entry's extents,
  // then waits for the slot's stream.
  CUresult transfer(const Entry& e, Slot& s, std::uint64_t off, std::size_t n,
                    bool to_device) const {
    std::uint64_t ext_start = 0;  // object offset of the current extent
    const std::uint64_t end = off + n;
    for (const Extent& x : e.extents) {
      const std::uint64_t ext_end = ext_start + x.bytes;
      const std::uint64_t lo = std::max(off, ext_start), hi = std::min(end, ext_end);
      if (lo < hi) {
        const cuda::CUdeviceptr dptr = e.device->base + x.offset + (lo - ext_start);
        std::byte* hptr = s.host + (lo - off);
        const auto len = static_cast<std::size_t>(hi - lo);
        const CUresult rc = to_device ? api_.cuMemcpyHtoDAsync(dptr, hptr, len, s.stream)
                                      : api_.cuMemcpyDtoHAsync(hptr, dptr, len, s.stream);
        if (rc != kSuccess) return rc;
      }
      if (ext_end >= end) break;
      ext_start = ext_end;
    }
    return api_.cuStreamSynchronize(s.stream);
  }

  void teardown(Device& d) {
    if (d.ctx == nullptr) return;
    api_.cuCtxSetCurrent(d.ctx);
    for (Slot& s : d.slots) {
      if (s.stream != nullptr) api_.cuStreamDestroy(s.stream);
      if (s.host != nullptr) api_.cuMemFreeHost(s.host);
    }
    if (d.base != 0) api_.cuMemFree(d.base);
    api_.cuCtxSetCurrent(nullptr);
    api_.cuDevicePrimaryCtxRelease(d.dev);
  }

  std::shared_ptr<Entry> find(const std::string& key) {
    std::lock_guard lk(mu_);
    auto it = map_.find(key);
    return it == map_.end() ? nullptr : it->second;
  }
  io::IoResult copy_failed(const char* what, CUresult rc, const std::string& key) const {
    return detail::failed(
        EIO, fmt::format("gpu tier (cuda): {} for '{}' failed: {}", what, key, drv_->describe(rc)));
  }

  std::shared_ptr<cuda::Driver> drv_;
  const cuda::Api& api_;
  std::size_t staging_bytes_;
  std::vector<std::unique_ptr<Device>> devices_;  // fixed after open
  std::mutex mu_;                                 // map_ and every device's slab
  std::unordered_map<std::string, std::shared_ptr<Entry>> map_;
};

Entry::~Entry() {
  if (owner != nullptr && device != nullptr) owner->release(device, extents);
}

CudaFailure from_load(cuda::LoadStatus s) {
  switch (s) {
    case cuda::LoadStatus::kOk: return CudaFailure::kNone;
    case cuda::LoadStatus::kNoDriver: return CudaFailure::kNoDriver;
    case cuda::LoadStatus::kBadDriver: return CudaFailure::kBadDriver;
    case cuda::LoadStatus::kNoDevice: return CudaFailure::kNoDevice;
  }
  return CudaFailure::kBadDriver;
}

}  // namespace

CudaOpenResult open_cuda_tier(const CudaTierOptions& opt) {
  CudaOpenResult res;
  auto loaded = cuda::Driver::load(opt.library);
  if (loaded.status != cuda::LoadStatus::kOk) {
    res.failure = from_load(loaded.status);
    res.message = loaded.message;
    return res;
  }
  const auto& drv = *loaded.driver;
  for (int i = 0; i < drv.device_count(); ++i) res.devices.push_back(drv.device_info(i));
  if (opt.num_devices > drv.device_count()) {
    res.failure = CudaFailure::kTooFewDevices;
    res.message = fmt::format("{} GPUs requested but the CUDA driver sees {} device(s)",
                              opt.num_devices, drv.device_count());
    return res;
  }
  res.devices.resize(static_cast<std::size_t>(std::max(opt.num_devices, 0)));
  const std::size_t staging = std::max<std::size_t>(opt.staging_bytes, 4096);
  auto tier = std::make_unique<CudaGpuTier>(loaded.driver, staging);
  CudaTierOptions o = opt;
  o.staging_bytes = staging;
  o.staging_slots = std::max(1u, opt.staging_slots);
  for (int i = 0; i < opt.num_devices; ++i) {
    if (!tier->add_device(i, o, res.failure, res.message))
      return res;  // `tier` releases what it holds
  }
  res.tier = std::move(tier);
  return res;
}

}  // namespace kv::tier
