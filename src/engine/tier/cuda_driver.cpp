#include "engine/tier/cuda_driver.hpp"

#include <dlfcn.h>

#include <array>
#include <cstdlib>

namespace kv::tier::cuda {
namespace {

template <class Fn>
bool bind(void* handle, const char* symbol, Fn*& out, std::string& missing) {
  void* p = ::dlsym(handle, symbol);
  if (p == nullptr) {
    if (!missing.empty()) missing += ", ";
    missing += symbol;
    return false;
  }
  out = reinterpret_cast<Fn*>(p);
  return true;
}

// Resolves every entry point; returns the missing symbols (empty when all were found).
std::string bind_all(void* h, Api& a) {
  std::string missing;
  bind(h, "cuInit", a.cuInit, missing);
  bind(h, "cuDeviceGetCount", a.cuDeviceGetCount, missing);
  bind(h, "cuDeviceGet", a.cuDeviceGet, missing);
  bind(h, "cuDeviceGetName", a.cuDeviceGetName, missing);
  bind(h, "cuDeviceTotalMem_v2", a.cuDeviceTotalMem, missing);
  bind(h, "cuDevicePrimaryCtxRetain", a.cuDevicePrimaryCtxRetain, missing);
  bind(h, "cuDevicePrimaryCtxRelease_v2", a.cuDevicePrimaryCtxRelease, missing);
  bind(h, "cuCtxSetCurrent", a.cuCtxSetCurrent, missing);
  bind(h, "cuMemGetInfo_v2", a.cuMemGetInfo, missing);
  bind(h, "cuMemAlloc_v2", a.cuMemAlloc, missing);
  bind(h, "cuMemFree_v2", a.cuMemFree, missing);
  bind(h, "cuMemHostAlloc", a.cuMemHostAlloc, missing);
  bind(h, "cuMemFreeHost", a.cuMemFreeHost, missing);
  bind(h, "cuMemcpyHtoDAsync_v2", a.cuMemcpyHtoDAsync, missing);
  bind(h, "cuMemcpyDtoHAsync_v2", a.cuMemcpyDtoHAsync, missing);
  bind(h, "cuStreamCreate", a.cuStreamCreate, missing);
  bind(h, "cuStreamSynchronize", a.cuStreamSynchronize, missing);
  bind(h, "cuStreamDestroy_v2", a.cuStreamDestroy, missing);
  bind(h, "cuGetErrorName", a.cuGetErrorName, missing);
  bind(h, "cuGetErrorString", a.cuGetErrorString, missing);
  return missing;
}

LoadResult fail(LoadStatus s, std::string message) {
  LoadResult r;
  r.status = s;
  r.message = std::move(message);
  return r;
}

}  // namespace

const char* load_status_name(LoadStatus s) {
  switch (s) {
    case LoadStatus::kOk: return "ok";
    case LoadStatus::kNoDriver: return "no driver";
    case LoadStatus::kBadDriver: return "bad driver";
    case LoadStatus::kNoDevice: return "no device";
  }
  return "?";
}

std::string Driver::default_library() {
  const char* env = std::getenv("KVCACHE_LIBCUDA");
  return env != nullptr && *env != '\0' ? std::string(env) : std::string("libcuda.so.1");
}

LoadResult Driver::load(const std::string& library) {
  ::dlerror();
  void* h = ::dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (h == nullptr) {
    const char* why = ::dlerror();
    return fail(LoadStatus::kNoDriver, "cannot load the CUDA driver '" + library +
                                           "': " + (why != nullptr ? why : "dlopen failed") +
                                           " (is the NVIDIA driver installed?)");
  }
  std::shared_ptr<Driver> d(new Driver());
  d->library_ = library;
  const std::string missing = bind_all(h, d->api_);
  if (!missing.empty()) {
    ::dlclose(h);
    return fail(LoadStatus::kBadDriver,
                "the CUDA driver '" + library + "' lacks " + missing + " (driver too old?)");
  }
  const CUresult init = d->api_.cuInit(0);
  if (init != kSuccess) {
    const std::string what = "cuInit failed in '" + library + "': " + d->describe(init);
    ::dlclose(h);  // nothing of ours refers to the library any more
    if (init == kErrorNoDevice) return fail(LoadStatus::kNoDevice, what);
    if (init == kErrorStubLibrary)
      return fail(LoadStatus::kNoDriver, what + " (a stub library, no driver)");
    return fail(LoadStatus::kBadDriver, what);
  }
  int count = 0;
  const CUresult rc = d->api_.cuDeviceGetCount(&count);
  if (rc != kSuccess) {
    return fail(LoadStatus::kBadDriver,
                "cuDeviceGetCount failed in '" + library + "': " + d->describe(rc));
  }
  if (count <= 0)
    return fail(LoadStatus::kNoDevice, "the CUDA driver '" + library + "' reports no device");
  d->device_count_ = count;
  LoadResult ok;
  ok.status = LoadStatus::kOk;
  ok.driver = std::move(d);
  return ok;  // the handle stays open for the life of the process (see the header)
}

DeviceInfo Driver::device_info(int ordinal) const {
  DeviceInfo info;
  info.ordinal = ordinal;
  CUdevice dev = 0;
  if (api_.cuDeviceGet(&dev, ordinal) != kSuccess) return info;
  std::array<char, 256> name{};
  if (api_.cuDeviceGetName(name.data(), static_cast<int>(name.size()) - 1, dev) == kSuccess)
    info.name = name.data();
  std::size_t total = 0;
  if (api_.cuDeviceTotalMem(&total, dev) == kSuccess) info.total_bytes = total;
  return info;
}

std::string Driver::describe(CUresult r) const {
  const char* name = nullptr;
  const char* text = nullptr;
  if (api_.cuGetErrorName == nullptr || api_.cuGetErrorName(r, &name) != kSuccess ||
      name == nullptr)
    return "CUresult " + std::to_string(r);
  std::string s = name;
  if (api_.cuGetErrorString != nullptr && api_.cuGetErrorString(r, &text) == kSuccess &&
      text != nullptr)
    s += std::string(" (") + text + ")";
  return s;
}

}  // namespace kv::tier::cuda
