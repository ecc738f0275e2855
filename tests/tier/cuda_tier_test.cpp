// The CUDA driver loader, the CUDA tier and the GPU-tier choice, over a scripted fake driver
// (fake_cuda/fake_cuda.h) so they run without a GPU; and the same tier on a real device
// (CudaDevice.*), skipped when no CUDA driver or device is present.
#include "engine/tier/cuda_tier.hpp"

#include <dlfcn.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cerrno>
#include <thread>
#include <vector>

#include "core/error.hpp"
#include "core/units.hpp"
#include "engine/tier/cuda_driver.hpp"
#include "engine/tier/gpu_select.hpp"
#include "fake_cuda/fake_cuda.h"
#include "tier_test_util.hpp"

namespace {

using kv::tier::CudaFailure;
using kv::tier::CudaTierOptions;
using kv::tier::open_cuda_tier;
namespace cuda = kv::tier::cuda;

constexpr const char* kFake = KV_FAKE_CUDA_LIB;
constexpr std::uint64_t kMiB = 1 << 20;

using kvtest::spec;

std::vector<std::byte> generated(const kv::io::PayloadGenerator& gen, const std::string& key,
                                 std::uint64_t n) {
  std::vector<std::byte> v(n);
  kv::io::GeneratedPayload(gen, key).fill(0, v);
  return v;
}

// Collects what a read hands over, at the offsets it says.
struct Collect final : kv::io::PayloadSink {
  explicit Collect(std::uint64_t n) : bytes(n) {}
  void consume(std::uint64_t off, std::span<const std::byte> in) override {
    std::copy(in.begin(), in.end(), bytes.begin() + static_cast<std::ptrdiff_t>(off));
  }
  std::vector<std::byte> bytes;
};

FakeCudaStats stats() {
  void* h = ::dlopen(kFake, RTLD_NOW | RTLD_NOLOAD);
  if (h == nullptr) return {};
  auto fn = reinterpret_cast<void (*)(FakeCudaStats*)>(::dlsym(h, "fake_cuda_stats"));
  FakeCudaStats s{};
  fn(&s);
  ::dlclose(h);
  return s;
}

// Every test starts from the fake's defaults (1 device of 64 MiB) and clean scripting variables.
class FakeCuda : public ::testing::Test {
 protected:
  void SetUp() override { clear(); }
  void TearDown() override { clear(); }
  static void clear() {
    for (const char* v : {"FAKE_CUDA_INIT", "FAKE_CUDA_DEVICES", "FAKE_CUDA_MEM",
                          "FAKE_CUDA_ALLOC_RESULT", "FAKE_CUDA_FAIL_COPY_AFTER", "KVCACHE_LIBCUDA"})
      ::unsetenv(v);
  }
  static void set(const char* k, const std::string& v) { ::setenv(k, v.c_str(), 1); }
  static CudaTierOptions small(std::uint64_t per_device = 4 * kMiB, int devices = 1) {
    CudaTierOptions o;
    o.library = kFake;
    o.num_devices = devices;
    o.bytes_per_device = per_device;
    o.staging_bytes = 64 * 1024;  // objects below cross several staging pieces
    o.staging_slots = 2;
    return o;
  }
};

// ---- loader ----

TEST_F(FakeCuda, LoaderReportsAMissingLibraryAsNoDriver) {
  auto r = cuda::Driver::load("/nonexistent/libcuda.so.1");
  EXPECT_EQ(r.status, cuda::LoadStatus::kNoDriver);
  EXPECT_FALSE(r.driver);
  EXPECT_NE(r.message.find("/nonexistent/libcuda.so.1"), std::string::npos) << r.message;
}

TEST_F(FakeCuda, LoaderNamesAMissingEntryPoint) {
  auto r = cuda::Driver::load(KV_FAKE_CUDA_INCOMPLETE_LIB);
  EXPECT_EQ(r.status, cuda::LoadStatus::kBadDriver);
  EXPECT_NE(r.message.find("cuMemGetInfo_v2"), std::string::npos) << r.message;
}

TEST_F(FakeCuda, LoaderSortsInitFailures) {
  set("FAKE_CUDA_INIT", "100");
  auto none = cuda::Driver::load(kFake);
  EXPECT_EQ(none.status, cuda::LoadStatus::kNoDevice);
  EXPECT_NE(none.message.find("CUDA_ERROR_NO_DEVICE"), std::string::npos) << none.message;
  set("FAKE_CUDA_INIT", "34");
  EXPECT_EQ(cuda::Driver::load(kFake).status, cuda::LoadStatus::kNoDriver);  // a stub library
  set("FAKE_CUDA_INIT", "999");
  EXPECT_EQ(cuda::Driver::load(kFake).status, cuda::LoadStatus::kBadDriver);
  set("FAKE_CUDA_INIT", "0");
  set("FAKE_CUDA_DEVICES", "0");
  EXPECT_EQ(cuda::Driver::load(kFake).status, cuda::LoadStatus::kNoDevice);
}

TEST_F(FakeCuda, LoaderDescribesDevicesAndErrors) {
  set("FAKE_CUDA_DEVICES", "2");
  set("FAKE_CUDA_MEM", std::to_string(32 * kMiB));
  auto r = cuda::Driver::load(kFake);
  ASSERT_EQ(r.status, cuda::LoadStatus::kOk) << r.message;
  EXPECT_EQ(r.driver->device_count(), 2);
  const auto d1 = r.driver->device_info(1);
  EXPECT_EQ(d1.name, "Fake GPU 1");
  EXPECT_EQ(d1.total_bytes, 32 * kMiB);
  EXPECT_EQ(r.driver->describe(cuda::kErrorOutOfMemory),
            "CUDA_ERROR_OUT_OF_MEMORY (out of memory)");
  EXPECT_EQ(r.driver->describe(12345), "CUresult 12345");
}

TEST_F(FakeCuda, DefaultLibraryCanBeRedirected) {
  EXPECT_EQ(cuda::Driver::default_library(), "libcuda.so.1");
  set("KVCACHE_LIBCUDA", "/some/where/libcuda.so");
  EXPECT_EQ(cuda::Driver::default_library(), "/some/where/libcuda.so");
}

// ---- the tier over the fake driver ----

TEST_F(FakeCuda, TierRoundTripsBytesWithoutAllocatingPerOperation) {
  const auto before = stats();
  {
    auto o = open_cuda_tier(small());
    ASSERT_EQ(o.failure, CudaFailure::kNone) << o.message;
    ASSERT_EQ(o.devices.size(), 1u);
    EXPECT_EQ(o.devices[0].name, "Fake GPU 0");
    auto& t = *o.tier;
    EXPECT_EQ(t.id(), kv::tier::TierId::kGpu);
    const auto opened = stats();
    EXPECT_EQ(opened.live_device_allocs - before.live_device_allocs, 1);  // one slab
    EXPECT_EQ(opened.live_host_allocs - before.live_host_allocs, 2);      // two staging buffers
    kv::io::PayloadGenerator gen(11);
    for (int i = 0; i < 10; ++i) {
      const std::string key = "k" + std::to_string(i);
      const std::uint64_t n =
          200'000 + 1234 * static_cast<std::uint64_t>(i);  // not a multiple of the staging size
      auto w = t.write(spec(key, n), kv::io::GeneratedPayload(gen, key));
      ASSERT_TRUE(w.ok) << w.message;
      EXPECT_EQ(w.bytes, n);
      EXPECT_EQ(w.timing.total_s, w.timing.device_s);
      Collect c(n);
      auto r = t.read(spec(key, n), &c);
      ASSERT_TRUE(r.ok) << r.message;
      EXPECT_EQ(r.bytes, n);
      EXPECT_EQ(c.bytes, generated(gen, key, n)) << key;
    }
    const auto used = stats();
    EXPECT_EQ(used.device_alloc_calls, opened.device_alloc_calls);
    EXPECT_EQ(used.host_alloc_calls, opened.host_alloc_calls);
    EXPECT_GE(used.copies - opened.copies, 2 * 10 * 4);  // ≥ 4 pieces per object and direction
    EXPECT_EQ(used.bad_calls, before.bad_calls);         // contexts, streams and ranges were right
  }
  const auto after = stats();  // everything given back
  EXPECT_EQ(after.live_device_allocs, before.live_device_allocs);
  EXPECT_EQ(after.live_host_allocs, before.live_host_allocs);
  EXPECT_EQ(after.live_streams, before.live_streams);
  EXPECT_EQ(after.retained_contexts, before.retained_contexts);
  EXPECT_EQ(after.bad_calls, before.bad_calls);
}

TEST_F(FakeCuda, TierReusesFreedSpaceAndScattersOverHoles) {
  auto o = open_cuda_tier(small(1 * kMiB));
  ASSERT_EQ(o.failure, CudaFailure::kNone) << o.message;
  auto& t = *o.tier;
  kv::io::PayloadGenerator gen(3);
  constexpr std::uint64_t kPart = 128 * 1024;
  for (int i = 0; i < 8; ++i) {
    const std::string key = "p" + std::to_string(i);
    ASSERT_TRUE(t.write(spec(key, kPart), kv::io::GeneratedPayload(gen, key)).ok) << key;
  }
  const auto full = t.write(spec("more", 1024), kv::io::GeneratedPayload(gen, "more"));
  EXPECT_FALSE(full.ok);
  EXPECT_EQ(full.error, ENOSPC);
  for (int i : {1, 3, 5}) EXPECT_TRUE(t.remove("p" + std::to_string(i)));
  // 3 × 128 KiB free, in three separate holes: a 300 KiB object must span them.
  const std::uint64_t n = 300 * 1024;
  ASSERT_TRUE(t.write(spec("wide", n), kv::io::GeneratedPayload(gen, "wide")).ok);
  Collect c(n);
  ASSERT_TRUE(t.read(spec("wide", n), &c).ok);
  EXPECT_EQ(c.bytes, generated(gen, "wide", n));
  Collect p6(kPart);  // neighbours untouched
  ASSERT_TRUE(t.read(spec("p6", kPart), &p6).ok);
  EXPECT_EQ(p6.bytes, generated(gen, "p6", kPart));
}

TEST_F(FakeCuda, TierMissingKeysAndReplacement) {
  auto o = open_cuda_tier(small(1 * kMiB));
  ASSERT_EQ(o.failure, CudaFailure::kNone) << o.message;
  auto& t = *o.tier;
  kv::io::PayloadGenerator gen(5);
  auto r = t.read(spec("nope", 10), nullptr);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, ENOENT);
  EXPECT_EQ(t.source_for(spec("nope", 10)), nullptr);
  EXPECT_FALSE(t.remove("nope"));
  // Rewriting a key 20 times in a 1 MiB slab works only if each rewrite frees the previous copy.
  for (int i = 0; i < 20; ++i)
    ASSERT_TRUE(t.write(spec("same", 600 * 1024), kv::io::GeneratedPayload(gen, "same")).ok) << i;
  EXPECT_TRUE(t.remove("same"));
  EXPECT_FALSE(t.remove("same"));
}

