// Verification: CLOSED only for an exact official option, GPU 0 / CPU 0 / generation none valid,
// INVALID/OPEN rules, and the --open/--closed/--allow-invalid-params gate.
#include "orchestrator/verify.hpp"

#include <gtest/gtest.h>

using namespace kv::orchestrator;

namespace {

Workload option(int n) {
  const auto& o = official_options()[static_cast<std::size_t>(n - 1)];
  Workload w;
  w.model = o.model;
  w.num_users = o.num_users;
  w.cpu_mem_gb = o.cpu_mem_gb;
  w.max_concurrent_allocs = o.max_concurrent_allocs;
  w.duration = 300;
  w.gpu_mem_gb = 0;
  w.generation_mode = "none";
  w.performance_profile = "latency";
  w.seed = 42;
  return w;
}

bool has_issue(const Verification& v, Category c, const std::string& param) {
  for (const auto& i : v.issues) {
    if (i.validation == c && i.parameter == param) return true;
  }
  return false;
}

}  // namespace

class OfficialOptionMatch : public ::testing::TestWithParam<int> {};

TEST_P(OfficialOptionMatch, ExactMatchIsClosed) {
  auto v = verify(option(GetParam()));
  EXPECT_EQ(v.category, Category::kClosed) << v.issues_json().dump(2);
  ASSERT_TRUE(v.matched_option.has_value());
  EXPECT_EQ(*v.matched_option, GetParam());
  EXPECT_FALSE(has_issue(v, Category::kInvalid, "gpu_mem_gb"));
  EXPECT_FALSE(has_issue(v, Category::kOpen, "generation_mode"));
}

TEST_P(OfficialOptionMatch, ThroughputProfileStillMatches) {
  auto w = option(GetParam());
  w.performance_profile = "throughput";
  EXPECT_EQ(verify(w).category, Category::kClosed);
}

INSTANTIATE_TEST_SUITE_P(Options, OfficialOptionMatch, ::testing::Values(1, 2, 3));

struct Deviation {
  const char* name;
  void (*apply)(Workload&);
};

class OneDeviation : public ::testing::TestWithParam<Deviation> {};

TEST_P(OneDeviation, AnyDifferenceFromOption1IsOpen) {
  auto w = option(1);
  GetParam().apply(w);
  auto v = verify(w);
  EXPECT_EQ(v.category, Category::kOpen) << GetParam().name << v.issues_json().dump(2);
  EXPECT_FALSE(v.matched_option.has_value());
  EXPECT_TRUE(has_issue(v, Category::kOpen, "official_option"));
}

