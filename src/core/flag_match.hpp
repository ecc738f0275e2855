// Matching a typed flag name against the names a command accepts, as Python's argparse does:
//   * an exact name wins;
//   * otherwise a prefix of exactly one option's names is that option ("--num-user" →
//   "--num-users");
//   * a prefix of several options is ambiguous (the caller lists the candidates);
//   * no match: "did you mean" proposes the names closest by edit distance (Levenshtein, at most
//     max(2, a third of the typed name's length) edits), nearest first.
// Names are compared as typed (case-sensitive); an option may have several names (aliases): they
// are grouped by `option` so that two aliases of one option never make a prefix ambiguous.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace kv {

struct FlagName {
  std::string name;    // "--num-users"
  std::size_t option;  // index of the option the name belongs to (aliases share it)
};

struct FlagMatch {
  enum class Kind { kExact, kPrefix, kAmbiguous, kUnknown };
  Kind kind = Kind::kUnknown;
  std::string name;                     // kExact/kPrefix: the full name
  std::vector<std::string> candidates;  // kAmbiguous: the matching names; kUnknown: suggestions
};

// Levenshtein distance (insert, delete, substitute; each costs 1).
std::size_t edit_distance(std::string_view a, std::string_view b);

// Up to `max` names closest to `typed` within the distance limit above, nearest first (ties in
// the order of `names`).
std::vector<std::string> closest_names(std::string_view typed, const std::vector<FlagName>& names,
                                       std::size_t max = 1);

FlagMatch match_flag(std::string_view typed, const std::vector<FlagName>& names);

}  // namespace kv
