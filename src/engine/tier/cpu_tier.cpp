// CPU tier: real DRAM. One owned buffer per entry, allocated once at write. write = copy in,
// read = copy out, both timed (total = device = host, as the reference). The source's fill and the
// sink's consume run on a per-thread scratch chunk outside the timed spans.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <new>
#include <unordered_map>

#include "core/clock.hpp"
#include "engine/tier/detail.hpp"
#include "engine/tier/scratch.hpp"
#include "engine/tier/tier.hpp"

namespace kv::tier {
namespace {

struct Buffer {
  explicit Buffer(std::uint64_t n) : size(n), data(new std::byte[n == 0 ? 1 : n]) {}
  std::uint64_t size;
  std::unique_ptr<std::byte[]> data;
};

class CpuTier final : public Tier {
 public:
  CpuTier() = default;

  TierId id() const override { return TierId::kCpu; }

  io::IoResult write(const io::ObjectSpec& spec, const io::PayloadSource& src) override {
    std::shared_ptr<Buffer> buf;
    try {
      buf = std::make_shared<Buffer>(spec.payload_bytes);
    } catch (const std::bad_alloc&) {
      return detail::failed(ENOMEM, "cpu tier: cannot allocate " +
                                        std::to_string(spec.payload_bytes) + " bytes for '" +
                                        spec.key + "'");
    }
    const auto scratch = detail::thread_scratch();
    std::int64_t copy_ns = 0;
    for (std::uint64_t off = 0; off < spec.payload_bytes; off += scratch.size()) {
      const auto n = static_cast<std::size_t>(
          std::min<std::uint64_t>(scratch.size(), spec.payload_bytes - off));
      src.fill(off, scratch.first(n));  // generation / demotion source: untimed
      const auto t0 = mono_ns();
      std::memcpy(buf->data.get() + off, scratch.data(), n);
      copy_ns += mono_ns() - t0;
    }
    std::shared_ptr<Buffer> old;
    {
      std::lock_guard lk(mu_);
      auto& slot = map_[spec.key];
      old = std::move(slot);
      slot = std::move(buf);
    }
    return detail::timed_copy(spec.payload_bytes, copy_ns);  // `old` freed here, outside the lock
  }

  io::IoResult read(const io::ObjectSpec& spec, io::PayloadSink* sink) override {
    auto buf = find(spec.key);
    if (!buf) {
      return detail::failed(ENOENT, "cpu tier: no entry '" + spec.key + "'");
    }
    const auto scratch = detail::thread_scratch();
    std::int64_t copy_ns = 0;
    for (std::uint64_t off = 0; off < buf->size; off += scratch.size()) {
      const auto n =
          static_cast<std::size_t>(std::min<std::uint64_t>(scratch.size(), buf->size - off));
      const auto t0 = mono_ns();
      std::memcpy(scratch.data(), buf->data.get() + off, n);
      copy_ns += mono_ns() - t0;
      if (sink != nullptr) sink->consume(off, scratch.first(n));  // untimed
    }
    return detail::timed_copy(buf->size, copy_ns);
  }

  bool remove(const std::string& key) override {
    std::shared_ptr<Buffer> old;
    {
      std::lock_guard lk(mu_);
      auto it = map_.find(key);
      if (it == map_.end()) return false;
      old = std::move(it->second);
      map_.erase(it);
    }
    return true;  // memory released outside the lock (unless a demotion source still holds it)
  }

  std::unique_ptr<io::PayloadSource> source_for(const io::ObjectSpec& spec) override {
    auto buf = find(spec.key);
    if (!buf) return nullptr;
    return std::make_unique<Source>(std::move(buf));
  }

 private:
  class Source final : public io::PayloadSource {
   public:
    explicit Source(std::shared_ptr<Buffer> b) : buf_(std::move(b)) {}
    void fill(std::uint64_t offset, std::span<std::byte> out) const override {
      const std::uint64_t avail = offset < buf_->size ? buf_->size - offset : 0;
      const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(avail, out.size()));
      if (n > 0) std::memcpy(out.data(), buf_->data.get() + offset, n);
      if (n < out.size()) std::memset(out.data() + n, 0, out.size() - n);
    }

   private:
    std::shared_ptr<Buffer> buf_;
  };

  std::shared_ptr<Buffer> find(const std::string& key) {
    std::lock_guard lk(mu_);
    auto it = map_.find(key);
    return it == map_.end() ? nullptr : it->second;
  }

  std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<Buffer>> map_;
};

}  // namespace

std::unique_ptr<Tier> make_cpu_tier(const io::PayloadGenerator& /*gen*/) {
  return std::make_unique<CpuTier>();
}

}  // namespace kv::tier
