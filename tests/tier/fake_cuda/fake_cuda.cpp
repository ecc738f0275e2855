// Fake CUDA driver (see fake_cuda.h). Exports the driver's C symbols with the driver's ABI.
#include "fake_cuda.h"

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace {

using CUresult = int;
using CUdeviceptr = unsigned long long;

constexpr CUresult kOk = 0, kInvalidValue = 1, kOutOfMemory = 2, kNotInitialized = 3,
                   kInvalidDevice = 101, kInvalidContext = 201, kUnknown = 999;

long long env_ll(const char* name, long long def) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::strtoll(v, nullptr, 10) : def;
}

struct Alloc {
  int device;
  std::size_t bytes;
};

struct State {
  std::mutex mu;
  bool initialised = false;
  int devices = 1;
  long long mem = 64LL << 20;
  CUresult alloc_result = kOk;
  long long fail_copy_after = -1;
  long long copies_since_init = 0;
  std::vector<long long> used = std::vector<long long>(64, 0);
  std::vector<int> retained = std::vector<int>(64, 0);
  std::map<CUdeviceptr, Alloc> device_allocs;  // base → allocation
  std::set<void*> host_allocs;
  std::map<void*, int> streams;  // stream → device
  FakeCudaStats st{};
};

State& S() {
  static State s;
  return s;
}

int ctx_tokens[64];             // a context handle is &ctx_tokens[device]
thread_local int current = -1;  // device of the current context

CUresult bad(CUresult r) {
  ++S().st.bad_calls;
  return r;
}

// Checks [p, p+n) lies inside one allocation of the current device (caller holds the lock).
bool inside_current(CUdeviceptr p, std::size_t n) {
  auto& s = S();
  auto it = s.device_allocs.upper_bound(p);
  if (it == s.device_allocs.begin()) return false;
  --it;
  return it->second.device == current && p + n <= it->first + it->second.bytes;
}

CUresult copy(void* dst, const void* src, CUdeviceptr dptr, std::size_t n, void* stream) {
  auto& s = S();
  std::lock_guard lk(s.mu);
  if (current < 0) return bad(kInvalidContext);
  auto st = s.streams.find(stream);
  if (st == s.streams.end() || st->second != current) return bad(kInvalidValue);
  if (!inside_current(dptr, n)) return bad(kInvalidValue);
  if (s.fail_copy_after >= 0 && s.copies_since_init >= s.fail_copy_after) return kUnknown;
  ++s.copies_since_init;
  ++s.st.copies;
  std::memcpy(dst, src, n);
  return kOk;
}

struct ErrorText {
  CUresult code;
  const char* name;
  const char* text;
};
constexpr ErrorText kErrors[] = {
    {0, "CUDA_SUCCESS", "no error"},
    {1, "CUDA_ERROR_INVALID_VALUE", "invalid argument"},
    {2, "CUDA_ERROR_OUT_OF_MEMORY", "out of memory"},
    {3, "CUDA_ERROR_NOT_INITIALIZED", "initialization error"},
    {34, "CUDA_ERROR_STUB_LIBRARY", "CUDA driver is a stub library"},
    {100, "CUDA_ERROR_NO_DEVICE", "no CUDA-capable device is detected"},
    {101, "CUDA_ERROR_INVALID_DEVICE", "invalid device ordinal"},
    {201, "CUDA_ERROR_INVALID_CONTEXT", "invalid device context"},
    {999, "CUDA_ERROR_UNKNOWN", "unknown error"},
};
const ErrorText* error_text(CUresult r) {
  for (const auto& e : kErrors)
    if (e.code == r) return &e;
  return nullptr;
}

}  // namespace

