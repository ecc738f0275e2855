// MultiTierCache: admission, waterfall LRU eviction with recursive demotion, lookups, statistics.
// Rules and their provenance: docs/cache.md. Locks (order: entry → metadata → usage; stats alone):
//   * meta_mu_   : entries_, locks_, the per-tier LRU indexes, per-tier entry counts, committed
//                  sizes and victim claims;
//   * usage_mu_  : usage_ (reservations) and pending_ (in-flight reservations);
//   * stats_mu_  : st_;
//   * one std::mutex per key (shared_ptr'd, created lazily), held across that key's tier I/O only.
// Invariant (checked by the tests): usage_[t] == Σ sizes of entries in t + pending_[t]. Every
// change of an entry's tier or existence happens under meta_mu_ together with the matching usage
// change. LRU: one ordered index per tier keyed by (last_access, access_count), so choosing a
// victim costs O(log n) instead of the snapshot sort over every entry (docs/cache.md, "LRU index").
#include "engine/cache/cache.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <condition_variable>
#include <iterator>
#include <map>
#include <mutex>
#include <unordered_map>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/log.hpp"

namespace kv::cache {
namespace {

constexpr double kNearEmptyRatio = 0.05;     // usage < 5 % of limit: admit anyway (reference)
constexpr double kBailSnapshotRatio = 0.20;  // bail-out: snapshot bytes < 20 % of limit …
constexpr double kBailEntryRatio = 0.50;     // … and entry > 50 % of the target

class Semaphore {
 public:
  explicit Semaphore(int n) : n_(n) {}
  void acquire() {
    std::unique_lock lk(mu_);
    cv_.wait(lk, [&] { return n_ > 0; });
    --n_;
  }
  void release() {
    {
      std::lock_guard lk(mu_);
      ++n_;
    }
    cv_.notify_one();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int n_;
};

struct Entry;
using Slot = std::pair<const std::string, Entry>;        // node of Impl::entries (address-stable)
using LruKey = std::pair<std::uint64_t, std::uint64_t>;  // (last_access, access_count)
using LruIndex = std::map<LruKey, Slot*>;

struct Entry {
  std::size_t tier = 0;  // index into Impl::tiers
  std::uint64_t size = 0;
  std::uint64_t tokens = 0;
  std::uint64_t last_access = 0;  // logical clock tick
  std::uint64_t access_count = 0;
  std::uint64_t serial = 0;  // unique per admission (a re-admitted key is a new entry)
  bool indexed = false;      // in its tier's LRU index (false while claimed as a victim)
  LruIndex::iterator pos{};  // its node there, when indexed
};

// A victim taken out of its tier's LRU index by one ensure_space call (no other call picks it).
struct Victim {
  std::string key;
  std::uint64_t size = 0;
  std::uint64_t serial = 0;
};

metrics::SeriesTier series_tier(tier::TierId id) {
  return static_cast<metrics::SeriesTier>(static_cast<int>(id));
}

}  // namespace

void CacheLatencies::clear() {
  for (auto& r : read) r.clear();
  for (auto& r : write) r.clear();
  storage_read_device.clear();
  storage_read_host.clear();
  storage_write_device.clear();
  storage_write_host.clear();
  demotion.clear();
}

struct MultiTierCache::Impl {
  Impl(CacheConfig c, std::vector<std::unique_ptr<tier::Tier>> t, const io::PayloadGenerator& g,
       metrics::TimeSeries* s)
      : cfg(std::move(c)), tiers(std::move(t)), gen(g), series(s) {}

  CacheConfig cfg;
  std::vector<std::unique_ptr<tier::Tier>> tiers;
  std::vector<tier::TierId> ids;
  std::vector<std::uint64_t> limits;
  const io::PayloadGenerator& gen;
  metrics::TimeSeries* series;
  std::unique_ptr<Semaphore> sem;
  std::atomic<bool> sem_enabled{true};
  std::uint64_t bpt = 0;  // model bytes per token (unsharded)
  std::atomic<bool> warned_forced{false};

