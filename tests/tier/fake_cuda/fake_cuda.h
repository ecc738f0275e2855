// A scripted stand-in for the CUDA driver library (libcuda.so.1), built as a shared library in the
// test tree so the GPU tier's loader and CUDA tier run on machines without a GPU. "Device memory"
// is host memory; copies are memcpy. Behaviour is scripted through the environment, read at cuInit:
//   FAKE_CUDA_INIT=<CUresult>          cuInit's result (100 = no device, 34 = stub library)
//   FAKE_CUDA_DEVICES=<n>              device count (default 1; 0 = the driver sees none)
//   FAKE_CUDA_MEM=<bytes>              memory per device (default 64 MiB)
//   FAKE_CUDA_ALLOC_RESULT=<CUresult>  forced result of every cuMemAlloc_v2 (e.g. 2 = out of memory)
//   FAKE_CUDA_FAIL_COPY_AFTER=<n>      copies after the first n fail with CUDA_ERROR_UNKNOWN (999)
// It checks what a driver checks and tests rely on: a context must be current for allocations
// and copies, a copy must stay inside one allocation of the current context's device and use a
// stream of that device, frees must match allocations.
// fake_cuda_stats() reports live resources and call counts. The "incomplete" build of the same
// source (FAKE_CUDA_INCOMPLETE) lacks cuMemGetInfo_v2, like a driver too old for the loader.
#pragma once

#ifdef __cplusplus
extern "C" {
#endif

struct FakeCudaStats {
  long long live_device_allocs;
  long long live_device_bytes;
  long long live_host_allocs;
  long long live_streams;
  long long retained_contexts;
  long long device_alloc_calls;  // cumulative
  long long host_alloc_calls;    // cumulative
  long long copies;              // cumulative
  long long bad_calls;           // cumulative: calls a real driver would reject (no context, wrong device, ...)
};

void fake_cuda_stats(struct FakeCudaStats* out);

#ifdef __cplusplus
}
#endif
