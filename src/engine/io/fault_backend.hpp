// Fault-injecting StorageBackend wrapper for tests (LevelDB FaultInjectionTestEnv style).
// Wraps any backend; armed faults make the op return IoResult{ok = false, error = err} exactly as a
// real failure would (a failed write leaves no file behind: the inner file is removed).
//   fail_writes(err, after_n, count): the next `after_n` writes pass, then `count` writes fail with
//                                     `err` (-1 = every later write). fail_reads: same for reads.
//   short_write_next(count, silent):  the next `count` writes store only half of the payload.
//                                     silent = false: reported as failed (EIO, file removed);
//                                     silent = true: reported ok (a lying device); a later read of
//                                     that object must then fail on the size check.
//   clear(): disarm everything. Thread-safe; counters for assertions.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "engine/io/backend.hpp"

namespace kv::io {

class FaultBackend final : public StorageBackend {
 public:
  explicit FaultBackend(std::unique_ptr<StorageBackend> inner);

  void fail_writes(int err, int after_n = 0, int count = -1);
  void fail_reads(int err, int after_n = 0, int count = -1);
  void short_write_next(int count = 1, bool silent = false);
  void clear();

  int writes_seen() const;
  int reads_seen() const;
  int injected() const;  // faults injected so far (all kinds)
  StorageBackend& inner() { return *inner_; }

  const char* name() const override { return name_.c_str(); }
  IoResult write(const ObjectSpec& spec, const PayloadSource& src) override;
  IoResult read(const ObjectSpec& spec, PayloadSink* sink) override;
  bool remove(const std::string& key) override { return inner_->remove(key); }
  std::filesystem::path path_for(const std::string& key) const override { return inner_->path_for(key); }
  std::uint64_t peak_inflight_bytes() const override { return inner_->peak_inflight_bytes(); }

 private:
  struct Arm {
    int err = 0;
    int skip = 0;
    int count = 0;  // -1 = forever
    // Consumes one op; returns the errno to inject or 0.
    int take();
  };
  std::unique_ptr<StorageBackend> inner_;
  std::string name_;
  mutable std::mutex mu_;
  Arm writes_, reads_;
  int short_count_ = 0;
  bool short_silent_ = false;
  int writes_seen_ = 0, reads_seen_ = 0, injected_ = 0;
};

}  // namespace kv::io
