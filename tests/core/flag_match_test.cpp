// argparse-style flag matching (core/flag_match.hpp): exact, unique prefix, ambiguous prefix,
// aliases of one option, edit distance and "did you mean" suggestions.
#include "core/flag_match.hpp"

#include <gtest/gtest.h>

using kv::FlagMatch;
using kv::FlagName;

namespace {

const std::vector<FlagName> kNames = {{"--num-users", 0}, {"--num-processes", 1},
                                      {"--npernode", 2},  {"--num-processes-per-client", 2},
                                      {"--cache-dir", 3}, {"--closed", 4},
                                      {"--open", 5}};

}  // namespace

TEST(FlagMatch, EditDistanceCountsInsertionsDeletionsSubstitutions) {
  EXPECT_EQ(kv::edit_distance("", ""), 0u);
  EXPECT_EQ(kv::edit_distance("abc", ""), 3u);
  EXPECT_EQ(kv::edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(kv::edit_distance("--nmu-users", "--num-users"), 2u);  // a swap is two edits
}

TEST(FlagMatch, ExactNameWinsOverLongerNames) {
  auto m = kv::match_flag("--num-processes", kNames);
  EXPECT_EQ(m.kind, FlagMatch::Kind::kExact);
  EXPECT_EQ(m.name, "--num-processes");
}

TEST(FlagMatch, UniquePrefixIsTheOption) {
  auto m = kv::match_flag("--num-user", kNames);
  EXPECT_EQ(m.kind, FlagMatch::Kind::kPrefix);
  EXPECT_EQ(m.name, "--num-users");
  EXPECT_EQ(kv::match_flag("--cl", kNames).name, "--closed");
}

TEST(FlagMatch, PrefixOfTwoOptionsIsAmbiguousAndListsThem) {
  auto m = kv::match_flag("--num-p", kNames);
  EXPECT_EQ(m.kind, FlagMatch::Kind::kAmbiguous);
  EXPECT_EQ(m.candidates,
            (std::vector<std::string>{"--num-processes", "--num-processes-per-client"}));
  EXPECT_EQ(kv::match_flag("--c", kNames).kind, FlagMatch::Kind::kAmbiguous);
}

TEST(FlagMatch, AliasesOfOneOptionAreNotAmbiguous) {
  auto m = kv::match_flag("--num-processes-", kNames);
  EXPECT_EQ(m.kind, FlagMatch::Kind::kPrefix);
  EXPECT_EQ(m.name, "--num-processes-per-client");
}

TEST(FlagMatch, UnknownNameSuggestsTheClosest) {
  auto m = kv::match_flag("--nmu-users", kNames);
  EXPECT_EQ(m.kind, FlagMatch::Kind::kUnknown);
  EXPECT_EQ(m.candidates, std::vector<std::string>{"--num-users"});
  EXPECT_EQ(kv::match_flag("--cache-dri", kNames).candidates,
            std::vector<std::string>{"--cache-dir"});
  // Too far from everything: no suggestion rather than a random one.
  EXPECT_TRUE(kv::match_flag("--zzzzzzzz", kNames).candidates.empty());
}

TEST(FlagMatch, ClosestNamesAreOrderedByDistance) {
  auto c = kv::closest_names("--opem", kNames, 3);
  ASSERT_FALSE(c.empty());
  EXPECT_EQ(c.front(), "--open");
}
