// Choosing the GPU tier from --gpu-backend (contract). One place decides what runs, so the runner,
// the benchmark tool and the tests agree:
//   * none: no GPU tier.
//   * simulated: sizes only, transfer time = bytes / --gpu-bandwidth-gbps (gpu_tier.cpp).
//   * cuda: real device memory (cuda_tier.hpp) on devices 0 .. --num-gpus-1, one slab of
//     --gpu-mem-gb each; any failure is a usage error (exit 2) naming the flag to change.
//   * auto: cuda when the driver loads and the devices fit, else no GPU tier, as the reference
//     without CUDA; the reason is returned in `note` (the runner reports it as a warning and in the
//     results). With --gpu-mem-gb 0 the driver is not even loaded.
// --gpu-mem-gb 0 means no GPU tier under every backend.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/io/payload.hpp"
#include "engine/tier/cuda_driver.hpp"
#include "engine/tier/tier.hpp"

namespace kv::tier {

struct GpuTierRequest {
  std::string backend = "auto";  // --gpu-backend: auto | simulated | cuda | none
  double mem_gb_per_gpu = 0;     // --gpu-mem-gb (GiB per GPU)
  int num_gpus = 1;              // --num-gpus
  double bandwidth_gbps = 64;    // --gpu-bandwidth-gbps (simulated only)
  double memory_fraction = 0.9;  // gpu_backend.memory_fraction (YAML): cap of one slab per device
  std::string cuda_library;      // empty: cuda::Driver::default_library()
};

class GpuTierPlan {
 public:
  std::string backend = "none";   // what runs: "cuda" | "simulated" | "none"
  std::uint64_t limit_bytes = 0;  // the cache's GPU limit = num_gpus × gpu_mem_gb (0: no tier)
  std::string note;               // auto: why CUDA is not used (empty otherwise)
  std::vector<cuda::DeviceInfo> devices;  // cuda: the devices in use
  // The tier to put first in the waterfall (null when limit_bytes == 0); call once. The simulated
  // tier keeps a reference to `gen`.
  std::unique_ptr<Tier> make_tier(const io::PayloadGenerator& gen);

 private:
  friend GpuTierPlan plan_gpu_tier(const GpuTierRequest& req);
  std::unique_ptr<Tier> cuda_;
  double bandwidth_gbps_ = 0;
};

// Throws kv::Error (exit 2) naming the flag when --gpu-backend cuda cannot be honoured.
GpuTierPlan plan_gpu_tier(const GpuTierRequest& req);

}  // namespace kv::tier
