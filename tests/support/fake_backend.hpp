// Fake storage for tests: an in-memory StorageBackend (no disk timing), a sink
// that collects bytes, and expected-payload helpers.
#pragma once

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstddef>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "engine/io/backend.hpp"
#include "engine/io/payload.hpp"

namespace kv::testsupport {

// In-memory StorageBackend. Optionally stores the bytes (store_bytes), fails writes/reads with an
// errno, or blocks writes of chosen keys at a gate until open_gate().
class FakeBackend final : public kv::io::StorageBackend {
 public:
  explicit FakeBackend(bool store_bytes = true) : store_bytes_(store_bytes) {}

  const char* name() const override { return "fake"; }

  kv::io::IoResult write(const kv::io::ObjectSpec& spec,
                         const kv::io::PayloadSource& src) override {
    {
      std::unique_lock lk(mu_);
      if (gated_.contains(spec.key) || gate_all_) {
        ++blocked_;
        ++ever_blocked_;
        cv_.notify_all();
        cv_.wait(lk, [&] { return gate_open_; });
        --blocked_;
      }
    }
    kv::io::IoResult r;
    if (int e = fail_write_errno_.load(); e != 0) {
      r.error = e;
      r.message = "fake: injected write failure for '" + spec.key + "'";
      return r;
    }
    std::vector<std::byte> data;
    if (store_bytes_) {
      data.resize(static_cast<std::size_t>(spec.payload_bytes));
      std::size_t off = 0;
      while (off < data.size()) {  // odd chunk size on purpose
        const std::size_t n = std::min<std::size_t>(100'003, data.size() - off);
        src.fill(off, std::span<std::byte>(data.data() + off, n));
        off += n;
      }
    }
    {
      std::lock_guard lk(mu_);
      objects_[spec.key] = Obj{spec.payload_bytes, std::move(data)};
    }
    ++writes_;
    r.ok = true;
    r.bytes = spec.payload_bytes;
    r.timing = {3e-6, 2e-6, 1e-6};
    return r;
  }

  kv::io::IoResult read(const kv::io::ObjectSpec& spec, kv::io::PayloadSink* sink) override {
    kv::io::IoResult r;
    if (int e = fail_read_errno_.load(); e != 0) {
      r.error = e;
      return r;
    }
    std::vector<std::byte> copy;
    std::uint64_t size = 0;
    {
      std::lock_guard lk(mu_);
      auto it = objects_.find(spec.key);
      if (it == objects_.end()) {
        r.error = ENOENT;
        r.message = "fake: no object '" + spec.key + "'";
        return r;
      }
      size = it->second.size;
      if (sink != nullptr) copy = it->second.data;
    }
    if (sink != nullptr && !copy.empty()) sink->consume(0, copy);
    ++reads_;
    r.ok = true;
    r.bytes = size;
    r.timing = {5e-6, 4e-6, 1e-6};
    return r;
  }

  bool remove(const std::string& key) override {
    std::lock_guard lk(mu_);
    ++removes_;
    return objects_.erase(key) > 0;
  }
  std::filesystem::path path_for(const std::string& key) const override {
    return "/fake/" + key + ".npy";
  }

  // ---- test controls ----
  void fail_writes(int err) { fail_write_errno_ = err; }
  void fail_reads(int err) { fail_read_errno_ = err; }
  void gate_key(const std::string& key) {
    std::lock_guard lk(mu_);
    gated_.insert(key);
    gate_open_ = false;
  }
  void gate_all() {
    std::lock_guard lk(mu_);
    gate_all_ = true;
    gate_open_ = false;
  }
  void open_gate() {
    std::lock_guard lk(mu_);
    gate_open_ = true;
    gated_.clear();
    gate_all_ = false;
    cv_.notify_all();
  }
  // Waits until `n` writers are blocked at the gate.
  void wait_blocked(int n) {
    std::unique_lock lk(mu_);
    cv_.wait(lk, [&] { return blocked_ >= n; });
  }
  int blocked() const {
    std::lock_guard lk(mu_);
    return blocked_;
  }
  // Drops an object behind the cache's back (simulates an external deletion).
  void erase_behind(const std::string& key) {
    std::lock_guard lk(mu_);
    objects_.erase(key);
  }

  bool has(const std::string& key) const {
    std::lock_guard lk(mu_);
    return objects_.contains(key);
  }
  std::vector<std::byte> bytes_of(const std::string& key) const {
    std::lock_guard lk(mu_);
    auto it = objects_.find(key);
    return it == objects_.end() ? std::vector<std::byte>{} : it->second.data;
  }
  std::size_t count() const {
    std::lock_guard lk(mu_);
    return objects_.size();
  }
  std::uint64_t total_bytes() const {
    std::lock_guard lk(mu_);
    std::uint64_t s = 0;
    for (const auto& [k, o] : objects_) s += o.size;
    return s;
  }
  int writes() const { return writes_; }
  int reads() const { return reads_; }

 private:
  struct Obj {
    std::uint64_t size = 0;
    std::vector<std::byte> data;
  };
  const bool store_bytes_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, Obj> objects_;
  std::set<std::string> gated_;
  bool gate_all_ = false;
  bool gate_open_ = true;
  int blocked_ = 0, ever_blocked_ = 0;
  std::atomic<int> fail_write_errno_{0}, fail_read_errno_{0};
  std::atomic<int> writes_{0}, reads_{0}, removes_{0};
};

// Collects everything a read delivers.
class VectorSink final : public kv::io::PayloadSink {
 public:
  void consume(std::uint64_t offset, std::span<const std::byte> in) override {
    if (data.size() < offset + in.size()) data.resize(static_cast<std::size_t>(offset + in.size()));
    std::copy(in.begin(), in.end(), data.begin() + static_cast<std::ptrdiff_t>(offset));
  }
  std::vector<std::byte> data;
};

inline std::vector<std::byte> generated(const kv::io::PayloadGenerator& gen, const std::string& key,
                                        std::uint64_t n) {
  std::vector<std::byte> v(static_cast<std::size_t>(n));
  kv::io::GeneratedPayload(gen, key).fill(0, v);
  return v;
}

}  // namespace kv::testsupport