TEST_F(FakeCuda, DemotionSourceReproducesTheBytesInAnyOrder) {
  auto o = open_cuda_tier(small(2 * kMiB));
  ASSERT_EQ(o.failure, CudaFailure::kNone) << o.message;
  auto& t = *o.tier;
  kv::io::PayloadGenerator gen(9);
  const std::uint64_t n = 500'001;
  ASSERT_TRUE(t.write(spec("d", n), kv::io::GeneratedPayload(gen, "d")).ok);
  const auto want = generated(gen, "d", n);
  auto src = t.source_for(spec("d", n));
  ASSERT_NE(src, nullptr);
  EXPECT_TRUE(t.remove("d"));  // the source keeps the device copy alive until it is destroyed
  std::vector<std::byte> got(n + 100, std::byte{0x55});
  // Backwards, in pieces that straddle the 64 KiB staging windows, and past the end (zeros).
  const std::uint64_t piece = 70'000;
  for (std::uint64_t end = n + 100; end > 0;) {
    const std::uint64_t begin = end > piece ? end - piece : 0;
    src->fill(begin, std::span<std::byte>(got).subspan(begin, end - begin));
    end = begin;
  }
  EXPECT_TRUE(std::equal(want.begin(), want.end(), got.begin()));
  for (std::uint64_t i = n; i < n + 100; ++i) ASSERT_EQ(got[i], std::byte{0}) << i;
}