extern "C" {

void fake_cuda_stats(FakeCudaStats* out) {
  std::lock_guard lk(S().mu);
  *out = S().st;
}

CUresult cuInit(unsigned flags) {
  auto& s = S();
  std::lock_guard lk(s.mu);
  if (flags != 0) return kInvalidValue;
  const CUresult r = static_cast<CUresult>(env_ll("FAKE_CUDA_INIT", 0));
  s.devices = static_cast<int>(env_ll("FAKE_CUDA_DEVICES", 1));
  if (s.devices > 64) s.devices = 64;
  s.mem = env_ll("FAKE_CUDA_MEM", 64LL << 20);
  s.alloc_result = static_cast<CUresult>(env_ll("FAKE_CUDA_ALLOC_RESULT", 0));
  s.fail_copy_after = env_ll("FAKE_CUDA_FAIL_COPY_AFTER", -1);
  s.copies_since_init = 0;
  s.initialised = r == kOk;
  return r;
}

CUresult cuDeviceGetCount(int* count) {
  if (!S().initialised) return bad(kNotInitialized);
  *count = S().devices;
  return kOk;
}

CUresult cuDeviceGet(int* dev, int ordinal) {
  if (!S().initialised) return bad(kNotInitialized);
  if (ordinal < 0 || ordinal >= S().devices) return bad(kInvalidDevice);
  *dev = ordinal;
  return kOk;
}

CUresult cuDeviceGetName(char* name, int len, int dev) {
  if (dev < 0 || dev >= S().devices || len <= 0) return bad(kInvalidDevice);
  std::snprintf(name, static_cast<std::size_t>(len), "Fake GPU %d", dev);
  return kOk;
}

CUresult cuDeviceTotalMem_v2(std::size_t* bytes, int dev) {
  if (dev < 0 || dev >= S().devices) return bad(kInvalidDevice);
  *bytes = static_cast<std::size_t>(S().mem);
  return kOk;
}

CUresult cuDevicePrimaryCtxRetain(void** ctx, int dev) {
  auto& s = S();
  std::lock_guard lk(s.mu);
  if (dev < 0 || dev >= s.devices) return bad(kInvalidDevice);
  ++s.retained[static_cast<std::size_t>(dev)];
  ++s.st.retained_contexts;
  *ctx = &ctx_tokens[dev];
  return kOk;
}

CUresult cuDevicePrimaryCtxRelease_v2(int dev) {
  auto& s = S();
  std::lock_guard lk(s.mu);
  if (dev < 0 || dev >= s.devices || s.retained[static_cast<std::size_t>(dev)] == 0)
    return bad(kInvalidContext);
  --s.retained[static_cast<std::size_t>(dev)];
  --s.st.retained_contexts;
  return kOk;
}

CUresult cuCtxSetCurrent(void* ctx) {
  if (ctx == nullptr) {
    current = -1;
    return kOk;
  }
  const auto idx = static_cast<int*>(ctx) - ctx_tokens;
  if (idx < 0 || idx >= S().devices) return bad(kInvalidContext);
  current = static_cast<int>(idx);
  return kOk;
}

#ifndef FAKE_CUDA_INCOMPLETE
CUresult cuMemGetInfo_v2(std::size_t* free_bytes, std::size_t* total_bytes) {
  auto& s = S();
  std::lock_guard lk(s.mu);
  if (current < 0) return bad(kInvalidContext);
  *total_bytes = static_cast<std::size_t>(s.mem);
  *free_bytes = static_cast<std::size_t>(s.mem - s.used[static_cast<std::size_t>(current)]);
  return kOk;
}
#endif

CUresult cuMemAlloc_v2(CUdeviceptr* dptr, std::size_t bytes) {
  auto& s = S();
  std::lock_guard lk(s.mu);
  if (current < 0) return bad(kInvalidContext);
  ++s.st.device_alloc_calls;
  if (s.alloc_result != kOk) return s.alloc_result;
  auto& used = s.used[static_cast<std::size_t>(current)];
  if (bytes == 0) return kInvalidValue;
  if (used + static_cast<long long>(bytes) > s.mem) return kOutOfMemory;
  void* p = std::malloc(bytes);
  if (p == nullptr) return kOutOfMemory;
  used += static_cast<long long>(bytes);
  *dptr = reinterpret_cast<CUdeviceptr>(p);
  s.device_allocs[*dptr] = Alloc{current, bytes};
  ++s.st.live_device_allocs;
  s.st.live_device_bytes += static_cast<long long>(bytes);
  return kOk;
}

CUresult cuMemFree_v2(CUdeviceptr dptr) {
  auto& s = S();
  std::lock_guard lk(s.mu);
  auto it = s.device_allocs.find(dptr);
  if (it == s.device_allocs.end()) return bad(kInvalidValue);
  s.used[static_cast<std::size_t>(it->second.device)] -= static_cast<long long>(it->second.bytes);
  --s.st.live_device_allocs;
  s.st.live_device_bytes -= static_cast<long long>(it->second.bytes);
  std::free(reinterpret_cast<void*>(dptr));
  s.device_allocs.erase(it);
  return kOk;
}

CUresult cuMemHostAlloc(void** pp, std::size_t bytes, unsigned /*flags*/) {
  auto& s = S();
  std::lock_guard lk(s.mu);
  if (current < 0) return bad(kInvalidContext);
  ++s.st.host_alloc_calls;
  void* p = std::malloc(bytes);
  if (p == nullptr) return kOutOfMemory;
  s.host_allocs.insert(p);
  ++s.st.live_host_allocs;
  *pp = p;
  return kOk;
}

CUresult cuMemFreeHost(void* p) {
  auto& s = S();
  std::lock_guard lk(s.mu);
  if (s.host_allocs.erase(p) == 0) return bad(kInvalidValue);
  --s.st.live_host_allocs;
  std::free(p);
  return kOk;
}

CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr dst, const void* src, std::size_t bytes, void* stream) {
  return copy(reinterpret_cast<void*>(dst), src, dst, bytes, stream);
}

CUresult cuMemcpyDtoHAsync_v2(void* dst, CUdeviceptr src, std::size_t bytes, void* stream) {
  return copy(dst, reinterpret_cast<const void*>(src), src, bytes, stream);
}

CUresult cuStreamCreate(void** stream, unsigned /*flags*/) {
  auto& s = S();
  std::lock_guard lk(s.mu);
  if (current < 0) return bad(kInvalidContext);
  void* h = std::malloc(1);
  s.streams[h] = current;
  ++s.st.live_streams;
  *stream = h;
  return kOk;
}

CUresult cuStreamSynchronize(void* stream) {
  std::lock_guard lk(S().mu);
  return S().streams.count(stream) != 0 ? kOk : bad(kInvalidValue);
}

CUresult cuStreamDestroy_v2(void* stream) {
  auto& s = S();
  std::lock_guard lk(s.mu);
  if (s.streams.erase(stream) == 0) return bad(kInvalidValue);
  --s.st.live_streams;
  std::free(stream);
  return kOk;
}

CUresult cuGetErrorName(CUresult r, const char** name) {
  const ErrorText* e = error_text(r);
  if (e == nullptr) return kInvalidValue;
  *name = e->name;
  return kOk;
}

CUresult cuGetErrorString(CUresult r, const char** text) {
  const ErrorText* e = error_text(r);
  if (e == nullptr) return kInvalidValue;
  *text = e->text;
  return kOk;
}

}  // extern "C"
