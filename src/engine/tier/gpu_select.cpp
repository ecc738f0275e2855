#include "engine/tier/gpu_select.hpp"

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/units.hpp"
#include "engine/tier/cuda_tier.hpp"

namespace kv::tier {
namespace {

// The flag a user changes for each failure, and what to try.
const char* flag_for(CudaFailure f) {
  switch (f) {
    case CudaFailure::kTooFewDevices: return "--num-gpus";
    case CudaFailure::kTooLarge:
    case CudaFailure::kOutOfMemory: return "--gpu-mem-gb";
    default: return "--gpu-backend";
  }
}
const char* hint_for(CudaFailure f) {
  switch (f) {
    case CudaFailure::kTooFewDevices:
      return "use --num-gpus up to the device count, or set CUDA_VISIBLE_DEVICES";
    case CudaFailure::kTooLarge:
    case CudaFailure::kOutOfMemory: return "use a smaller --gpu-mem-gb (it is per GPU)";
    default: return "use --gpu-backend simulated (modelled GPU tier) or none";
  }
}

}  // namespace

std::unique_ptr<Tier> GpuTierPlan::make_tier(const io::PayloadGenerator& gen) {
  if (limit_bytes == 0) return nullptr;
  if (backend == "simulated") return make_simulated_gpu_tier(gen, bandwidth_gbps_);
  return std::move(cuda_);
}

GpuTierPlan plan_gpu_tier(const GpuTierRequest& req) {
  GpuTierPlan p;
  p.bandwidth_gbps_ = req.bandwidth_gbps;
  const std::uint64_t per_gpu = gib_to_bytes(req.mem_gb_per_gpu);
  const std::uint64_t total = gib_to_bytes(req.mem_gb_per_gpu * req.num_gpus);
  if (req.backend == "none" || per_gpu == 0) return p;
  if (req.backend == "simulated") {
    p.backend = "simulated";
    p.limit_bytes = total;
    return p;
  }
  if (req.backend != "cuda" && req.backend != "auto")
    throw usage_error("--gpu-backend",
                      "must be one of auto, simulated, cuda, none (got '" + req.backend + "')");
  CudaTierOptions o;
  o.library = req.cuda_library.empty() ? cuda::Driver::default_library() : req.cuda_library;
  o.num_devices = req.num_gpus;
  o.bytes_per_device = per_gpu;
  o.memory_fraction = req.memory_fraction;
  CudaOpenResult r = open_cuda_tier(o);
  if (r.failure == CudaFailure::kNone) {
    p.backend = "cuda";
    p.limit_bytes = per_gpu * static_cast<std::uint64_t>(req.num_gpus);
    p.devices = std::move(r.devices);
    p.cuda_ = std::move(r.tier);
    return p;
  }
  if (req.backend == "cuda") {
    const std::string flag = flag_for(r.failure);
    throw Error(ExitCode::kInvalidArguments,
                flag == "--gpu-backend" ? flag + ": cuda: " + r.message
                                        : flag + ": " + r.message + " (--gpu-backend cuda)",
                hint_for(r.failure));
  }
  p.note = fmt::format(
      "--gpu-backend auto: no GPU tier ({}); --gpu-mem-gb {} ignored, as the reference without "
      "CUDA; use --gpu-backend simulated for a modelled GPU tier",
      r.message, req.mem_gb_per_gpu);
  return p;
}

}  // namespace kv::tier
