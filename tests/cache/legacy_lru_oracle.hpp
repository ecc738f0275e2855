// Test-only oracle: the cache's previous eviction algorithm (before the per-tier LRU index), kept
// as a single-threaded model so the model-based test can check that the index picks the same
// victims in the same order. It sorts a snapshot of the tier's entries by (last_access,
// access_count) every time it needs victims, exactly as ensure_space did; the rules are those of
// docs/cache.md
// ("Making room"). It records the tier operations it would perform as text events:
//   "W<t> key" write into tier t (admission or demotion), "X<t> key" a failed write,
//   "R<t> key" removal from tier t, "G<t> key" read from tier t.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace kvtest {

class LegacyLruOracle {
 public:
  struct Config {
    std::vector<int> tier_ids;          // tier ids in order (0 gpu, 1 cpu, 2 storage), storage last
    std::vector<std::uint64_t> limits;  // bytes per tier; UINT64_MAX = unlimited (terminal only)
    double target = 0.8, large = 0.95;
    int max_depth = 10, hard_cap = 5000, min_budget = 1000;
  };
  // `write_fails(n)`: whether the n-th tier write (0-based, all tiers) fails.
  LegacyLruOracle(Config c, std::function<bool(std::uint64_t)> write_fails)
      : c_(std::move(c)), fails_(std::move(write_fails)), usage_(c_.limits.size(), 0) {}

  std::vector<std::string> events;
  std::uint64_t forced = 0, evictions = 0, demotions = 0, failed_writes = 0, failed_demotions = 0;

  void allocate(const std::string& key, std::uint64_t bytes) {
    if (entries_.contains(key)) return;
    std::size_t chosen = c_.limits.size();
    for (std::size_t i = 0; i < c_.limits.size(); ++i) {
      if (ensure(i, bytes, 0)) {
        chosen = i;
        break;
      }
    }
    if (chosen == c_.limits.size()) {
      chosen = c_.limits.size() - 1;
      usage_[chosen] += bytes;
      ++forced;
    }
    if (!write(chosen, key)) {
      usage_[chosen] -= bytes;
      ++failed_writes;
      return;
    }
    entries_[key] = E{chosen, bytes, ++clock_, 1};
  }
  void access(const std::string& key) {
    auto it = entries_.find(key);
    if (it == entries_.end()) return;
    it->second.last = ++clock_;
    ++it->second.count;
    events.push_back("G" + std::to_string(c_.tier_ids[it->second.tier]) + " " + key);
  }
  void remove(const std::string& key) {
    auto it = entries_.find(key);
    if (it == entries_.end()) return;
    events.push_back("R" + std::to_string(c_.tier_ids[it->second.tier]) + " " + key);
    usage_[it->second.tier] -= it->second.size;
    entries_.erase(it);
  }
  std::uint64_t usage(std::size_t i) const { return usage_[i]; }
  std::uint64_t entries(std::size_t i) const {
    return static_cast<std::uint64_t>(std::count_if(
        entries_.begin(), entries_.end(), [&](const auto& kv) { return kv.second.tier == i; }));
  }
  // Tier index of the key, or -1.
  int where(const std::string& key) const {
    auto it = entries_.find(key);
    return it == entries_.end() ? -1 : static_cast<int>(it->second.tier);
  }

 private:
  struct E {
    std::size_t tier;
    std::uint64_t size, last, count;
  };
  struct Snap {
    std::string key;
    std::uint64_t size, last, count;
  };

  bool write(std::size_t i, const std::string& key) {
    const bool ok = !fails_(writes_++);
    events.push_back((ok ? "W" : "X") + std::to_string(c_.tier_ids[i]) + " " + key);
    return ok;
  }
  bool reserve(std::size_t i, std::uint64_t bytes, double target) {
    const double u = static_cast<double>(usage_[i]);
    if (u + static_cast<double>(bytes) <= target || u < 0.05 * static_cast<double>(c_.limits[i])) {
      usage_[i] += bytes;
      return true;
    }
    return false;
  }
  std::vector<Snap> snapshot(std::size_t i) const {
    std::vector<Snap> v;
    for (const auto& [k, e] : entries_) {
      if (e.tier == i) v.push_back({k, e.size, e.last, e.count});
    }
    std::sort(v.begin(), v.end(), [](const Snap& a, const Snap& b) {
      return a.last != b.last ? a.last < b.last : a.count < b.count;
    });
    return v;
  }
  bool ensure(std::size_t i, std::uint64_t bytes, int depth) {
    const bool terminal = i + 1 == c_.limits.size();
    const std::uint64_t limit = c_.limits[i];
    if (terminal && limit == UINT64_MAX) {
      usage_[i] += bytes;
      return true;
    }
    if (depth > c_.max_depth) return false;
    const double dl = static_cast<double>(limit);
    if (!terminal && (limit == 0 || static_cast<double>(bytes) > c_.large * dl)) return false;
    const double target = terminal ? dl : c_.target * dl;
    std::vector<Snap> snap;
    std::size_t pos = 0, budget = 0, used = 0;
    bool have = false;
    for (;;) {
      if (reserve(i, bytes, target)) return true;
      if (!have || pos >= snap.size()) {
        snap = snapshot(i);
        pos = 0;
        if (!have) {
          budget = std::min<std::size_t>(
              static_cast<std::size_t>(c_.hard_cap),
              std::max<std::size_t>(static_cast<std::size_t>(c_.min_budget), snap.size() + 100));
          have = true;
        }
        if (snap.empty()) {
          if (reserve(i, bytes, target)) return true;
          if (!terminal) return false;
          usage_[i] += bytes;
          ++forced;
          return true;
        }
        if (!terminal) {
          std::uint64_t sb = 0;
          for (const auto& s : snap) sb += s.size;
          if (static_cast<double>(sb) < 0.2 * dl && static_cast<double>(bytes) > 0.5 * target)
            return false;
        }
      }
      if (used >= budget) break;
      const Snap v = snap[pos++];
      ++used;
      if (terminal) {
        evict(i, v.key);
      } else if (!demote(i, v.key, v.size, depth)) {
        return false;
      }
    }
    if (!terminal) return false;
    usage_[i] += bytes;
    ++forced;
    return true;
  }
  void evict(std::size_t i, const std::string& key) {
    auto it = entries_.find(key);
    if (it == entries_.end() || it->second.tier != i) return;
    events.push_back("R" + std::to_string(c_.tier_ids[i]) + " " + key);
    usage_[i] -= it->second.size;
    entries_.erase(it);
    ++evictions;
  }
  bool demote(std::size_t i, const std::string& key, std::uint64_t size, int depth) {
    const std::size_t d = i + 1;
    if (!ensure(d, size, depth + 1)) return false;
    auto it = entries_.find(key);
    if (it == entries_.end() || it->second.tier != i) {
      usage_[d] -= size;
      return true;
    }
    if (!write(d, key)) {
      usage_[d] -= size;
      ++failed_demotions;
      return false;
    }
    events.push_back("R" + std::to_string(c_.tier_ids[i]) + " " + key);
    it->second.tier = d;
    usage_[i] -= size;
    ++demotions;
    ++evictions;
    return true;
  }

  Config c_;
  std::function<bool(std::uint64_t)> fails_;
  std::vector<std::uint64_t> usage_;
  std::map<std::string, E> entries_;
  std::uint64_t clock_ = 0, writes_ = 0;
};

}  // namespace kvtest
