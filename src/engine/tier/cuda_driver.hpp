// The CUDA driver API, loaded at run time with dlopen (contract). No CUDA header or library is
// needed to build: the few entry points the GPU tier uses are declared here with the driver's C ABI
// (CUresult is a C enum = int; CUdevice int; CUdeviceptr 64-bit unsigned on LP64; CUcontext and
// CUstream opaque pointers), and resolved by their exported names, including the `_v2` suffixes the
// driver exports for the 64-bit-size versions (docs/engine.md, "GPU tier").
//
// Driver::load(path) opens the library, resolves every entry point, calls cuInit(0) and counts the
// devices. Failures are values, sorted by what a user can do about them (LoadStatus). The library
// handle is kept open for the life of the process once loaded (the real driver does not support
// being unloaded while its threads run); a failed load closes it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace kv::tier::cuda {

using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;
using CUcontext = void*;
using CUstream = void*;

// CUresult values used by name (the driver's enum).
inline constexpr CUresult kSuccess = 0;
inline constexpr CUresult kErrorInvalidValue = 1;
inline constexpr CUresult kErrorOutOfMemory = 2;
inline constexpr CUresult kErrorNotInitialized = 3;
inline constexpr CUresult kErrorStubLibrary = 34;
inline constexpr CUresult kErrorNoDevice = 100;
inline constexpr CUresult kErrorInvalidDevice = 101;
inline constexpr CUresult kErrorUnknown = 999;
// Flags.
inline constexpr unsigned kStreamNonBlocking = 0x1;     // CU_STREAM_NON_BLOCKING
inline constexpr unsigned kMemHostAllocPortable = 0x1;  // CU_MEMHOSTALLOC_PORTABLE

// Entry points; the comment names the exported symbol.
struct Api {
  CUresult (*cuInit)(unsigned flags) = nullptr;
  CUresult (*cuDeviceGetCount)(int* count) = nullptr;
  CUresult (*cuDeviceGet)(CUdevice* dev, int ordinal) = nullptr;
  CUresult (*cuDeviceGetName)(char* name, int len, CUdevice dev) = nullptr;
  CUresult (*cuDeviceTotalMem)(std::size_t* bytes, CUdevice dev) = nullptr;  // _v2
  CUresult (*cuDevicePrimaryCtxRetain)(CUcontext* ctx, CUdevice dev) = nullptr;
  CUresult (*cuDevicePrimaryCtxRelease)(CUdevice dev) = nullptr;  // _v2
  CUresult (*cuCtxSetCurrent)(CUcontext ctx) = nullptr;
  CUresult (*cuMemGetInfo)(std::size_t* free_bytes, std::size_t* total_bytes) = nullptr;  // _v2
  CUresult (*cuMemAlloc)(CUdeviceptr* dptr, std::size_t bytes) = nullptr;                 // _v2
  CUresult (*cuMemFree)(CUdeviceptr dptr) = nullptr;                                      // _v2
  CUresult (*cuMemHostAlloc)(void** pp, std::size_t bytes, unsigned flags) = nullptr;
  CUresult (*cuMemFreeHost)(void* p) = nullptr;
  CUresult (*cuMemcpyHtoDAsync)(CUdeviceptr dst, const void* src, std::size_t bytes,
                                CUstream s) = nullptr;  // _v2
  CUresult (*cuMemcpyDtoHAsync)(void* dst, CUdeviceptr src, std::size_t bytes,
                                CUstream s) = nullptr;  // _v2
  CUresult (*cuStreamCreate)(CUstream* s, unsigned flags) = nullptr;
  CUresult (*cuStreamSynchronize)(CUstream s) = nullptr;
  CUresult (*cuStreamDestroy)(CUstream s) = nullptr;  // _v2
  CUresult (*cuGetErrorName)(CUresult e, const char** name) = nullptr;
  CUresult (*cuGetErrorString)(CUresult e, const char** text) = nullptr;
};

enum class LoadStatus {
  kOk,
  kNoDriver,   // library not found, not loadable, or a stub without a driver behind it
  kBadDriver,  // an entry point is missing (driver too old) or cuInit failed otherwise
  kNoDevice,   // the driver works but sees no device
};
const char* load_status_name(LoadStatus s);  // "ok", "no driver", "bad driver", "no device"

struct DeviceInfo {
  int ordinal = 0;
  std::string name;
  std::uint64_t total_bytes = 0;
};

class Driver;
struct LoadResult {
  LoadStatus status = LoadStatus::kNoDriver;
  std::string message;             // what failed, naming the library path (empty when ok)
  std::shared_ptr<Driver> driver;  // set when ok
};

class Driver {
 public:
  // The library path the engine opens unless told otherwise: $KVCACHE_LIBCUDA if set (tests and
  // diagnostics point it at another file), else "libcuda.so.1" (found by the dynamic loader).
  static std::string default_library();
  static LoadResult load(const std::string& library);

  const Api& api() const { return api_; }
  const std::string& library() const { return library_; }
  int device_count() const { return device_count_; }
  // Name and total memory of device `ordinal` (0 ≤ ordinal < device_count()).
  DeviceInfo device_info(int ordinal) const;
  // "CUDA_ERROR_OUT_OF_MEMORY (out of memory)", or "CUresult 123" if the driver cannot name it.
  std::string describe(CUresult r) const;

  Driver(const Driver&) = delete;
  Driver& operator=(const Driver&) = delete;

 private:
  Driver() = default;
  Api api_;
  std::string library_;
  int device_count_ = 0;
};

}  // namespace kv::tier::cuda
