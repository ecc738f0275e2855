// Internal to the tier module: places variable-size objects in one fixed slab (device memory
// allocated once) as lists of extents, so the slab never needs another allocation and free space
// cannot be lost to fragmentation: an object takes one contiguous extent when one is large enough
// (best fit), else it is scattered over the largest free extents. Sizes are rounded up to
// `granularity` bytes. Not thread-safe (the owner locks).
#pragma once

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <map>
#include <vector>

namespace kv::tier::detail {

struct Extent {
  std::uint64_t offset = 0;
  std::uint64_t bytes = 0;  // rounded up to the granularity
};

class SlabAllocator {
 public:
  SlabAllocator(std::uint64_t capacity, std::uint64_t granularity)
      : gran_(granularity == 0 ? 1 : granularity),
        capacity_(capacity / gran_ * gran_),
        free_bytes_(capacity_) {
    if (capacity_ > 0) free_[0] = capacity_;
  }

  std::uint64_t capacity() const { return capacity_; }
  std::uint64_t free_bytes() const { return free_bytes_; }
  std::uint64_t rounded(std::uint64_t bytes) const { return (bytes + gran_ - 1) / gran_ * gran_; }

  // Appends the extents holding `bytes` (rounded) to `out`; false (nothing taken) if they do not
  // fit.
  bool allocate(std::uint64_t bytes, std::vector<Extent>& out) {
    std::uint64_t need = rounded(bytes);
    if (need == 0) return true;
    if (need > free_bytes_) return false;
    auto best = free_.end();
    for (auto it = free_.begin(); it != free_.end(); ++it) {
      if (it->second >= need && (best == free_.end() || it->second < best->second)) best = it;
    }
    if (best != free_.end()) {
      out.push_back(take(best, need));
      return true;
    }
    while (need >
           0) {  // scatter over the largest extents (need <= free_bytes_ guarantees progress)
      auto big = std::max_element(free_.begin(), free_.end(),
                                  [](const auto& a, const auto& b) { return a.second < b.second; });
      const std::uint64_t n = std::min(need, big->second);
      out.push_back(take(big, n));
      need -= n;
    }
    return true;
  }

  // Returns extents taken by allocate(); adjacent free extents are merged.
  void release(const std::vector<Extent>& extents) {
    for (const Extent& e : extents) {
      if (e.bytes == 0) continue;
      free_bytes_ += e.bytes;
      auto it = free_.emplace(e.offset, e.bytes).first;
      if (auto next = std::next(it); next != free_.end() && it->first + it->second == next->first) {
        it->second += next->second;
        free_.erase(next);
      }
      if (it != free_.begin()) {
        auto prev = std::prev(it);
        if (prev->first + prev->second == it->first) {
          prev->second += it->second;
          free_.erase(it);
        }
      }
    }
  }

  std::size_t free_extent_count() const { return free_.size(); }

 private:
  Extent take(std::map<std::uint64_t, std::uint64_t>::iterator it, std::uint64_t n) {
    const Extent e{it->first, n};
    const std::uint64_t rest = it->second - n;
    const std::uint64_t rest_off = it->first + n;
    free_.erase(it);
    if (rest > 0) free_.emplace(rest_off, rest);
    free_bytes_ -= n;
    return e;
  }

  std::uint64_t gran_;
  std::uint64_t capacity_;
  std::uint64_t free_bytes_;
  std::map<std::uint64_t, std::uint64_t> free_;  // offset → bytes, non-adjacent
};

}  // namespace kv::tier::detail
