// Users (§5.2, §5.8): deterministic per seed, ranges from the templates, QoS shares 15/35/50.
#include "engine/workload/users.hpp"

#include <gtest/gtest.h>

#include "engine/workload/rng.hpp"

using namespace kv::workload;

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