  mutable std::mutex meta_mu;
  std::unordered_map<std::string, Entry> entries;
  std::unordered_map<std::string, std::shared_ptr<std::mutex>> locks;
  std::vector<std::uint64_t> entry_count;  // per tier index
  std::vector<std::uint64_t> committed;    // Σ entry sizes per tier index
  std::vector<LruIndex> lru;               // per tier index: entries not claimed, LRU first
  std::vector<std::uint64_t> claimed;      // per tier index: victims claimed, not yet settled
  std::condition_variable claims_cv;       // signalled (with meta_mu) when a claim settles
  std::uint64_t clock = 0;                 // logical LRU clock (under meta_mu)
  std::uint64_t serial = 0;                // entry serials (under meta_mu)

  mutable std::mutex usage_mu;
  std::vector<std::uint64_t> usage, pending;
  std::vector<std::uint64_t> settled;  // per tier index: reservations settled (under usage_mu)
  std::condition_variable settled_cv;  // signalled (with usage_mu) when a reservation settles

  mutable std::mutex stats_mu;
  CacheStats st;

  CacheLatencies lat;

  // ---- helpers -------------------------------------------------------------------------------
  std::size_t last() const { return tiers.size() - 1; }
  TierCounters& tc(std::size_t i) { return st.tiers[static_cast<std::size_t>(ids[i])]; }

  io::ObjectSpec spec_for(const std::string& key, std::uint64_t tokens) const {
    io::ObjectSpec s;
    s.key = key;
    s.shape = cfg.model.npy_shape(tokens, cfg.tensor_parallel);
    s.payload_bytes = cfg.model.object_bytes(tokens, cfg.tensor_parallel);
    s.dtype = io::npy_dtype_for_itemsize(cfg.model.dtype_bytes());
    return s;
  }

  void series_add(std::size_t i, metrics::SeriesDir dir, std::uint64_t bytes, std::int64_t t) {
    if (series != nullptr) series->add(series_tier(ids[i]), dir, bytes, t);
  }

  // Reserve if it fits under the target or the tier is near-empty (docs/cache.md, "Making room").
  bool try_reserve(std::size_t i, std::uint64_t bytes, double target) {
    std::lock_guard lk(usage_mu);
    const double limit = static_cast<double>(limits[i]);
    if (static_cast<double>(usage[i]) + static_cast<double>(bytes) <= target ||
        static_cast<double>(usage[i]) < kNearEmptyRatio * limit) {
      usage[i] += bytes;
      pending[i] += bytes;
      return true;
    }
    return false;
  }
  void force_reserve(std::size_t i, std::uint64_t bytes) {
    std::lock_guard lk(usage_mu);
    usage[i] += bytes;
    pending[i] += bytes;
  }
  void release_reservation(std::size_t i, std::uint64_t bytes) {
    {
      std::lock_guard lk(usage_mu);
      usage[i] -= std::min(usage[i], bytes);
      pending[i] -= std::min(pending[i], bytes);
      ++settled[i];
    }
    settled_cv.notify_all();
  }
  // Caller holds meta_mu: the reservation becomes a committed entry of tier i.
  void commit_locked(std::size_t i, std::uint64_t bytes) {
    {
      std::lock_guard lk(usage_mu);
      pending[i] -= std::min(pending[i], bytes);
      ++settled[i];
    }
    settled_cv.notify_all();
  }
  // Terminal tier with nothing left to evict (caller holds meta_mu via `meta`): if reservations of
  // writes still in flight are what fills it, waits until one of them settles (it becomes an entry
  // that can be evicted, or its bytes come back) and returns true, with meta_mu released. Ours
  // (docs/cache.md): the reference reserves over the limit here, and on a device of that size its
  // own in-flight writes then end in ENOSPC. Nothing in flight: false (the caller forces).
  bool wait_for_in_flight(std::size_t i, std::unique_lock<std::mutex>& meta) {
    std::unique_lock lk(usage_mu);
    if (pending[i] == 0) return false;
    const std::uint64_t seen = settled[i];
    meta.unlock();  // the settling write takes meta_mu to commit
    {
      std::lock_guard slk(stats_mu);  // (usage_mu -> stats_mu: no path takes them the other way)
      ++st.storage_admission_waits;
    }
    settled_cv.wait(lk, [&] { return settled[i] != seen; });
    return true;
  }
  // Caller holds meta_mu: a committed entry leaves tier i.
  void uncommit_locked(std::size_t i, std::uint64_t bytes) {
    std::lock_guard lk(usage_mu);
    usage[i] -= std::min(usage[i], bytes);
  }
  void recount(std::size_t i) {  // the reference's drift correction; a no-op unless there is a bug
    std::lock_guard mlk(meta_mu);
    std::lock_guard ulk(usage_mu);
    const std::uint64_t expect = committed[i] + pending[i];
    if (usage[i] != expect) {
      log::warn("cache: {} tier usage drifted ({} B counted, {} B expected); corrected",
                tier::tier_name(ids[i]), usage[i], expect);
      usage[i] = expect;
    }
  }

