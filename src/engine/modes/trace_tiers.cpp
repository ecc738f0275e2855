#include "engine/modes/trace_tiers.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstddef>
#include <mutex>
#include <unordered_map>

namespace kv::engine::modes {

namespace {

using exporter::IoOp;
using exporter::IoPhase;

// Phase of the cache call running on this thread (admissions outside a request: Prefill).
thread_local IoPhase t_phase = IoPhase::kPrefill;

class PhaseScope {
 public:
  explicit PhaseScope(IoPhase p) : saved_(t_phase) { t_phase = p; }
  ~PhaseScope() { t_phase = saved_; }
  PhaseScope(const PhaseScope&) = delete;
  PhaseScope& operator=(const PhaseScope&) = delete;

 private:
  IoPhase saved_;
};

IoPhase phase_of(cache::Phase p) {
  return p == cache::Phase::kDecode ? IoPhase::kDecode : IoPhase::kPrefill;
}

// ---- NullTier -------------------------------------------------------------------------------

class ZeroSource final : public io::PayloadSource {
 public:
  void fill(std::uint64_t, std::span<std::byte> out) const override {
    std::fill(out.begin(), out.end(), std::byte{0});
  }
};

class NullTier final : public tier::Tier {
 public:
  explicit NullTier(tier::TierId id) : id_(id) {}
  tier::TierId id() const override { return id_; }

  io::IoResult write(const io::ObjectSpec& spec, const io::PayloadSource&) override {
    {
      std::lock_guard lk(mu_);
      sizes_[spec.key] = spec.payload_bytes;
    }
    io::IoResult r;
    r.ok = true;
    r.bytes = spec.payload_bytes;
    return r;
  }

  io::IoResult read(const io::ObjectSpec& spec, io::PayloadSink* sink) override {
    io::IoResult r;
    {
      std::lock_guard lk(mu_);
      if (!sizes_.contains(spec.key)) {
        r.error = ENOENT;
        r.message = "null tier: no object '" + spec.key + "'";
        return r;
      }
    }
    if (sink != nullptr) {
      static const std::array<std::byte, 64 * 1024> zeros{};
      for (std::uint64_t off = 0; off < spec.payload_bytes; off += zeros.size()) {
        const auto n = static_cast<std::size_t>(
            std::min<std::uint64_t>(zeros.size(), spec.payload_bytes - off));
        sink->consume(off, std::span<const std::byte>(zeros.data(), n));
      }
    }
    r.ok = true;
    r.bytes = spec.payload_bytes;
    return r;
  }

  bool remove(const std::string& key) override {
    std::lock_guard lk(mu_);
    return sizes_.erase(key) > 0;
  }

  std::unique_ptr<io::PayloadSource> source_for(const io::ObjectSpec& spec) override {
    if (id_ == tier::TierId::kStorage) return nullptr;  // terminal tier: nothing to demote to
    std::lock_guard lk(mu_);
    if (!sizes_.contains(spec.key)) return nullptr;
    return std::make_unique<ZeroSource>();
  }

 private:
  tier::TierId id_;
  std::mutex mu_;
  std::unordered_map<std::string, std::uint64_t> sizes_;
};

// ---- TracingTier ----------------------------------------------------------------------------

// The source a traced tier hands out for a demotion; the destination's TracingTier recognises it.
class TracedSource final : public io::PayloadSource {
 public:
  TracedSource(std::unique_ptr<io::PayloadSource> inner, tier::TierId from)
      : inner_(std::move(inner)), from_(from) {}
  void fill(std::uint64_t offset, std::span<std::byte> out) const override {
    inner_->fill(offset, out);
  }
  const io::PayloadSource& inner() const { return *inner_; }
  tier::TierId from() const { return from_; }

 private:
  std::unique_ptr<io::PayloadSource> inner_;
  tier::TierId from_;
};

class TracingTier final : public tier::Tier {
 public:
  TracingTier(std::unique_ptr<tier::Tier> inner, exporter::IoTraceWriter& log)
      : inner_(std::move(inner)), log_(log) {}
  tier::TierId id() const override { return inner_->id(); }

  io::IoResult write(const io::ObjectSpec& spec, const io::PayloadSource& src) override {
    const auto* demotion = dynamic_cast<const TracedSource*>(&src);
    io::IoResult r = inner_->write(spec, demotion != nullptr ? demotion->inner() : src);
    if (!r.ok) return r;
    if (demotion != nullptr) {
      row(IoOp::kRead, demotion->from(), spec, IoPhase::kEvict, -1);
      row(IoOp::kWrite, id(), spec, IoPhase::kEvict, r.timing.total_s * 1e3);
    } else {
      row(IoOp::kWrite, id(), spec, t_phase, r.timing.total_s * 1e3);
    }
    return r;
  }

  io::IoResult read(const io::ObjectSpec& spec, io::PayloadSink* sink) override {
    io::IoResult r = inner_->read(spec, sink);
    if (r.ok) row(IoOp::kRead, id(), spec, t_phase, r.timing.total_s * 1e3);
    return r;
  }

  bool remove(const std::string& key) override { return inner_->remove(key); }

  std::unique_ptr<io::PayloadSource> source_for(const io::ObjectSpec& spec) override {
    auto src = inner_->source_for(spec);
    if (!src) return nullptr;
    return std::make_unique<TracedSource>(std::move(src), id());
  }

 private:
  void row(IoOp op, tier::TierId t, const io::ObjectSpec& spec, IoPhase phase, double latency_ms) {
    exporter::IoTraceRow r;
    r.op = op;
    r.bytes = spec.payload_bytes;
    r.tier = static_cast<int>(t);
    r.key = spec.key;
    r.phase = phase;
    r.latency_ms = latency_ms;
    log_.record(r);
  }

  std::unique_ptr<tier::Tier> inner_;
  exporter::IoTraceWriter& log_;
};

}  // namespace

std::unique_ptr<tier::Tier> make_null_tier(tier::TierId id) {
  return std::make_unique<NullTier>(id);
}

std::unique_ptr<tier::Tier> make_tracing_tier(std::unique_ptr<tier::Tier> inner,
                                              exporter::IoTraceWriter& log) {
  return std::make_unique<TracingTier>(std::move(inner), log);
}

cache::AllocResult TracingStore::allocate(const std::string& key, std::uint64_t tokens,
                                          cache::Phase phase) {
  PhaseScope scope(phase_of(phase));
  return inner_.allocate(key, tokens, phase);
}

cache::AccessResult TracingStore::access(const std::string& key, cache::Phase phase,
                                         cache::CacheType type) {
  PhaseScope scope(type == cache::CacheType::kSystem ? IoPhase::kBoth : phase_of(phase));
  return inner_.access(key, phase, type);
}

}  // namespace kv::engine::modes