TEST_F(FakeCuda, TierSpreadsObjectsOverDevices) {
  set("FAKE_CUDA_DEVICES", "2");
  const auto before = stats();
  auto o = open_cuda_tier(small(1 * kMiB, 2));
  ASSERT_EQ(o.failure, CudaFailure::kNone) << o.message;
  ASSERT_EQ(o.devices.size(), 2u);
  auto& t = *o.tier;
  kv::io::PayloadGenerator gen(2);
  // Two 600 KiB objects only fit as one per device.
  for (const char* key : {"a", "b"})
    ASSERT_TRUE(t.write(spec(key, 600 * 1024), kv::io::GeneratedPayload(gen, key)).ok);
  for (const char* key : {"a", "b"}) {
    Collect c(600 * 1024);
    ASSERT_TRUE(t.read(spec(key, 600 * 1024), &c).ok);
    EXPECT_EQ(c.bytes, generated(gen, key, 600 * 1024));
  }
  EXPECT_EQ(stats().live_device_allocs - before.live_device_allocs, 2);
  EXPECT_EQ(stats().bad_calls, before.bad_calls);  // each copy ran in its device's context
}

TEST_F(FakeCuda, ConcurrentOperationsShareTheStagingSlots) {
  auto o = open_cuda_tier(small(8 * kMiB));
  ASSERT_EQ(o.failure, CudaFailure::kNone) << o.message;
  auto& t = *o.tier;
  kv::io::PayloadGenerator gen(4);
  const auto before = stats();
  std::vector<std::thread> th;
  std::vector<int> bad(8, 0);
  for (int w = 0; w < 8; ++w) {
    th.emplace_back([&, w] {
      for (int i = 0; i < 10; ++i) {
        const std::string key = "w" + std::to_string(w) + "_" + std::to_string(i % 3);
        const std::uint64_t n = 100'000 + 17 * static_cast<std::uint64_t>(w);
        if (!t.write(spec(key, n), kv::io::GeneratedPayload(gen, key)).ok)
          ++bad[static_cast<std::size_t>(w)];
        Collect c(n);
        if (!t.read(spec(key, n), &c).ok || c.bytes != generated(gen, key, n))
          ++bad[static_cast<std::size_t>(w)];
      }
    });
  }
  for (auto& x : th) x.join();
  for (int w = 0; w < 8; ++w) EXPECT_EQ(bad[static_cast<std::size_t>(w)], 0) << "worker " << w;
  EXPECT_EQ(stats().bad_calls, before.bad_calls);  // each worker thread set its context
}

