// kv-gpu-bench: moves fixed-size objects through the engine's GPU tier (the same code path as
// `kv-cache --gpu-backend cuda|simulated`) and prints its transfer bandwidth next to the simulated
// model's assumption (--gpu-bandwidth-gbps). For each direction and thread count:
//   per-op GB/s   = bytes / Σ per-operation latency (what the engine's GPU latency metrics time:
//                   the copies and stream synchronisation, not payload generation);
//   aggregate GB/s = bytes / wall time of the pass (all threads together).
// The payload is whatever the pinned staging buffer holds (no generation), so the wall time is
// the transfers'. GB = 10^9 bytes, as --gpu-bandwidth-gbps. Exit 2 on a usage or CUDA error.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <thread>
#include <vector>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/units.hpp"
#include "engine/io/payload.hpp"
#include "engine/tier/gpu_select.hpp"

namespace {

// Leaves the staging buffer as it is: the pass measures transfers only.
struct NoFill final : kv::io::PayloadSource {
  void fill(std::uint64_t, std::span<std::byte>) const override {}
};

struct Pass {
  double per_op_gbps = 0, aggregate_gbps = 0, p50_ms = 0;
  std::uint64_t ops = 0;
};

Pass run_pass(kv::tier::Tier& t, bool write, unsigned threads, int objects, std::uint64_t bytes,
              int rounds) {
  std::vector<double> lat;
  std::mutex mu;
  std::atomic<int> failures{0};
  const NoFill src;
  const auto t0 = kv::mono_ns();
  std::vector<std::thread> pool;
  for (unsigned w = 0; w < threads; ++w) {
    pool.emplace_back([&, w] {
      std::vector<double> mine;
      // Thread w owns objects w, w + threads, ...: no two threads touch one key at once (the
      // engine's cache serialises operations on a key the same way).
      for (int r = 0; r < rounds; ++r)
        for (int i = static_cast<int>(w); i < objects; i += static_cast<int>(threads)) {
          kv::io::ObjectSpec s;
          s.key = "o" + std::to_string(i);
          s.shape = {bytes / 2};
          s.payload_bytes = bytes;
          const auto r = write ? t.write(s, src) : t.read(s, nullptr);
          if (!r.ok) {
            if (failures++ == 0) std::fprintf(stderr, "kv-gpu-bench: %s\n", r.message.c_str());
            continue;
          }
          mine.push_back(r.timing.total_s);
        }
      std::lock_guard lk(mu);
      lat.insert(lat.end(), mine.begin(), mine.end());
    });
  }
  for (auto& th : pool) th.join();
  const double wall = static_cast<double>(kv::mono_ns() - t0) * 1e-9;
  if (failures > 0)
    throw kv::Error(kv::ExitCode::kFailure,
                    fmt::format("{} GPU tier operations failed", failures.load()));
  Pass p;
  p.ops = lat.size();
  double sum = 0;
  for (double x : lat) sum += x;
  const double moved = static_cast<double>(bytes) * static_cast<double>(p.ops);
  p.per_op_gbps = sum > 0 ? moved / sum / 1e9 : 0;
  p.aggregate_gbps = wall > 0 ? moved / wall / 1e9 : 0;
  std::sort(lat.begin(), lat.end());
  p.p50_ms = lat.empty() ? 0 : lat[lat.size() / 2] * 1e3;
  return p;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "kv-gpu-bench: GPU tier transfer bandwidth (host↔device) through the kv-cache GPU tier"};
  std::string backend = "cuda";
  double object_mib = 64, bandwidth = 64;
  int objects = 16, rounds = 4, num_gpus = 1;
  std::vector<unsigned> threads{1, 4};
  app.add_option("--gpu-backend", backend, "cuda or simulated")
      ->check(CLI::IsMember({"cuda", "simulated"}));
  app.add_option("--object-mib", object_mib, "Object size in MiB")
      ->check(CLI::Range(0.001, 4096.0));
  app.add_option("--objects", objects, "Distinct objects (the tier holds them all)")
      ->check(CLI::Range(1, 100000));
  app.add_option("--rounds", rounds, "Passes over the objects per measurement")
      ->check(CLI::Range(1, 1000));
  app.add_option("--threads", threads, "Thread counts to measure")->check(CLI::Range(1, 256));
  app.add_option("--num-gpus", num_gpus, "Devices (objects spread over them)")
      ->check(CLI::Range(1, 64));
  app.add_option("--gpu-bandwidth-gbps", bandwidth, "The simulated model's bandwidth (GB/s)")
      ->check(CLI::Range(0.001, 1e6));
  CLI11_PARSE(app, argc, argv);
  try {
    const auto bytes = static_cast<std::uint64_t>(object_mib * static_cast<double>(kv::kMiB));
    kv::tier::GpuTierRequest req;
    req.backend = backend;
    req.num_gpus = num_gpus;
    req.bandwidth_gbps = bandwidth;
    // Room for every object on every device's share, plus slack for rounding.
    const std::uint64_t per_gpu =
        (bytes + 4096) * static_cast<std::uint64_t>((objects + num_gpus - 1) / num_gpus);
    req.mem_gb_per_gpu = kv::bytes_to_gib(per_gpu) * 1.01;
    auto plan = kv::tier::plan_gpu_tier(req);
    kv::io::PayloadGenerator gen(1);
    auto tier = plan.make_tier(gen);
    std::printf("GPU tier: %s, %d x %.2f GiB", plan.backend.c_str(), num_gpus, req.mem_gb_per_gpu);
    for (const auto& d : plan.devices)
      std::printf("; device %d: %s (%.1f GiB)", d.ordinal, d.name.c_str(),
                  kv::bytes_to_gib(d.total_bytes));
    std::printf(
        "\nObjects: %d x %.3f MiB, %d rounds per pass. Simulated model assumption: %.1f GB/s "
        "(--gpu-bandwidth-gbps).\n\n",
        objects, object_mib, rounds, bandwidth);
    std::printf("%-10s %-16s %7s %6s %12s %14s %10s %13s\n", "backend", "direction", "threads",
                "ops", "per-op GB/s", "aggregate GB/s", "p50 ms", "per-op/model");
    run_pass(*tier, true, 1, objects, bytes, 1);  // place every object once (untimed warm-up)
    for (unsigned th : threads) {
      for (bool write : {true, false}) {
        const Pass p = run_pass(*tier, write, th, objects, bytes, rounds);
        std::printf("%-10s %-16s %7u %6llu %12.2f %14.2f %10.3f %11.2fx\n", plan.backend.c_str(),
                    write ? "host->device" : "device->host", th,
                    static_cast<unsigned long long>(p.ops), p.per_op_gbps, p.aggregate_gbps,
                    p.p50_ms, p.per_op_gbps / bandwidth);
      }
    }
  } catch (const kv::Error& e) {
    std::fprintf(stderr, "kv-gpu-bench: %s\n", e.describe().c_str());
    return kv::to_int(e.code());
  }
  return 0;
}