  // ---- LRU index (caller holds meta_mu) ---------------------------------------------------------
  void index_insert(Slot& s) {
    if (s.second.indexed) return;
    auto& idx = lru[s.second.tier];
    const LruKey k{s.second.last_access, s.second.access_count};
    // A touched or new entry has the newest clock: inserting at the end is amortised O(1).
    const bool newest = idx.empty() || std::prev(idx.end())->first < k;
    s.second.pos = newest ? idx.emplace_hint(idx.end(), k, &s) : idx.emplace(k, &s).first;
    s.second.indexed = true;
  }
  void index_erase(Slot& s) {
    if (!s.second.indexed) return;
    lru[s.second.tier].erase(s.second.pos);
    s.second.indexed = false;
  }
  // A new entry in tier i (the caller also updates counts and usage).
  void insert_entry_locked(const std::string& key, Entry e) {
    e.serial = ++serial;
    e.indexed = false;
    auto [it, fresh] = entries.emplace(key, e);
    index_insert(*it);
  }
  // Removes the entry (and its index node) for good.
  void erase_entry_locked(std::unordered_map<std::string, Entry>::iterator it) {
    index_erase(*it);
    entries.erase(it);
  }
  // Takes the least recently used entry of tier i out of the index: no other ensure_space picks it.
  Victim claim_lru_locked(std::size_t i) {
    auto node = lru[i].begin();
    Slot& s = *node->second;
    lru[i].erase(node);
    s.second.indexed = false;
    ++claimed[i];
    return Victim{s.first, s.second.size, s.second.serial};
  }
  // The claim on `v` (taken in tier i) is settled: if the entry is still ours and still in tier i
  // (the demotion failed or was not attempted) it goes back into the index at its LRU position.
  void settle_claim(std::size_t i, const Victim& v) {
    {
      std::lock_guard lk(meta_mu);
      auto it = entries.find(v.key);
      if (it != entries.end() && it->second.serial == v.serial && it->second.tier == i)
        index_insert(*it);
      --claimed[i];
    }
    claims_cv.notify_all();
  }

  // An acquired entry lock on an existing entry (copy of its metadata at lock time).
  struct Locked {
    std::shared_ptr<std::mutex> m;
    std::unique_lock<std::mutex> lk;
    Entry e;
    Slot* slot = nullptr;  // stays valid while lk is held (entries are erased under their lock)
    explicit operator bool() const { return lk.owns_lock(); }
  };

  // Locks `key` if it is cached (and, if want_tier is given, lives in that tier). Retries if the
  // lock object was replaced while waiting (entry removed and re-created meanwhile).
  Locked lock_existing(const std::string& key,
                       std::optional<std::size_t> want_tier = std::nullopt) {
    for (;;) {
      std::shared_ptr<std::mutex> m;
      {
        std::lock_guard lk(meta_mu);
        auto it = entries.find(key);
        if (it == entries.end() || (want_tier && it->second.tier != *want_tier)) return {};
        auto& slot = locks[key];
        if (!slot) slot = std::make_shared<std::mutex>();
        m = slot;
      }
      std::unique_lock lk(*m);
      std::lock_guard mlk(meta_mu);
      auto it = entries.find(key);
      if (it == entries.end() || (want_tier && it->second.tier != *want_tier)) return {};
      auto lit = locks.find(key);
      if (lit == locks.end() || lit->second != m) continue;  // stale lock object: retry
      return Locked{std::move(m), std::move(lk), it->second, &*it};
    }
  }

