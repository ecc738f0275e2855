// Cache tiers behind one interface (contract; owned by the tier/cache work).
//   * GPU:   `--gpu-backend simulated` keeps sizes only and charges bytes / bandwidth (default
//            64 GB/s, 1 GB = 1e9 B) as a precise sleep; bytes handed to a sink or a demotion are
//            regenerated from (key, seed). `--gpu-backend cuda` keeps them in device memory
//            (cuda_tier.hpp). gpu_select.hpp decides which runs (`auto`: cuda if a device is found).
//   * CPU:   real DRAM, one owned buffer per entry (allocated once). write = copy in, read = copy out,
//            both timed (total = device = host); payload generation and sink work happen outside the
//            timed spans, through a bounded per-thread scratch buffer.
//   * Storage: files through an io::StorageBackend (timing split device/host as the backend reports).
// Tiers do no capacity accounting (the cache does); they only move bytes and time them. All tiers are
// thread-safe; the cache serialises operations on one key with its entry lock.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "engine/io/backend.hpp"
#include "engine/io/payload.hpp"

namespace kv::tier {

enum class TierId : int { kGpu = 0, kCpu = 1, kStorage = 2 };
const char* tier_name(TierId t);  // "gpu", "cpu", "storage"

class Tier {
 public:
  virtual ~Tier() = default;
  virtual TierId id() const = 0;
  // Stores spec.payload_bytes bytes produced by src under spec.key (replacing any previous copy).
  virtual io::IoResult write(const io::ObjectSpec& spec, const io::PayloadSource& src) = 0;
  // Reads the whole object; sink may be null. A missing key fails with error = ENOENT.
  virtual io::IoResult read(const io::ObjectSpec& spec, io::PayloadSink* sink) = 0;
  virtual bool remove(const std::string& key) = 0;
  // A source reproducing the bytes stored under spec.key, used to demote the entry into the next
  // tier (CPU: its DRAM copy; simulated GPU: regenerated, charging the modelled transfer time).
  // Only valid while the entry is stored; null if the key is not stored or the tier is terminal
  // (storage).
  virtual std::unique_ptr<io::PayloadSource> source_for(const io::ObjectSpec& spec) = 0;
};

// bandwidth_gbps must be > 0 (kv::Error kInvalidArguments otherwise).
std::unique_ptr<Tier> make_simulated_gpu_tier(const io::PayloadGenerator& gen, double bandwidth_gbps);
std::unique_ptr<Tier> make_cpu_tier(const io::PayloadGenerator& gen);
std::unique_ptr<Tier> make_storage_tier(std::unique_ptr<io::StorageBackend> backend);

// Sleeps until mono_ns() >= deadline_ns with ~µs precision (coarse sleep, then a short yield-spin).
void precise_sleep_until(std::int64_t deadline_ns);

}  // namespace kv::tier
