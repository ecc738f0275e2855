// Users: the reference's population for a seed (fixtures recorded from the reference engine),
// deterministic per seed, ranges from the templates, QoS shares 15/35/50.
#include "engine/workload/users.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>

#include "engine/workload/rng.hpp"

using namespace kv::workload;

// tests/data/reference-users/users_seed<S>_n<N>.json: the reference's UserSimulator population of N
// users after random.seed(S). Every file is checked field by field, floats exactly.
TEST(Users, EqualTheReferencePopulationForEveryFixture) {
  const std::filesystem::path dir = std::filesystem::path(KV_TEST_DATA_DIR) / "reference-users";
  const std::regex name(R"(users_seed(-?\d+)_n(\d+)\.json)");
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::smatch m;
    const std::string file = entry.path().filename().string();
    if (!std::regex_match(file, m, name)) continue;
    ++files;
    SCOPED_TRACE(file);
    std::ifstream in(entry.path());
    const auto expected = nlohmann::ordered_json::parse(in);
    const UserSettings s;
    const auto users = generate_users(static_cast<std::uint32_t>(std::stoul(m[2].str())),
                                      std::stoll(m[1].str()), s);
    ASSERT_EQ(users.size(), expected.size());
    for (std::size_t i = 0; i < users.size(); ++i) {
      const auto& e = expected[i];
      const auto& u = users[i];
      EXPECT_EQ(u.id, e.at("user_id").get<std::string>());
      EXPECT_EQ(s.templates[static_cast<std::size_t>(u.template_index)].name,
                e.at("user_type").get<std::string>());
      EXPECT_EQ(u.context_length, e.at("context_length").get<std::uint32_t>());
      EXPECT_EQ(u.generation_length, e.at("generation_length").get<std::uint32_t>());
      EXPECT_EQ(u.think_time_s, e.at("think_time").get<double>());  // bit-exact
      EXPECT_EQ(u.priority, e.at("priority").get<int>());
      EXPECT_EQ(qos_name(u.qos), e.at("qos_level").get<std::string>());
    }
    // The JSON listing (--list-users, results workload.users) is the fixture itself.
    EXPECT_EQ(users_json(users, s), expected);
  }
  EXPECT_EQ(files, 6);
}

TEST(Users, NegativeSeedIsItsAbsoluteValueAndPrefixesAgree) {
  const UserSettings s;
  const auto a = generate_users(20, -7, s), b = generate_users(20, 7, s),
             small = generate_users(5, 7, s);
  EXPECT_EQ(users_json(a, s), users_json(b, s));
  EXPECT_EQ(users_json(small, s), users_json({b.begin(), b.begin() + 5}, s));
}

TEST(Users, SameSeedSameUsersDifferentSeedDifferent) {
  UserSettings s;
  auto a = generate_users(50, 42, s), b = generate_users(50, 42, s), c = generate_users(50, 43, s);
  int differ = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].id, b[i].id);
    EXPECT_EQ(a[i].template_index, b[i].template_index);
    EXPECT_EQ(a[i].qos, b[i].qos);
    EXPECT_EQ(a[i].context_length, b[i].context_length);
    EXPECT_EQ(a[i].generation_length, b[i].generation_length);
    EXPECT_EQ(a[i].think_time_s, b[i].think_time_s);
    differ += a[i].context_length != c[i].context_length;
  }
  EXPECT_GT(differ, 40);
}

TEST(Users, IdsAndRangesFollowTemplates) {
  UserSettings s;
  auto users = generate_users(2000, 1, s);
  EXPECT_EQ(users[7].id, "user_0007");
  std::array<int, 3> per_template{};
  for (const auto& u : users) {
    const auto& t = s.templates[static_cast<std::size_t>(u.template_index)];
    ++per_template[static_cast<std::size_t>(u.template_index)];
    EXPECT_GE(u.context_length, t.context_tokens.lo);
    EXPECT_LE(u.context_length, t.context_tokens.hi);
    EXPECT_GE(u.generation_length, t.generation_tokens.lo);
    EXPECT_LE(u.generation_length, t.generation_tokens.hi);
    EXPECT_GE(u.think_time_s, t.think_time_s.lo);
    EXPECT_LE(u.think_time_s, t.think_time_s.hi);
    EXPECT_EQ(u.priority, s.qos[static_cast<std::size_t>(u.qos)].priority);
  }
  for (int n : per_template) EXPECT_NEAR(n, 2000 / 3, 120);
}

TEST(Users, QosSharesAre15_35_50) {
  UserSettings s;
  auto users = generate_users(20000, 9, s);
  std::array<double, 3> n{};
  for (const auto& u : users) n[static_cast<std::size_t>(u.qos)] += 1;
  EXPECT_NEAR(n[0] / 20000, 0.15, 0.015);
  EXPECT_NEAR(n[1] / 20000, 0.35, 0.015);
  EXPECT_NEAR(n[2] / 20000, 0.50, 0.015);
  EXPECT_EQ(draw_qos(0.1499, s), QosLevel::kInteractive);
  EXPECT_EQ(draw_qos(0.15, s), QosLevel::kResponsive);
  EXPECT_EQ(draw_qos(0.4999, s), QosLevel::kResponsive);
  EXPECT_EQ(draw_qos(0.5, s), QosLevel::kBatch);
}

TEST(Rng, DerivedStreamsAreIndependentAndRangesInclusive) {
  Rng a = Rng::derive(1, Stream::kRequest, {1, 2});
  Rng b = Rng::derive(1, Stream::kRequest, {2, 1});
  Rng c = Rng::derive(1, Stream::kRequest, {1, 2});
  EXPECT_NE(a.next(), b.next());
  Rng a2 = Rng::derive(1, Stream::kRequest, {1, 2});
  EXPECT_EQ(a2.next(), c.next());
  bool lo = false, hi = false;
  for (int i = 0; i < 10000; ++i) {
    auto v = a.uniform_int(3, 7);
    ASSERT_GE(v, 3);
    ASSERT_LE(v, 7);
    lo |= v == 3;
    hi |= v == 7;
    double u = a.uniform01();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
  }
  EXPECT_TRUE(lo && hi);
}
