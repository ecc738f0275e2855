// The CUDA GPU tier (contract): real device memory and real PCIe/NVLink transfers through the CUDA
// driver API (loaded at run time, cuda_driver.hpp), behind the Tier interface.
//   * Memory: one slab of `bytes_per_device` per device, allocated once at open (cuMemAlloc) and
//     freed at destruction; objects are placed in it as extents (slab.hpp), on the device with the
//     most free space. No device allocation per operation. The cache does the capacity accounting;
//     a slab that cannot hold an object (only through rounding) fails the write with ENOSPC.
//   * Staging: `staging_slots` pinned host buffers of `staging_bytes` per device (cuMemHostAlloc),
//     each with its own non-blocking stream, allocated once and reused. An operation holds one slot
//     (waiting for a free one when all are busy) and moves the object through it in pieces.
//   * write: for each piece, the source fills the pinned buffer (untimed: payload generation), then
//     host→device copies + stream synchronize (timed). read: device→host + synchronize (timed),
//     then the sink consumes the piece (untimed). total = device = host = Σ timed spans, as the CPU
//     tier. The wait for a free staging slot is not part of the latency.
//   * source_for (demotion): device→host into a pinned slot held until the source is destroyed,
//     then copied into the next tier's buffers, piece by piece.
// A CUDA error on an operation fails that operation (EIO, the driver's message); a copy error
// inside a demotion source is logged and the demoted copy is zero-filled (PayloadSource::fill
// cannot fail). Thread-safe. Sources must not outlive the tier.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/tier/cuda_driver.hpp"
#include "engine/tier/tier.hpp"

namespace kv::tier {

struct CudaTierOptions {
  std::string library = "libcuda.so.1";  // path given to dlopen
  int num_devices = 1;                   // devices 0 .. num_devices-1 (--num-gpus)
  std::uint64_t bytes_per_device = 0;    // one slab per device (--gpu-mem-gb), > 0
  double memory_fraction = 0.9;          // a slab may take at most this share of a device's memory
  std::size_t staging_bytes = 8u << 20;  // per pinned staging buffer
  unsigned staging_slots = 4;            // pinned buffers (and streams) per device
};

// Why open_cuda_tier failed, sorted by the flag a user changes.
enum class CudaFailure {
  kNone,
  kNoDriver,       // --gpu-backend: no loadable driver
  kBadDriver,      // --gpu-backend: driver too old or cuInit failed
  kNoDevice,       // --gpu-backend: driver sees no device
  kTooFewDevices,  // --num-gpus larger than the device count
  kTooLarge,       // --gpu-mem-gb larger than memory_fraction × the device's memory
  kOutOfMemory,    // --gpu-mem-gb larger than the device's free memory, or cuMemAlloc failed
  kDriverError,    // --gpu-backend: another driver call failed (context, stream, pinned memory)
};

struct CudaOpenResult {
  CudaFailure failure = CudaFailure::kNone;
  std::string message;                    // what failed, with device and driver message
  std::unique_ptr<Tier> tier;             // set when failure == kNone
  std::vector<cuda::DeviceInfo> devices;  // the devices in use (when open), or seen (on failure)
};

CudaOpenResult open_cuda_tier(const CudaTierOptions& opt);

}  // namespace kv::tier
