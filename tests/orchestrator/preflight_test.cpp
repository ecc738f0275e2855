// Pre-flight resource checks of the launching host (preflight.hpp): CPU tier memory x ranks on this
// host vs MemAvailable, cache-dir free space vs the KV footprint, remote hosts reported as not
// checked, the value that would fit in every problem. The wiring into `kvcache run` is tested in
// run_test.cpp, the real binaries in tests/e2e/mlpstorage_e2e_test.cpp.
#include "orchestrator/preflight.hpp"

#include <gtest/gtest.h>

#include "core/units.hpp"
#include "test_util.hpp"

using namespace kv::orchestrator;
namespace fs = std::filesystem;

namespace {

constexpr double kGiB = static_cast<double>(kv::kGiB);

HostProbe fixed_probe(std::optional<double> mem, std::optional<double> free_b) {
  HostProbe p;
  p.mem_available = [mem] { return mem; };
  p.free_bytes = [free_b](const fs::path&) { return free_b; };
  p.is_local = [](const std::string& h) { return h == "127.0.0.1" || h == "me"; };
  return p;
}

ResourceDemand demand(double cpu_gib, double storage_gib, int local_ranks = 1) {
  ResourceDemand d;
  d.cpu_gib_per_rank = cpu_gib;
  d.storage_bytes_per_rank = storage_gib * kGiB;
  d.local_ranks = local_ranks;
  d.ranks_per_host = local_ranks;
  d.cache_dir = "/nonexistent-orchtest/cache";
  return d;
}

const ResourceCheck& check(const ResourceReport& r, const std::string& what) {
  for (const auto& c : r.checks)
    if (c.what == what) return c;
  ADD_FAILURE() << "no check " << what;
  static ResourceCheck none;
  return none;
}

}  // namespace

TEST(PreflightResources, CpuTierAboveMemAvailableNamesTheFlagAndTheValueThatFits) {
  auto r = check_resources(demand(32, 1), fixed_probe(10 * kGiB, 100 * kGiB));
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_EQ(r.problems[0].code, kv::ExitCode::kInvalidArguments);
  EXPECT_EQ(r.problems[0].message.rfind("--cpu-mem-gb:", 0), 0u) << r.problems[0].message;
  // 80 % of 10 GiB for one rank.
  EXPECT_NE(r.problems[0].hint.find("--cpu-mem-gb 8 or less"), std::string::npos)
      << r.problems[0].hint;
  EXPECT_EQ(check(r, "CPU tier memory").result, ResourceCheck::Result::kProblem);
  EXPECT_EQ(check(r, "cache-dir space").result, ResourceCheck::Result::kOk);
}

TEST(PreflightResources, CpuTierCountsEveryRankOnThisHost) {
  EXPECT_TRUE(
      check_resources(demand(4, 1, 2), fixed_probe(10 * kGiB, 100 * kGiB)).problems.empty());
  auto d = demand(4, 1, 3);
  d.ranks_flag = "--npernode";
  auto r = check_resources(d, fixed_probe(10 * kGiB, 100 * kGiB));
  ASSERT_EQ(r.problems.size(), 1u);
  const std::string& hint = r.problems[0].hint;
  EXPECT_NE(hint.find("--cpu-mem-gb 2.6 or less"), std::string::npos) << hint;  // 8 GiB / 3
  EXPECT_NE(hint.find("--npernode 2 or fewer"), std::string::npos) << hint;     // 8 GiB / 4 GiB
}

TEST(PreflightResources, LockedCpuFlagIsNotSuggested) {
  auto d = demand(32, 1);
  d.cpu_flag_locked = true;
  auto r = check_resources(d, fixed_probe(10 * kGiB, 100 * kGiB));
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_EQ(r.problems[0].hint.find("--cpu-mem-gb"), std::string::npos) << r.problems[0].hint;
}