INSTANTIATE_TEST_SUITE_P(
    Params, OneDeviation,
    ::testing::Values(Deviation{"users", [](Workload& w) { w.num_users = 150; }},
                      Deviation{"cpu", [](Workload& w) { w.cpu_mem_gb = 4; }},
                      Deviation{"gpu", [](Workload& w) { w.gpu_mem_gb = 16; }},
                      Deviation{"allocs", [](Workload& w) { w.max_concurrent_allocs = 0; }},
                      Deviation{"duration", [](Workload& w) { w.duration = 600; }},
                      Deviation{"generation", [](Workload& w) { w.generation_mode = "fast"; }},
                      Deviation{"seed", [](Workload& w) { w.seed = 7; }},
                      Deviation{"noseed", [](Workload& w) { w.seed.reset(); }},
                      Deviation{"multiturn", [](Workload& w) { w.disable_multi_turn = true; }},
                      Deviation{"prefix", [](Workload& w) { w.disable_prefix_caching = true; }},
                      Deviation{"rag", [](Workload& w) { w.enable_rag = true; }},
                      Deviation{"autoscaling", [](Workload& w) { w.enable_autoscaling = true; }},
                      Deviation{"iouring", [](Workload& w) { w.io_engine = "io_uring"; }},
                      Deviation{"directio", [](Workload& w) { w.direct_io = true; }},
                      Deviation{"extra",
                                [](Workload& w) { w.kvcache_params = {"--precondition"}; }},
                      Deviation{"model", [](Workload& w) { w.model = "mistral-7b"; }}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(Verify, ClosestOptionIsNamedWithDifferences) {
  auto w = option(2);
  w.num_users = 50;
  auto v = verify(w);
  ASSERT_EQ(v.category, Category::kOpen);
  std::string msg;
  for (const auto& i : v.issues) {
    if (i.parameter == "official_option") msg = i.message;
  }
  EXPECT_NE(msg.find("Option 2"), std::string::npos) << msg;
  EXPECT_NE(msg.find("num_users (expected 100, got 50)"), std::string::npos) << msg;
}

TEST(Verify, PosixIoEngineExplicitlyIsStillClosed) {
  auto w = option(3);
  w.io_engine = "posix";
  EXPECT_EQ(verify(w).category, Category::kClosed);
}

TEST(Verify, InvalidRules) {
  auto w = option(1);
  w.duration = 3;
  auto v = verify(w);
  EXPECT_EQ(v.category, Category::kInvalid);
  EXPECT_TRUE(has_issue(v, Category::kInvalid, "duration"));
  for (auto f : std::vector<void (*)(Workload&)>{
           [](Workload& x) { x.num_users = 0; }, [](Workload& x) { x.model = "gpt-17"; },
           [](Workload& x) { x.model.clear(); }, [](Workload& x) { x.gpu_mem_gb = -1; },
           [](Workload& x) { x.cpu_mem_gb = -1; }, [](Workload& x) { x.generation_mode = "slow"; },
           [](Workload& x) { x.performance_profile = "speed"; },
           [](Workload& x) { x.benchmark_type = "training"; }}) {
    auto x = option(1);
    f(x);
    EXPECT_EQ(verify(x).category, Category::kInvalid) << verify(x).issues_json().dump();
  }
}

TEST(Verify, OpenRules) {
  auto w = option(1);
  w.duration = 45;
  auto v = verify(w);
  EXPECT_EQ(v.category, Category::kOpen);
  EXPECT_TRUE(has_issue(v, Category::kOpen, "duration"));
  auto u = option(1);
  u.num_users = 5;
  EXPECT_TRUE(has_issue(verify(u), Category::kOpen, "num_users"));
}

TEST(Verify, ZeroTiersAndNoGenerationAreValid) {
  Workload w = option(1);
  w.num_users = 20;  // not an official option, but nothing invalid
  w.cpu_mem_gb = 0;
  auto v = verify(w);
  EXPECT_EQ(v.category, Category::kOpen);
  for (const auto& i : v.issues) EXPECT_NE(i.validation, Category::kInvalid) << i.message;
}

struct GateCase {
  Category category;
  bool open, closed, aip;
  bool proceed;
};

class GateTable : public ::testing::TestWithParam<GateCase> {};

TEST_P(GateTable, Decision) {
  const auto& c = GetParam();
  Verification v;
  v.category = c.category;
  EXPECT_EQ(gate(v, c.open, c.closed, c.aip).proceed, c.proceed);
}

INSTANTIATE_TEST_SUITE_P(Table, GateTable,
                         ::testing::Values(GateCase{Category::kClosed, false, true, false, true},
                                           GateCase{Category::kClosed, true, false, false, true},
                                           GateCase{Category::kOpen, false, true, false, false},
                                           GateCase{Category::kOpen, false, true, true, false},
                                           GateCase{Category::kOpen, true, false, false, true},
                                           GateCase{Category::kInvalid, true, false, false, false},
                                           GateCase{Category::kInvalid, false, true, false, false},
                                           GateCase{Category::kInvalid, true, false, true, true},
                                           GateCase{Category::kInvalid, false, false, false, true},
                                           GateCase{Category::kOpen, false, false, false, true}));

TEST(Verify, ParametersRoundTrip) {
  auto w = option(2);
  w.kvcache_params = {"--x"};
  w.io_engine = "io_uring";
  Workload back = Workload::from_parameters(w.to_parameters());
  EXPECT_EQ(back.model, w.model);
  EXPECT_EQ(back.num_users, w.num_users);
  EXPECT_EQ(back.cpu_mem_gb, w.cpu_mem_gb);
  EXPECT_EQ(back.max_concurrent_allocs, w.max_concurrent_allocs);
  EXPECT_EQ(back.seed, w.seed);
  EXPECT_EQ(back.io_engine, "io_uring");
  EXPECT_EQ(back.kvcache_params, w.kvcache_params);
  EXPECT_EQ(verify(back).category, verify(w).category);
}