  // Caller holds the entry lock and meta_mu: drop the lock-table slot if it is ours.
  void drop_lock_locked(const std::string& key, const std::shared_ptr<std::mutex>& m) {
    auto lit = locks.find(key);
    if (lit != locks.end() && lit->second == m) locks.erase(lit);
  }

  // Caller holds the entry lock `m` of `key` (an entry of tier i of `size` bytes): the entry leaves
  // the cache (metadata, index, lock slot, counts, usage). `settles_claim`: it was our victim.
  void drop_entry(const std::string& key, const std::shared_ptr<std::mutex>& m, std::size_t i,
                  std::uint64_t size, bool settles_claim = false) {
    {
      std::lock_guard mlk(meta_mu);
      erase_entry_locked(entries.find(key));
      drop_lock_locked(key, m);
      --entry_count[i];
      committed[i] -= size;
      uncommit_locked(i, size);
      if (settles_claim) --claimed[i];
    }
    if (settles_claim) claims_cv.notify_all();
  }

  // ---- making room (docs/cache.md) ---------------------------------------------------------
  bool ensure_space(std::size_t i, std::uint64_t bytes, int depth) {
    const std::uint64_t limit = limits[i];
    const bool terminal = i == last();
    if (terminal && limit == kUnlimited) {
      force_reserve(i, bytes);
      return true;
    }
    if (depth > cfg.max_recursion_depth) return false;
    const double dlimit = static_cast<double>(limit);
    if (!terminal) {
      if (limit == 0) return false;  // fixed: 0-capacity tiers admit nothing, not even 0 bytes
      if (static_cast<double>(bytes) > cfg.large_entry_limit_ratio * dlimit) return false;
    }
    const double target = terminal ? dlimit : cfg.target_usage_ratio * dlimit;

    // The victims come from the tier's LRU index in (last_access, access_count) order, one at a
    // time. A "pass" stands for the reference's snapshot: it covers the entries indexed when it
    // starts; the budget and the bail-out are computed as for the snapshot (docs/cache.md).
    bool have_pass = false;
    std::size_t pass_left = 0, budget = 0, used = 0;
    for (;;) {
      if (try_reserve(i, bytes, target)) return true;
      Victim v;
      {
        std::unique_lock lk(meta_mu);
        if (!have_pass || pass_left == 0 || lru[i].empty()) {
          if (!have_pass) {
            budget = std::min<std::size_t>(
                static_cast<std::size_t>(cfg.max_evictions_hard_cap),
                std::max<std::size_t>(static_cast<std::size_t>(cfg.max_evictions_min),
                                      entry_count[i] + 100));
            have_pass = true;
          }
          if (lru[i].empty()) {
            if (claimed[i] > 0 && used < budget) {
              // Every entry is being evicted by other calls: wait until one settles (a snapshot
              // would have waited on that victim's entry lock and skipped it).
              ++used;
              claims_cv.wait(lk, [&] { return claimed[i] == 0 || !lru[i].empty(); });
              pass_left = 0;
              continue;
            }
            if (terminal && used < budget && wait_for_in_flight(i, lk)) {
              ++used;
              pass_left = 0;
              continue;
            }
            lk.unlock();
            recount(i);
            if (try_reserve(i, bytes, target)) return true;
            if (terminal) return force_terminal(i, bytes);
            return false;
          }
          pass_left = lru[i].size();
          if (!terminal && static_cast<double>(committed[i]) < kBailSnapshotRatio * dlimit &&
              static_cast<double>(bytes) > kBailEntryRatio * target) {
            return false;  // bail-out: let the entry go to the next tier instead of evicting
          }
        }
        if (used >= budget) break;
        v = claim_lru_locked(i);
        --pass_left;
        ++used;  // skipped victims use up the budget too
      }
      if (terminal) {
        evict(i, v);
      } else if (!demote(i, v, depth)) {
        return false;
      }
    }
    if (terminal) return force_terminal(i, bytes);
    return false;
  }

  bool force_terminal(std::size_t i, std::uint64_t bytes) {
    force_reserve(i, bytes);
    {
      std::lock_guard lk(stats_mu);
      ++st.forced_storage_admissions;
    }
    if (!warned_forced.exchange(true)) {
      log::warn(
          "cache: {} tier full and nothing left to evict; admitting over its limit "
          "(the filesystem enforces real space; counted in forced_storage_admissions)",
          tier::tier_name(ids[i]));
    }
    return true;
  }

