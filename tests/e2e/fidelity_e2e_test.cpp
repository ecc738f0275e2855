// kv-cache against the reference's conventions, end to end: --list-users prints the reference's
// population for the seed (a fixture recorded from the reference) without touching storage, the
// results list the same users, prefix_cache_stats is {} without prefix caching, and
// reference_accounting counts at least what our window counts, exactly as much when nothing was
// in flight at the stop.
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

std::vector<std::string> args(const fs::path& dir, const std::string& users,
                              const std::string& seed, std::vector<std::string> extra = {},
                              const std::string& duration = "3") {
  return engine_argv({.cache = dir / "cache",
                      .output = dir / "r.json",
                      .users = std::stoi(users),
                      .duration = std::stoi(duration),
                      .seed = seed,
                      .extra = std::move(extra)});
}

TEST(FidelityE2E, ListUsersPrintsTheReferencePopulationWithoutTouchingStorage) {
  TempDir t;
  auto a = args(t.path, "20", "42", {"--list-users"});
  const auto r = run(a);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out),
            load_json(fs::path(KV_TEST_DATA_DIR) / "reference-users/users_seed42_n20.json"));
  EXPECT_FALSE(fs::exists(t.path / "cache"));
  EXPECT_FALSE(fs::exists(t.path / "r.json"));
}

TEST(FidelityE2E, ReferenceAccountingCountsAtLeastTheWindowAndEqualsItWithNothingInFlight) {
  TempDir t;
  const auto r = run(until_requests(args(t.path, "4", "7", {"--disable-prefix-caching"}), 4));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = load_json(t.path / "r.json");
  const json& cs = j["summary"]["cache_stats"];
  const json& ra = j["reference_accounting"];
  ASSERT_TRUE(ra.is_object()) << j.dump().substr(0, 400);
  EXPECT_GE(ra["requests_completed"].get<int>(), j["requests_completed"].get<int>());
  EXPECT_GE(ra["total_tokens"].get<int>(), j["total_tokens_generated"].get<int>());
  for (const char* k : {"tier_storage_kv_bytes_read_gb", "tier_storage_kv_bytes_written_gb",
                        "tier_storage_read_bandwidth_gbps", "tier_storage_write_bandwidth_gbps"}) {
    EXPECT_GE(ra[k].get<double>(), cs[k].get<double>()) << k;
  }
  EXPECT_GE(ra["read_iops"].get<int>(), cs["read_iops"].get<int>());
  EXPECT_GE(ra["write_iops"].get<int>(), cs["write_iops"].get<int>());
  // The population the run simulated is the one --list-users prints for the same flags, and the
  // reference writes prefix_cache_stats as {} without prefix caching.
  EXPECT_EQ(j["workload"]["users"], json::parse(run(args(t.path, "4", "7", {"--list-users"})).out));
  EXPECT_EQ(j["workload"]["users"].size(), 4U);
  EXPECT_EQ(j["summary"]["prefix_cache_stats"], json::object());

  // One user, one request: the stop comes when it completes, so nothing is in flight and the
  // reference's figures are ours. The window is long, so that the stop is that completion even
  // when a loaded machine takes seconds for the first request (with a 3 s window the duration
  // could end first, with the request's write still running into the drain).
  TempDir t1;
  const auto one = run(args(t1.path, "1", "7", {"--max-requests", "1"}, "120"));
  ASSERT_EQ(one.exit_code, 0) << one.err;
  const json k = load_json(t1.path / "r.json");
  ASSERT_EQ(k["stop_reason"], "max_requests");
  const json& kcs = k["summary"]["cache_stats"];
  const json& kra = k["reference_accounting"];
  EXPECT_EQ(kra["in_flight_at_stop"], 0);
  EXPECT_EQ(kra["requests_completed"], k["requests_completed"]);
  EXPECT_EQ(kra["total_tokens"], k["total_tokens_generated"]);
  for (const char* key :
       {"tier_storage_kv_bytes_read_gb", "tier_storage_kv_bytes_written_gb",
        "tier_storage_read_bandwidth_gbps", "tier_storage_write_bandwidth_gbps"}) {
    EXPECT_DOUBLE_EQ(kra[key].get<double>(), kcs[key].get<double>()) << key;
  }
  EXPECT_EQ(kra["read_iops"], kcs["read_iops"]);
  EXPECT_EQ(kra["write_iops"], kcs["write_iops"]);
}

}  // namespace
