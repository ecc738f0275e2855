// Run under `mpirun -n 3`: exercises every RankContext collective, including the timeout paths.
// Exit code 0 when every check passed on this rank; mpirun then exits 0 too.
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "dist/context.hpp"

namespace {

int failures = 0;

void expect(bool ok, int rank, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "rank %d: FAILED: %s\n", rank, what);
    ++failures;
  }
}

std::string payload(int r) {
  // Rank 1 sends an empty string, rank 2 a large one (beyond eager limits), rank 0 a short one.
  if (r == 1) return {};
  if (r == 2) return std::string(300000, 'z') + "end";
  return "rank0@" + std::to_string(r);
}

void sleep_s(double s) { std::this_thread::sleep_for(std::chrono::duration<double>(s)); }

}  // namespace

int main(int argc, char** argv) {
  auto& ctx = kv::dist::RankContext::init(&argc, &argv);
  const int r = ctx.rank();
  expect(ctx.is_mpi(), r, "is_mpi under mpirun");
  expect(ctx.size() == 3, r, "size == 3");
  expect(r >= 0 && r < 3, r, "rank in range");

  // Blocking gather.
  auto all = ctx.gather_strings(payload(r));
  if (r == 0) {
    expect(all.size() == 3, r, "gather size");
    for (int i = 0; i < 3 && all.size() == 3; ++i) expect(all[i] == payload(i), r, "gather content");
  } else {
    expect(all.empty(), r, "gather empty on non-root");
  }

  // Broadcast from two different roots.
  expect(ctx.broadcast_string(r == 0 ? "from-zero" : "junk") == "from-zero", r, "broadcast root 0");
  expect(ctx.broadcast_string(r == 2 ? payload(2) : "", 2) == payload(2), r, "broadcast root 2");

  // Reductions.
  expect(ctx.allreduce_max(static_cast<double>(r) + 0.5) == 2.5, r, "allreduce_max");
  expect(ctx.allreduce_min(static_cast<double>(r) - 7.0) == -7.0, r, "allreduce_min");
  expect(ctx.allreduce_sum(std::uint64_t{1} << (40 + r)) == (std::uint64_t{7} << 40), r, "allreduce_sum");

  ctx.barrier();
  expect(ctx.barrier_with_timeout(30), r, "barrier_with_timeout (all present)");

  // Gather with timeout, everybody on time.
  std::vector<bool> got;
  auto g = ctx.gather_strings_with_timeout(payload(r), 30, &got);
  if (r == 0) {
    expect(got == std::vector<bool>(3, true), r, "gather_with_timeout: all received");
    for (int i = 0; i < 3 && g.size() == 3; ++i) expect(g[i] == payload(i), r, "gather_with_timeout content");
  } else {
    expect(got == std::vector<bool>{true}, r, "gather_with_timeout: send completed");
  }

  // Gather with timeout, rank 2 late: rank 0 must report it missing instead of hanging.
  ctx.barrier();
  if (r == 2) sleep_s(3.0);  // far past the 0.5 s deadline, even on a loaded box
  g = ctx.gather_strings_with_timeout(r == 2 ? "late" : payload(r), 0.5, &got);
  if (r == 0) {
    expect(got == std::vector<bool>({true, true, false}), r, "late rank reported as not received");
    expect(g.size() == 3 && g[2].empty(), r, "late rank's string empty");
  }

  // A later gather is not confused by the late message of the previous one.
  ctx.barrier();
  g = ctx.gather_strings_with_timeout("again" + std::to_string(r), 30, &got);
  if (r == 0) {
    expect(got == std::vector<bool>(3, true), r, "next gather: all received");
    expect(g.size() == 3 && g[2] == "again2", r, "next gather: fresh content");
  }

  // Barrier with timeout, rank 1 late: the others time out, then the barrier completes later.
  if (r == 1) {
    sleep_s(3.0);
    expect(ctx.barrier_with_timeout(30), r, "late rank: barrier 1");
    expect(ctx.barrier_with_timeout(30), r, "late rank: barrier 2");
  } else {
    expect(!ctx.barrier_with_timeout(0.3), r, "barrier times out while rank 1 is late");
    expect(ctx.barrier_with_timeout(30), r, "pending barrier then next barrier complete");
  }

  const int total_failures = static_cast<int>(ctx.allreduce_sum(static_cast<std::uint64_t>(failures)));
  if (r == 0) std::printf("dist_mpi_check: %d ranks, %d failures\n", ctx.size(), total_failures);
  ctx.finalize();
  return failures == 0 ? 0 : 1;
}