  // Terminal deletion of a claimed victim: the data is gone for good.
  void evict(std::size_t i, const Victim& v) {
    auto l = lock_existing(v.key, i);
    if (!l || l.e.serial != v.serial) {  // gone (or re-admitted) meanwhile: skip
      if (l) l.lk.unlock();
      settle_claim(i, v);
      return;
    }
    tiers[i]->remove(v.key);  // I/O under the entry lock only; the key stays visible until removed
    drop_entry(v.key, l.m, i, l.e.size, /*settles_claim=*/true);
    std::lock_guard lk(stats_mu);
    ++st.evictions;
    ++tc(i).evictions;
    tc(i).evicted_bytes += l.e.size;
  }

  // Moves one LRU victim from tier i to tier i+1 (after making room there recursively).
  bool demote(std::size_t i, const Victim& v, int depth) {
    const std::size_t d = i + 1;
    const std::string& key = v.key;
    if (!ensure_space(d, v.size, depth + 1)) {
      settle_claim(i, v);
      return false;
    }
    auto l = lock_existing(key, i);
    if (!l ||
        l.e.serial != v.serial) {  // fixed: the victim vanished or moved, give the reservation back
      if (l) l.lk.unlock();
      release_reservation(d, v.size);
      settle_claim(i, v);
      std::lock_guard lk(stats_mu);
      ++st.skipped_demotions;
      return true;
    }
    const Entry e = l.e;
    const io::ObjectSpec spec = spec_for(key, e.tokens);
    const auto t0 = mono_ns();
    auto src = tiers[i]->source_for(spec);
    io::IoResult r;
    if (src) {
      r = tiers[d]->write(spec, *src);
    } else {
      r.error = ENOENT;
      r.message = std::string(tier::tier_name(ids[i])) + " tier: no source for '" + key + "'";
    }
    const auto t1 = mono_ns();
    if (!r.ok) {
      release_reservation(d, v.size);
      l.lk.unlock();
      settle_claim(i, v);
      log::debug("cache: demotion of '{}' {}→{} failed: {}", key, tier::tier_name(ids[i]),
                 tier::tier_name(ids[d]), r.message);
      std::lock_guard lk(stats_mu);
      ++st.failed_demotions;
      return false;
    }
    src.reset();
    tiers[i]->remove(key);
    {
      std::lock_guard mlk(meta_mu);
      auto it = entries.find(key);
      index_erase(*it);     // claimed, so normally not indexed
      it->second.tier = d;  // present: we hold its lock; last_access unchanged (as the reference)
      index_insert(*it);    // at its LRU position in the next tier
      --claimed[i];
      --entry_count[i];
      ++entry_count[d];
      committed[i] -= e.size;
      committed[d] += e.size;
      uncommit_locked(i, e.size);
      commit_locked(d, e.size);
    }
    claims_cv.notify_all();
    lat.demotion.add(static_cast<double>(t1 - t0) * 1e-9);
    series_add(i, metrics::SeriesDir::kRead, e.size, t1);
    series_add(d, metrics::SeriesDir::kWrite, e.size, t1);
    std::lock_guard lk(stats_mu);
    ++st.evictions;
    ++st.demotions;
    st.demoted_bytes += e.size;
    tc(i).bytes_read += e.size;
    ++tc(i).demotions_out;
    tc(i).demoted_bytes_out += e.size;
    tc(d).bytes_written += e.size;
    ++tc(d).offloads;
    if (ids[d] == tier::TierId::kStorage) {
      const std::uint64_t per_shard = bpt / static_cast<std::uint64_t>(cfg.tensor_parallel);
      if (per_shard > 0) st.storage_tokens_processed += e.size / per_shard;  // size // (bpt // TP)
    }
    return true;
  }
};

MultiTierCache::MultiTierCache(CacheConfig cfg, std::vector<std::unique_ptr<tier::Tier>> tiers,
                               const io::PayloadGenerator& gen, metrics::TimeSeries* series)
    : impl_(std::make_unique<Impl>(std::move(cfg), std::move(tiers), gen, series)) {
  auto& m = *impl_;
  if (m.tiers.empty()) throw Error(ExitCode::kConfigurationError, "cache: no tiers configured");
  if (m.cfg.tensor_parallel < 1) {
    throw Error(ExitCode::kConfigurationError, "cache: tensor parallelism must be >= 1");
  }
  int prev = -1;
  for (const auto& t : m.tiers) {
    if (!t) throw Error(ExitCode::kConfigurationError, "cache: null tier");
    const int id = static_cast<int>(t->id());
    if (id <= prev)
      throw Error(ExitCode::kConfigurationError, "cache: tiers must be ordered gpu, cpu, storage");
    prev = id;
    m.ids.push_back(t->id());
    switch (t->id()) {
      case tier::TierId::kGpu: m.limits.push_back(m.cfg.gpu_limit); break;
      case tier::TierId::kCpu: m.limits.push_back(m.cfg.cpu_limit); break;
      case tier::TierId::kStorage: m.limits.push_back(m.cfg.storage_limit); break;
    }
  }
  if (m.ids.back() != tier::TierId::kStorage) {
    throw Error(ExitCode::kConfigurationError, "cache: the storage tier must be present and last");
  }
  const std::size_t n = m.tiers.size();
  m.entry_count.assign(n, 0);
  m.committed.assign(n, 0);
  m.lru.assign(n, {});
  m.claimed.assign(n, 0);
  m.usage.assign(n, 0);
  m.pending.assign(n, 0);
  m.settled.assign(n, 0);
  m.bpt = m.cfg.model.bytes_per_token();
  if (m.cfg.max_concurrent_allocs > 0)
    m.sem = std::make_unique<Semaphore>(m.cfg.max_concurrent_allocs);
  for (std::size_t i = 0; i < n; ++i) {
    m.tc(i).present = true;
    m.tc(i).limit_bytes = m.limits[i];
  }
  m.st.has_gpu = m.ids.front() == tier::TierId::kGpu;
}

MultiTierCache::~MultiTierCache() = default;

AllocResult MultiTierCache::allocate(const std::string& key, std::uint64_t num_tokens,
                                     Phase phase) {
  auto& m = *impl_;
  AllocResult res;
  auto existed = [&](std::size_t t) {
    res.ok = true;
    res.existed = true;
    res.tier = m.ids[t];
    return res;
  };
  {
    std::lock_guard lk(m.meta_mu);
    if (auto it = m.entries.find(key); it != m.entries.end()) return existed(it->second.tier);
  }
  struct SemGuard {
    Semaphore* s;
    explicit SemGuard(Semaphore* p) : s(p) {
      if (s) s->acquire();
    }
    ~SemGuard() {
      if (s) s->release();
    }
    SemGuard(const SemGuard&) = delete;
    SemGuard& operator=(const SemGuard&) = delete;
  } sem_guard(m.sem_enabled.load(std::memory_order_relaxed) ? m.sem.get() : nullptr);

  // Take the key's lock so two allocations of one key never write the same object concurrently.
  std::shared_ptr<std::mutex> lock_obj;
  std::unique_lock<std::mutex> key_lock;
  for (;;) {
    {
      std::lock_guard lk(m.meta_mu);
      if (auto it = m.entries.find(key); it != m.entries.end()) return existed(it->second.tier);
      auto& slot = m.locks[key];
      if (!slot) slot = std::make_shared<std::mutex>();
      lock_obj = slot;
    }
    key_lock = std::unique_lock(*lock_obj);
    std::lock_guard lk(m.meta_mu);
    if (auto it = m.entries.find(key); it != m.entries.end()) return existed(it->second.tier);
    auto lit = m.locks.find(key);
    if (lit != m.locks.end() && lit->second == lock_obj) break;
    key_lock.unlock();  // stale lock object (a failed allocation dropped it): retry
  }

  const io::ObjectSpec spec = m.spec_for(key, num_tokens);
  const std::uint64_t size = spec.payload_bytes;
  std::size_t chosen = m.tiers.size();
  for (std::size_t i = 0; i < m.tiers.size(); ++i) {
    if (m.ensure_space(i, size, 0)) {
      chosen = i;
      break;
    }
  }
  if (chosen == m.tiers.size()) {  // reference step 6: nothing accepted → force storage
    chosen = m.last();
    m.force_terminal(chosen, size);
  }

  const io::GeneratedPayload src(m.gen, key);
  const io::IoResult r = m.tiers[chosen]->write(spec, src);
  const auto t_end = mono_ns();
  if (!r.ok) {
    m.release_reservation(chosen, size);
    {
      std::lock_guard lk(m.meta_mu);
      m.drop_lock_locked(key, lock_obj);
    }
    log::debug("cache: write of '{}' to {} failed: {}", key, tier::tier_name(m.ids[chosen]),
               r.message);
    std::lock_guard lk(m.stats_mu);
    ++m.st.failed_writes;
    m.st.failed_write_bytes += size;
    res.ok = false;
    res.tier = m.ids[chosen];
    res.error = r.error != 0 ? r.error : EIO;
    return res;
  }
  {
    std::lock_guard lk(m.meta_mu);
    Entry e;
    e.tier = chosen;
    e.size = size;
    e.tokens = num_tokens;
    e.last_access = ++m.clock;
    e.access_count = 1;
    m.insert_entry_locked(key, e);
    ++m.entry_count[chosen];
    m.committed[chosen] += size;
    m.commit_locked(chosen, size);
  }
  const tier::TierId id = m.ids[chosen];
  m.lat.write[static_cast<std::size_t>(id)].add(r.timing.total_s);
  if (id == tier::TierId::kStorage) {
    m.lat.storage_write_device.add(r.timing.device_s);
    m.lat.storage_write_host.add(r.timing.host_s);
  }
  m.series_add(chosen, metrics::SeriesDir::kWrite, size, t_end);
  {
    std::lock_guard lk(m.stats_mu);
    ++m.st.write_operations;
    m.st.total_write_bytes += size;
    if (phase == Phase::kPrefill) ++m.st.prefill_writes;
    m.tc(chosen).bytes_written += size;
    ++m.tc(chosen).offloads;
    if (id == tier::TierId::kStorage) m.st.storage_tokens_processed += num_tokens;
  }
  res.ok = true;
  res.tier = id;
  res.timing = r.timing;
  return res;
}

AccessResult MultiTierCache::access(const std::string& key, Phase phase, CacheType type,
                                    io::PayloadSink* sink) {
  auto& m = *impl_;
  AccessResult res;
  auto l = m.lock_existing(key);
  if (!l) {
    std::lock_guard lk(m.stats_mu);
    ++m.st.cache_misses;
    return res;
  }
  Entry e;
  {
    std::lock_guard lk(m.meta_mu);
    auto& slot = *l.slot;                      // present: we hold its lock
    const bool indexed = slot.second.indexed;  // a claimed victim stays out of the index
    m.index_erase(slot);
    slot.second.last_access = ++m.clock;
    ++slot.second.access_count;
    if (indexed) m.index_insert(slot);
    e = slot.second;
  }
  const tier::TierId id = m.ids[e.tier];
  res.hit = true;  // found in the metadata; counted as a hit only once the read succeeded
  res.tier = id;
  const io::ObjectSpec spec = m.spec_for(key, e.tokens);
  const io::IoResult r = m.tiers[e.tier]->read(spec, sink);
  const auto t_end = mono_ns();
  if (!r.ok) {
    // The object cannot be served: not a hit, and the entry leaves the cache (its file is removed,
    // its bytes leave the tier's usage) so that later lookups miss instead of failing again. A
    // read cancelled at the end of the drain (ECANCELED, docs/performance.md) says nothing about
    // the object: it stays.
    if (r.error != ECANCELED) {
      m.tiers[e.tier]->remove(key);
      m.drop_entry(key, l.m, e.tier, e.size);
    }
    l.lk.unlock();
    log::debug("cache: read of '{}' from {} failed ({}); entry dropped", key, tier::tier_name(id),
               r.message);
    std::lock_guard lk(m.stats_mu);
    ++m.st.failed_reads;
    m.tc(e.tier).failed_read_bytes += e.size;
    res.error = r.error != 0 ? r.error : EIO;
    return res;
  }
  l.lk.unlock();  // release the entry lock
  {
    std::lock_guard lk(m.stats_mu);
    ++m.st.cache_hits;
    switch (type) {
      case CacheType::kSystem: ++m.st.system_prompt_hits; break;
      case CacheType::kCommonPhrase: ++m.st.common_phrase_hits; break;
      case CacheType::kMultiTurn: ++m.st.multi_turn_hits; break;
      case CacheType::kUser: ++m.st.user_cache_hits; break;
    }
  }
  m.lat.read[static_cast<std::size_t>(id)].add(r.timing.total_s);
  if (id == tier::TierId::kStorage) {
    m.lat.storage_read_device.add(r.timing.device_s);
    m.lat.storage_read_host.add(r.timing.host_s);
  }
  m.series_add(e.tier, metrics::SeriesDir::kRead, e.size, t_end);
  {
    std::lock_guard lk(m.stats_mu);
    ++m.st.read_operations;
    m.st.total_read_bytes += e.size;
    m.tc(e.tier).bytes_read += e.size;
    if (phase == Phase::kDecode) ++m.st.decode_reads;
    if (id == tier::TierId::kStorage &&
        m.bpt > 0) {  // size / (bpt / TP), as a float in the reference
      m.st.storage_tokens_processed += static_cast<std::uint64_t>(std::llround(
          static_cast<double>(e.size) * m.cfg.tensor_parallel / static_cast<double>(m.bpt)));
    }
  }
  res.ok = true;
  res.timing = r.timing;
  res.bytes = e.size;
  return res;
}

bool MultiTierCache::contains(const std::string& key) const {
  std::lock_guard lk(impl_->meta_mu);
  return impl_->entries.contains(key);
}

std::optional<tier::TierId> MultiTierCache::location(const std::string& key) const {
  std::lock_guard lk(impl_->meta_mu);
  auto it = impl_->entries.find(key);
  if (it == impl_->entries.end()) return std::nullopt;
  return impl_->ids[it->second.tier];
}

std::vector<std::string> MultiTierCache::keys() const {
  std::lock_guard lk(impl_->meta_mu);
  std::vector<std::string> out;
  out.reserve(impl_->entries.size());
  for (const auto& [k, e] : impl_->entries) out.push_back(k);
  return out;
}

CacheStats MultiTierCache::stats() const {
  auto& m = *impl_;
  CacheStats s;
  {
    std::lock_guard lk(m.stats_mu);
    s = m.st;
  }
  std::lock_guard mlk(m.meta_mu);
  std::lock_guard ulk(m.usage_mu);
  for (std::size_t i = 0; i < m.tiers.size(); ++i) {
    auto& t = s.tiers[static_cast<std::size_t>(m.ids[i])];
    t.entries = m.entry_count[i];
    t.usage_bytes = m.usage[i];
  }
  return s;
}

std::array<std::optional<std::uint64_t>, 3> MultiTierCache::usage_now() const {
  auto& m = *impl_;
  std::array<std::optional<std::uint64_t>, 3> out{};
  std::lock_guard lk(m.usage_mu);
  for (std::size_t i = 0; i < m.tiers.size(); ++i)
    out[static_cast<std::size_t>(m.ids[i])] = m.usage[i];
  return out;
}

const CacheLatencies& MultiTierCache::latencies() const {
  return impl_->lat;
}

void MultiTierCache::reset_stats() {
  auto& m = *impl_;
  {
    std::lock_guard lk(m.stats_mu);
    const bool has_gpu = m.st.has_gpu;
    m.st = CacheStats{};
    m.st.has_gpu = has_gpu;
    for (std::size_t i = 0; i < m.tiers.size(); ++i) {
      m.tc(i).present = true;
      m.tc(i).limit_bytes = m.limits[i];
    }
  }
  m.lat.clear();
}

std::size_t MultiTierCache::clear() {
  std::size_t removed = 0;
  for (const auto& key : keys()) removed += remove(key) ? 1 : 0;
  return removed;
}

bool MultiTierCache::remove(const std::string& key) {
  auto& m = *impl_;
  auto l = m.lock_existing(key);
  if (!l) return false;
  m.tiers[l.e.tier]->remove(key);
  m.drop_entry(key, l.m, l.e.tier, l.e.size);
  return true;
}

void MultiTierCache::set_alloc_limit_enabled(bool enabled) {
  impl_->sem_enabled.store(enabled);
}

}  // namespace kv::cache
