// Cache tiers behind one interface (contract; owned by the tier/cache work).
//   * GPU:   `--gpu-backend simulated` keeps sizes only and charges bytes / bandwidth (default
//            64 GB/s) as a sleep; demoted bytes are regenerated from (key, seed). A CUDA backend can
//            implement the same interface later. `auto` = absent on a machine without CUDA.
//   * CPU:   real DRAM; write = copy in (timed), read = copy out (timed). Owns its bytes.
//   * Storage: files through an io::StorageBackend.
// Tiers do no capacity accounting (the cache does); they only move bytes and time it.
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
  virtual io::IoResult write(const io::ObjectSpec& spec, const io::PayloadSource& src) = 0;
  virtual io::IoResult read(const io::ObjectSpec& spec, io::PayloadSink* sink) = 0;
  virtual bool remove(const std::string& key) = 0;
  // A source reproducing the bytes stored under spec.key, used to demote the entry into the next
  // tier (CPU: its DRAM copy; simulated GPU: regenerated). Only valid while the entry is stored.
  virtual std::unique_ptr<io::PayloadSource> source_for(const io::ObjectSpec& spec) = 0;
};

std::unique_ptr<Tier> make_simulated_gpu_tier(const io::PayloadGenerator& gen, double bandwidth_gbps);
std::unique_ptr<Tier> make_cpu_tier(const io::PayloadGenerator& gen);
std::unique_ptr<Tier> make_storage_tier(std::unique_ptr<io::StorageBackend> backend);

}  // namespace kv::tier
