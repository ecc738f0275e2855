// RequestFactory: same seed ⇒ same requests per user whatever the interleaving of users (thread
// timing), the phase rule at 10,000 tokens, keys, conversation continuation and the prefix rate.
#include "engine/workload/request_factory.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <tuple>

using namespace kv::workload;

namespace {
using Sig =
    std::tuple<std::string, std::uint32_t, std::uint32_t, int, int, std::uint32_t, std::int64_t>;
Sig sig(const Request& r) {
  return {r.cache_key,       r.context_tokens,          r.generate_tokens,
          r.prefix_prompt,   static_cast<int>(r.phase), r.turn,
          r.decode_key_index};
}

std::map<std::uint32_t, std::vector<Sig>> generate(std::uint64_t seed,
                                                   std::vector<std::uint32_t> order,
                                                   FactorySettings fs = {}) {
  ConversationManager conv;
  RequestFactory f(generate_users(12, seed, {}), seed, fs, conv);
  std::map<std::uint32_t, std::vector<Sig>> out;
  for (auto u : order) out[u].push_back(sig(f.make(u)));
  return out;
}
}  // namespace

TEST(RequestFactory, SameSeedSameRequestsRegardlessOfInterleaving) {
  std::vector<std::uint32_t> order;
  for (int k = 0; k < 40; ++k)
    for (std::uint32_t u = 0; u < 12; ++u) order.push_back(u);
  std::vector<std::uint32_t> shuffled = order;
  std::shuffle(shuffled.begin(), shuffled.end(), std::mt19937(5));
  const auto a = generate(42, order), b = generate(42, shuffled), c = generate(43, order);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  // Think times are a pure function of (seed, user, request) too.
  ConversationManager conv;
  RequestFactory f1(generate_users(3, 42, {}), 42, {}, conv),
      f2(generate_users(3, 42, {}), 42, {}, conv);
  EXPECT_EQ(f1.think_time_s(2, 7), f2.think_time_s(2, 7));
  const double base = f1.users()[2].think_time_s;
  for (std::uint64_t r = 0; r < 100; ++r) {
    EXPECT_GE(f1.think_time_s(2, r), base * 0.8);
    EXPECT_LE(f1.think_time_s(2, r), base * 1.2);
  }
}

TEST(RequestFactory, ContextGenerationRangesAndPhaseRule) {
  ConversationManager conv;
  auto users = generate_users(30, 3, {});
  RequestFactory f(users, 3, {}, conv);
  int write_only = 0, total = 0;
  for (int k = 0; k < 50; ++k)
    for (std::uint32_t u = 0; u < users.size(); ++u) {
      Request r = f.make(u);
      const auto& p = users[u];
      ASSERT_GE(r.context_tokens, std::max<std::uint32_t>(1, p.context_length / 4));
      ASSERT_LE(r.context_tokens, p.context_length);
      ASSERT_GE(r.generate_tokens, std::max<std::uint32_t>(1, p.generation_length / 4));
      ASSERT_LE(r.generate_tokens, p.generation_length);
      ASSERT_EQ(r.phase,
                r.context_tokens >= 10000 ? RequestPhase::kPrefill : RequestPhase::kPrefillDecode);
      ASSERT_EQ(r.priority, p.priority);
      write_only += r.phase == RequestPhase::kPrefill;
      ++total;
    }
  EXPECT_GT(write_only, 0);
  EXPECT_LT(write_only, total);
}

TEST(RequestFactory, ConversationsContinueWithProbabilityAndRespectTheTurnLimit) {
  ConversationManager conv(1000, 5);
  auto users = generate_users(20, 11, {});
  RequestFactory f(users, 11, {}, conv);
  int continued = 0, transitions = 0;
  for (std::uint32_t u = 0; u < users.size(); ++u) {
    Request prev = f.make(u);
    EXPECT_EQ(prev.conversation_id, "conv_" + users[u].id + "_0");
    EXPECT_EQ(prev.turn, 1u);
    EXPECT_EQ(prev.cache_key, prev.conversation_id + "_turn_1");
    for (int k = 0; k < 200; ++k) {
      Request r = f.make(u);
      ASSERT_LE(r.turn, 5u);
      if (r.conversation_id == prev.conversation_id) {
        ASSERT_EQ(r.turn, prev.turn + 1);
        ++continued;
      } else {
        ASSERT_EQ(r.turn, 1u);
      }
      if (prev.turn < 5) ++transitions;  // could have continued
      prev = r;
    }
  }
  EXPECT_NEAR(static_cast<double>(continued) / transitions, 0.8, 0.04);
}

TEST(RequestFactory, WithoutMultiTurnKeysAreUserRequestCounters) {
  FactorySettings fs;
  fs.multi_turn = false;
  ConversationManager conv;
  RequestFactory f(generate_users(2, 1, {}), 1, fs, conv);
  f.make(1);
  Request r = f.make(1);
  EXPECT_EQ(r.cache_key, "user_0001_req_000001");
  EXPECT_TRUE(r.conversation_id.empty());
  EXPECT_EQ(r.turn, 1u);
}

TEST(RequestFactory, PrefixDetectionRateAndPrepopulatedKeys) {
  FactorySettings fs;
  fs.prefix_probability = 0.2;
  fs.prepopulated_keys = 30;
  ConversationManager conv;
  RequestFactory f(generate_users(10, 8, {}), 8, fs, conv);
  std::array<int, 3> prompts{};
  int detected = 0, n = 0;
  for (int k = 0; k < 500; ++k)
    for (std::uint32_t u = 0; u < 10; ++u, ++n) {
      Request r = f.make(u);
      ASSERT_GE(r.decode_key_index, 0);
      ASSERT_LT(r.decode_key_index, 30);
      if (r.prefix_prompt >= 0) {
        ++detected;
        ++prompts[static_cast<std::size_t>(r.prefix_prompt)];
      }
    }
  EXPECT_NEAR(static_cast<double>(detected) / n, 0.2, 0.02);
  for (int c : prompts) EXPECT_NEAR(c, detected / 3.0, detected * 0.08);
  EXPECT_EQ(RequestFactory::prepop_key(12), "prepop_12");
  fs.prefix_caching = false;
  RequestFactory g(generate_users(10, 8, {}), 8, fs, conv);
  for (int k = 0; k < 100; ++k)
    EXPECT_EQ(g.make(static_cast<std::uint32_t>(k % 10)).prefix_prompt, -1);
}