TEST_F(FakeCuda, CopyFailuresFailTheOperationAndFreeItsSpace) {
  set("FAKE_CUDA_FAIL_COPY_AFTER", "0");
  auto o = open_cuda_tier(small(1 * kMiB));
  ASSERT_EQ(o.failure, CudaFailure::kNone) << o.message;
  auto& t = *o.tier;
  kv::io::PayloadGenerator gen(1);
  for (int i = 0; i < 3;
       ++i) {  // 3 × 600 KiB in 1 MiB: only possible if failed writes free their space
    auto w = t.write(spec("x", 600 * 1024), kv::io::GeneratedPayload(gen, "x"));
    EXPECT_FALSE(w.ok);
    EXPECT_EQ(w.error, EIO);
    EXPECT_NE(w.message.find("CUDA_ERROR_UNKNOWN"), std::string::npos) << w.message;
    EXPECT_EQ(w.message.find("no room"), std::string::npos) << w.message;
  }
  EXPECT_FALSE(t.read(spec("x", 1), nullptr).ok);  // nothing was stored
}

// ---- open failures ----

TEST_F(FakeCuda, OpenFailuresNameTheirCauseAndReleaseEverything) {
  const auto before = stats();
  {
    set("FAKE_CUDA_INIT", "100");
    EXPECT_EQ(open_cuda_tier(small()).failure, CudaFailure::kNoDevice);
    ::unsetenv("FAKE_CUDA_INIT");
    EXPECT_EQ(open_cuda_tier(small(4 * kMiB, 2)).failure, CudaFailure::kTooFewDevices);
    auto big = open_cuda_tier(small(60 * kMiB));  // > 0.9 × 64 MiB
    EXPECT_EQ(big.failure, CudaFailure::kTooLarge);
    EXPECT_NE(big.message.find("Fake GPU 0"), std::string::npos) << big.message;
    auto whole = small(64 * kMiB);
    whole.memory_fraction = 1.0;
    auto first = open_cuda_tier(whole);  // takes the whole device...
    ASSERT_EQ(first.failure, CudaFailure::kNone) << first.message;
    auto second = open_cuda_tier(small(1 * kMiB));  // ...so nothing is free for another slab
    EXPECT_EQ(second.failure, CudaFailure::kOutOfMemory);
    EXPECT_NE(second.message.find("free"), std::string::npos) << second.message;
  }
  set("FAKE_CUDA_ALLOC_RESULT", "2");
  auto oom = open_cuda_tier(small());
  EXPECT_EQ(oom.failure, CudaFailure::kOutOfMemory);
  EXPECT_NE(oom.message.find("CUDA_ERROR_OUT_OF_MEMORY"), std::string::npos) << oom.message;
  const auto after = stats();
  EXPECT_EQ(after.live_device_allocs, before.live_device_allocs);
  EXPECT_EQ(after.live_host_allocs, before.live_host_allocs);
  EXPECT_EQ(after.live_streams, before.live_streams);
  EXPECT_EQ(after.retained_contexts, before.retained_contexts);
}

