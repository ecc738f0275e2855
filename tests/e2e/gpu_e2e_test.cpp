// kv-cache's GPU tier end to end: --gpu-backend cuda and auto over the fake CUDA driver
// (tests/tier/fake_cuda, selected with KVCACHE_LIBCUDA), the usage errors naming the flag, auto's
// reported fallback; and a three-tier run on a real device (GpuDeviceE2E, skipped without one).
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "support/argv.hpp"
#include "support/json_file.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

using namespace kv::testsupport;

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const std::string kFakeEnv = std::string("KVCACHE_LIBCUDA=") + KV_FAKE_CUDA_LIB;

std::vector<std::string> args(const fs::path& dir, const std::string& backend,
                              const std::string& gpu_gb) {
  return until_requests(engine_argv({.cache = dir / "c",
                                     .output = dir / "r.json",
                                     .seed = "5",
                                     .gpu_mem_gb = gpu_gb,
                                     .cpu_mem_gb = "0.2",
                                     .extra = {"--gpu-backend", backend}}),
                        12);  // enough requests to overflow the GPU tier
}

void expect_cascade_through_gpu(const json& j, const std::string& backend) {
  EXPECT_EQ(j["config"]["gpu_backend"], backend);
  EXPECT_TRUE(j["config"]["gpu_backend_note"].is_null());
  EXPECT_EQ(j["config"]["gpu_devices"].size(), 1u);
  EXPECT_TRUE(j["config"]["gpu_tier"].get<bool>());
  const auto& cs = j["summary"]["cache_stats"];
  EXPECT_GT(cs["tier_gpu_kv_bytes_written_gb"].get<double>(), 0);
  EXPECT_GT(cs["tier_cpu_kv_bytes_written_gb"].get<double>() +
                cs["tier_storage_kv_bytes_written_gb"].get<double>(),
            0);
  EXPECT_EQ(cs["failed_writes"].get<std::uint64_t>(), 0u);
}

TEST(GpuE2E, CudaBackendOverTheFakeDriverHoldsTheFirstTier) {
  TempDir t;
  auto r =
      run(args(t.path, "cuda", "0.1"), {kFakeEnv, "FAKE_CUDA_MEM=335544320"});  // 320 MiB device
  ASSERT_EQ(r.exit_code, 0) << r.err;
  expect_cascade_through_gpu(load_json(t.path / "r.json"), "cuda");
  EXPECT_EQ(load_json(t.path / "r.json")["config"]["gpu_devices"][0],
            "0: Fake GPU 0 (0.3 GiB)");  // 320 MiB
}

TEST(GpuE2E, AutoPicksCudaWhenADeviceIsFound) {
  TempDir t;
  auto r = run(args(t.path, "auto", "0.1"), {kFakeEnv, "FAKE_CUDA_MEM=268435456"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(load_json(t.path / "r.json")["config"]["gpu_backend"], "cuda");
}

TEST(GpuE2E, AutoWithoutADeviceRunsWithoutAGpuTierAndSaysWhy) {
  TempDir t;
  auto r = run(args(t.path, "auto", "0.1"), {kFakeEnv, "FAKE_CUDA_INIT=100"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("--gpu-backend auto: no GPU tier"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("CUDA_ERROR_NO_DEVICE"), std::string::npos) << r.err;
  const json j = load_json(t.path / "r.json");
  EXPECT_EQ(j["config"]["gpu_backend"], "none");
  EXPECT_FALSE(j["config"]["gpu_tier"].get<bool>());
  EXPECT_NE(j["config"]["gpu_backend_note"].get<std::string>().find("CUDA_ERROR_NO_DEVICE"),
            std::string::npos);
  EXPECT_TRUE(j["config"]["gpu_devices"].empty());
}

TEST(GpuE2E, CudaFailuresExit2NamingTheFlag) {
  TempDir t;
  struct Case {
    std::vector<std::string> env;
    std::string gpu_gb, extra, flag;
  };
  const std::vector<Case> cases = {
      {{"KVCACHE_LIBCUDA=/nonexistent/libcuda.so.1"}, "0.1", "", "--gpu-backend: "},
      {{kFakeEnv, "FAKE_CUDA_DEVICES=0"}, "0.1", "", "--gpu-backend: "},
      {{kFakeEnv}, "1", "", "--gpu-mem-gb: "},  // the fake device has 64 MiB
      {{kFakeEnv, "FAKE_CUDA_ALLOC_RESULT=2"}, "0.01", "", "--gpu-mem-gb: "},
      {{kFakeEnv}, "0.01", "2", "--num-gpus: "},
  };
  for (const auto& c : cases) {
    auto a = args(t.path, "cuda", c.gpu_gb);
    if (!c.extra.empty()) a.insert(a.end(), {"--num-gpus", c.extra});
    auto r = run(a, c.env);
    EXPECT_EQ(r.exit_code, 2) << c.flag << r.err;
    EXPECT_NE(r.err.find("error: " + c.flag), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(t.path / "r.json")) << c.flag;
  }
}

// A real device: GPU → CPU → storage with device memory. Skipped when kv-cache finds no driver or
// device (the same check the engine makes).
TEST(GpuDeviceE2E, ThreeTierRunOnARealDevice) {
  TempDir t;
  auto r = run(args(t.path, "cuda", "0.1"));
  if (r.exit_code == 2 && r.err.find("error: --gpu-backend: ") != std::string::npos)
    GTEST_SKIP() << "no CUDA device: " << r.err;
  ASSERT_EQ(r.exit_code, 0) << r.err;
  expect_cascade_through_gpu(load_json(t.path / "r.json"), "cuda");
}

}  // namespace