TEST(PreflightResources, NoCpuTierOrTraceModeNeedsNoMemory) {
  EXPECT_TRUE(check_resources(demand(0, 1), fixed_probe(1.0, 100 * kGiB)).problems.empty());
  auto d = demand(32, 1);
  d.cpu_tier_in_memory = false;
  EXPECT_TRUE(check_resources(d, fixed_probe(1.0, 100 * kGiB)).problems.empty());
}

TEST(PreflightResources, CacheDirSpaceNamesTheFlagAndTheUsersThatFit) {
  auto d = demand(1, 20, 2);
  d.storage_bytes_per_user = 0.1 * kGiB;
  auto r = check_resources(d, fixed_probe(100 * kGiB, 3 * kGiB));
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_EQ(r.problems[0].code, kv::ExitCode::kInvalidArguments);
  EXPECT_EQ(r.problems[0].message.rfind("--cache-dir:", 0), 0u) << r.problems[0].message;
  // 3 GiB free / (0.1 GiB per user x 2 ranks) = 15 users.
  EXPECT_NE(r.problems[0].hint.find("--num-users 15 or fewer"), std::string::npos)
      << r.problems[0].hint;
  EXPECT_NE(r.problems[0].hint.find("40.00 GiB free"), std::string::npos) << r.problems[0].hint;
  EXPECT_EQ(check(r, "cache-dir space").result, ResourceCheck::Result::kProblem);
}

TEST(PreflightResources, UnknownProbesAndRemoteHostsAreReportedAsNotChecked) {
  auto d = demand(32, 1000);
  d.remote_hosts = {"far1", "far2"};
  auto r = check_resources(d, fixed_probe(std::nullopt, std::nullopt));
  EXPECT_TRUE(r.problems.empty());
  EXPECT_EQ(check(r, "CPU tier memory").result, ResourceCheck::Result::kNotChecked);
  EXPECT_EQ(check(r, "cache-dir space").result, ResourceCheck::Result::kNotChecked);
  const auto& remote = check(r, "remote hosts");
  EXPECT_EQ(remote.result, ResourceCheck::Result::kNotChecked);
  EXPECT_NE(remote.detail.find("far1, far2"), std::string::npos) << remote.detail;
  const std::string text = render_resource_checks(r.checks);
  EXPECT_NE(text.find("remote hosts: not checked: far1, far2"), std::string::npos) << text;
}

TEST(PreflightResources, NoLocalRankMeansNothingToCheckHere) {
  auto r = check_resources(demand(1000, 1000, 0), fixed_probe(1.0, 1.0));
  EXPECT_TRUE(r.problems.empty());
  EXPECT_EQ(check(r, "CPU tier memory").result, ResourceCheck::Result::kNotChecked);
}

TEST(PreflightResources, RanksOnThisHostComeFromTheMpiSlots) {
  auto p = orchtest::parse({"kvcache", "run", "--hosts", "127.0.0.1", "far", "-np", "5"});
  ASSERT_TRUE(p.r.ok()) << p.r.err;
  ResourceDemand d;
  place_ranks(p.inv().kv, /*use_mpi=*/true, 5, fixed_probe(1.0, 1.0), d);
  EXPECT_EQ(d.local_ranks, 3);  // 5 over 2 hosts: the remainder goes to the first
  EXPECT_EQ(d.remote_hosts, std::vector<std::string>{"far"});
  place_ranks(p.inv().kv, /*use_mpi=*/false, 1, fixed_probe(1.0, 1.0), d);
  EXPECT_EQ(d.local_ranks, 1);
  EXPECT_TRUE(d.remote_hosts.empty());
}

TEST(PreflightResources, ThisMachineIsRecognisedWithoutDns) {
  const HostProbe p = HostProbe::from_process();
  EXPECT_TRUE(p.is_local("localhost"));
  EXPECT_TRUE(p.is_local("127.0.0.1"));
  EXPECT_FALSE(p.is_local("no-such-host.invalid"));
}