// ---- the choice of GPU tier ----

kv::tier::GpuTierRequest request(const std::string& backend, double gib, const std::string& lib,
                                 int gpus = 1) {
  kv::tier::GpuTierRequest r;
  r.backend = backend;
  r.mem_gb_per_gpu = gib;
  r.num_gpus = gpus;
  r.cuda_library = lib;
  return r;
}

std::string usage_error_of(const kv::tier::GpuTierRequest& r) {
  try {
    kv::tier::plan_gpu_tier(r);
  } catch (const kv::Error& e) {
    EXPECT_EQ(e.code(), kv::ExitCode::kInvalidArguments);
    EXPECT_FALSE(e.suggestion().empty());
    return e.what();
  }
  ADD_FAILURE() << "no error for --gpu-backend " << r.backend;
  return {};
}

TEST_F(FakeCuda, AutoUsesCudaWhenADeviceIsFound) {
  set("FAKE_CUDA_DEVICES", "2");
  auto p = kv::tier::plan_gpu_tier(request("auto", 0.002, kFake, 2));  // ~2 MiB per GPU
  EXPECT_EQ(p.backend, "cuda");
  EXPECT_EQ(p.limit_bytes, 2 * kv::gib_to_bytes(0.002));
  EXPECT_TRUE(p.note.empty());
  ASSERT_EQ(p.devices.size(), 2u);
  kv::io::PayloadGenerator gen(1);
  auto t = p.make_tier(gen);
  ASSERT_NE(t, nullptr);
  EXPECT_TRUE(t->write(spec("k", 1000), kv::io::GeneratedPayload(gen, "k")).ok);
}

TEST_F(FakeCuda, AutoFallsBackToNoGpuTierAndSaysWhy) {
  auto missing = kv::tier::plan_gpu_tier(request("auto", 16, "/nonexistent/libcuda.so.1"));
  EXPECT_EQ(missing.backend, "none");
  EXPECT_EQ(missing.limit_bytes, 0u);
  EXPECT_NE(missing.note.find("/nonexistent/libcuda.so.1"), std::string::npos) << missing.note;
  EXPECT_NE(missing.note.find("--gpu-mem-gb 16 ignored"), std::string::npos) << missing.note;
  kv::io::PayloadGenerator gen(1);
  EXPECT_EQ(missing.make_tier(gen), nullptr);
  auto too_big = kv::tier::plan_gpu_tier(request("auto", 16, kFake));  // the fake device has 64 MiB
  EXPECT_EQ(too_big.backend, "none");
  EXPECT_NE(too_big.note.find("exceeds"), std::string::npos) << too_big.note;
  set("FAKE_CUDA_INIT", "100");
  EXPECT_NE(kv::tier::plan_gpu_tier(request("auto", 0.01, kFake)).note.find("CUDA_ERROR_NO_DEVICE"),
            std::string::npos);
}

