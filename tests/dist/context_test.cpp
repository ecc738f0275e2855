#include "dist/context.hpp"

#include <gtest/gtest.h>
#include <mpi.h>

#include <cstdlib>

#include "core/error.hpp"

using kv::dist::RankContext;

namespace {

const char* const kLauncherVars[] = {"OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "PMI_RANK", "PMI_SIZE",
                                     "PMIX_RANK", "SLURM_PROCID", "SLURM_NTASKS", "KV_DIST_NO_MPI"};

void clear_launcher_env() {
  for (const char* v : kLauncherVars) ::unsetenv(v);
}

}  // namespace

TEST(RankContext, DetectsLaunchersByEnvironment) {
  clear_launcher_env();
  EXPECT_FALSE(RankContext::launcher_detected());
  for (const char* v : {"OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "PMI_RANK", "PMI_SIZE", "PMIX_RANK"}) {
    ::setenv(v, "0", 1);
    EXPECT_TRUE(RankContext::launcher_detected()) << v;
    ::setenv("KV_DIST_NO_MPI", "1", 1);
    EXPECT_FALSE(RankContext::launcher_detected()) << v << " with KV_DIST_NO_MPI";
    clear_launcher_env();
  }
  ::setenv("SLURM_PROCID", "0", 1);
  EXPECT_FALSE(RankContext::launcher_detected());  // Slurm needs both variables
  ::setenv("SLURM_NTASKS", "4", 1);
  EXPECT_TRUE(RankContext::launcher_detected());
  clear_launcher_env();
}

// Runs after the detection test in the same process; init() happens once, here, without a launcher.
TEST(RankContext, SingleProcessWithoutLauncherMakesNoMpiCalls) {
  clear_launcher_env();
  int argc = 1;
  char name[] = "test_dist";
  char* args[] = {name, nullptr};
  char** argv = args;
  RankContext& ctx = RankContext::init(&argc, &argv);
  EXPECT_EQ(&ctx, &RankContext::instance());
  EXPECT_EQ(&ctx, &RankContext::init(&argc, &argv));
  EXPECT_EQ(ctx.rank(), 0);
  EXPECT_EQ(ctx.size(), 1);
  EXPECT_FALSE(ctx.is_mpi());
  EXPECT_FALSE(ctx.hostname().empty());

  EXPECT_EQ(ctx.gather_strings("hello"), std::vector<std::string>{"hello"});
  EXPECT_EQ(ctx.broadcast_string("x"), "x");
  EXPECT_THROW(ctx.broadcast_string("x", 1), kv::Error);
  EXPECT_EQ(ctx.allreduce_max(2.5), 2.5);
  EXPECT_EQ(ctx.allreduce_min(-1.0), -1.0);
  EXPECT_EQ(ctx.allreduce_sum(42), 42u);
  ctx.barrier();
  EXPECT_TRUE(ctx.barrier_with_timeout(0.01));
  std::vector<bool> got;
  EXPECT_EQ(ctx.gather_strings_with_timeout("me", 0.01, &got), std::vector<std::string>{"me"});
  EXPECT_EQ(got, std::vector<bool>{true});

  int initialized = 1;
  MPI_Initialized(&initialized);  // allowed before MPI_Init
  EXPECT_EQ(initialized, 0);

  ctx.finalize();
  ctx.finalize();  // idempotent
  MPI_Initialized(&initialized);
  EXPECT_EQ(initialized, 0);
  EXPECT_EQ(argc, 1);  // argv untouched
}
