// Fixed pool of 4 KiB-aligned I/O buffers bounding the bytes in flight (--max-inflight-mib).
// count = max(1, budget / buffer_bytes) buffers of buffer_bytes each, carved from one anonymous
// mapping (pages are touched only when used, so an idle pool costs no RSS). acquire() blocks while
// every buffer is out; try_acquire() never blocks. Rule for callers that hold several buffers: only
// block in acquire() while holding none (otherwise two holders could wait on each other).
// Thread-safe. Buffer indices are stable, so a ring can register the whole pool once. Each buffer
// has a FillMemo (what a payload fill left in it), used only by the buffer's current holder; a
// write prefers a free buffer whose memo says it holds payload, a read one whose memo is empty
// (a read overwrites the buffer), so that reads do not wear out what writes can reuse.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <span>
#include <vector>

#include "engine/io/backend.hpp"

namespace kv::io {

class BufferPool {
 public:
  enum class Use { kAny, kWrite, kRead };

  BufferPool(std::uint64_t buffer_bytes, std::uint64_t budget_bytes);
  ~BufferPool();
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  std::uint64_t buffer_bytes() const { return buffer_bytes_; }
  std::size_t count() const { return count_; }
  std::byte* data(int index) const {
    return base_ + static_cast<std::uint64_t>(index) * buffer_bytes_;
  }
  std::span<std::byte> arena() const { return {base_, count_ * buffer_bytes_}; }
  FillMemo& memo(int index) { return memos_[static_cast<std::size_t>(index)]; }

  int acquire(Use use = Use::kAny);      // blocks until a buffer is free; returns its index
  int try_acquire(Use use = Use::kAny);  // -1 when none is free
  void release(int index);

  std::size_t outstanding() const;
  std::size_t max_outstanding() const;  // high-water mark since construction

 private:
  int take_locked(Use use);  // a free buffer, the preferred kind first (mu_ held, free_ not empty)

  std::uint64_t buffer_bytes_;
  std::size_t count_;
  std::byte* base_ = nullptr;
  std::size_t map_bytes_ = 0;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<int> free_;  // LIFO: recently used (hot, resident) buffers first
  std::vector<FillMemo> memos_;
  std::size_t out_ = 0;
  std::size_t max_out_ = 0;
};

// RAII lease of one buffer.
class BufferLease {
 public:
  BufferLease() = default;
  explicit BufferLease(BufferPool& p, BufferPool::Use use = BufferPool::Use::kAny)
      : pool_(&p), index_(p.acquire(use)) {}
  ~BufferLease() { reset(); }
  BufferLease(const BufferLease&) = delete;
  BufferLease& operator=(const BufferLease&) = delete;
  std::byte* data() const { return pool_->data(index_); }
  FillMemo& memo() const { return pool_->memo(index_); }
  void reset() {
    if (pool_ && index_ >= 0) pool_->release(index_);
    index_ = -1;
  }

 private:
  BufferPool* pool_ = nullptr;
  int index_ = -1;
};

}  // namespace kv::io