TEST_F(FakeCuda, AutoWithoutGpuMemoryDoesNotLoadTheDriver) {
  set("FAKE_CUDA_INIT", "100");  // would produce a note if the driver were loaded
  auto p = kv::tier::plan_gpu_tier(request("auto", 0, kFake));
  EXPECT_EQ(p.backend, "none");
  EXPECT_TRUE(p.note.empty());
}

TEST_F(FakeCuda, CudaFailuresAreUsageErrorsNamingTheFlag) {
  EXPECT_EQ(
      usage_error_of(request("cuda", 1, "/nonexistent/libcuda.so.1")).rfind("--gpu-backend: ", 0),
      0u);
  EXPECT_EQ(usage_error_of(request("cuda", 0.01, kFake, 2)).rfind("--num-gpus: ", 0), 0u);
  EXPECT_EQ(usage_error_of(request("cuda", 16, kFake)).rfind("--gpu-mem-gb: ", 0), 0u);
  set("FAKE_CUDA_ALLOC_RESULT", "2");
  EXPECT_EQ(usage_error_of(request("cuda", 0.01, kFake)).rfind("--gpu-mem-gb: ", 0), 0u);
  ::unsetenv("FAKE_CUDA_ALLOC_RESULT");
  set("FAKE_CUDA_DEVICES", "0");
  EXPECT_EQ(usage_error_of(request("cuda", 0.01, kFake)).rfind("--gpu-backend: ", 0), 0u);
}

TEST_F(FakeCuda, SimulatedAndNoneNeverLoadTheDriver) {
  set("FAKE_CUDA_INIT", "100");
  auto sim = kv::tier::plan_gpu_tier(request("simulated", 1, kFake, 2));
  EXPECT_EQ(sim.backend, "simulated");
  EXPECT_EQ(sim.limit_bytes, kv::gib_to_bytes(2));
  EXPECT_TRUE(sim.note.empty());
  kv::io::PayloadGenerator gen(1);
  auto t = sim.make_tier(gen);
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->id(), kv::tier::TierId::kGpu);
  auto none = kv::tier::plan_gpu_tier(request("none", 1, kFake));
  EXPECT_EQ(none.backend, "none");
  EXPECT_EQ(none.limit_bytes, 0u);
  EXPECT_EQ(kv::tier::plan_gpu_tier(request("cuda", 0, kFake)).backend, "none");  // 0 GiB: no tier
}

// ---- a real device (skipped without one) ----

class CudaDevice : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = cuda::Driver::load(cuda::Driver::default_library());
    if (r.status != cuda::LoadStatus::kOk) GTEST_SKIP() << "no CUDA device: " << r.message;
  }
};

TEST_F(CudaDevice, RoundTripAndDemotionSourceOnDevice0) {
  CudaTierOptions o;
  o.library = cuda::Driver::default_library();
  o.bytes_per_device = 256 * kMiB;
  auto open = open_cuda_tier(o);
  ASSERT_EQ(open.failure, CudaFailure::kNone) << open.message;
  auto& t = *open.tier;
  kv::io::PayloadGenerator gen(42);
  const std::uint64_t n = 64 * kMiB + 4098;  // several staging pieces and a partial one
  auto w = t.write(spec("real", n), kv::io::GeneratedPayload(gen, "real"));
  ASSERT_TRUE(w.ok) << w.message;
  EXPECT_GT(w.timing.total_s, 0.0);
  Collect c(n);
  auto r = t.read(spec("real", n), &c);
  ASSERT_TRUE(r.ok) << r.message;
  EXPECT_GT(r.timing.total_s, 0.0);
  const auto want = generated(gen, "real", n);
  EXPECT_TRUE(c.bytes == want);
  auto src = t.source_for(spec("real", n));
  ASSERT_NE(src, nullptr);
  std::vector<std::byte> got(n);
  for (std::uint64_t off = 0; off < n; off += 1 * kMiB)
    src->fill(off, std::span<std::byte>(got).subspan(off, std::min<std::uint64_t>(kMiB, n - off)));
  EXPECT_TRUE(got == want);
}

TEST_F(CudaDevice, CapacityLargerThanTheDeviceIsAUsageError) {
  EXPECT_EQ(usage_error_of(request("cuda", 1e5, cuda::Driver::default_library()))
                .rfind("--gpu-mem-gb: ", 0),
            0u);
}

}  // namespace
