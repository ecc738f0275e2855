#include "core/flag_match.hpp"

#include <algorithm>
#include <numeric>

namespace kv {

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  std::iota(prev.begin(), prev.end(), std::size_t{0});
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::vector<std::string> closest_names(std::string_view typed, const std::vector<FlagName>& names,
                                       std::size_t max) {
  const std::size_t limit = std::max<std::size_t>(2, typed.size() / 3);
  std::vector<std::pair<std::size_t, std::size_t>> scored;  // (distance, index)
  for (std::size_t i = 0; i < names.size(); ++i) {
    const std::size_t d = edit_distance(typed, names[i].name);
    if (d <= limit) scored.emplace_back(d, i);
  }
  std::stable_sort(scored.begin(), scored.end(),
                   [](const auto& x, const auto& y) { return x.first < y.first; });
  std::vector<std::string> out;
  for (const auto& [d, i] : scored) {
    if (out.size() >= max) break;
    if (std::find(out.begin(), out.end(), names[i].name) == out.end()) out.push_back(names[i].name);
  }
  return out;
}

FlagMatch match_flag(std::string_view typed, const std::vector<FlagName>& names) {
  FlagMatch m;
  for (const auto& n : names) {
    if (n.name == typed) {
      m.kind = FlagMatch::Kind::kExact;
      m.name = n.name;
      return m;
    }
  }
  std::vector<const FlagName*> hits;
  for (const auto& n : names) {
    if (n.name.size() > typed.size() && n.name.compare(0, typed.size(), typed) == 0)
      hits.push_back(&n);
  }
  const bool one_option =
      !hits.empty() && std::all_of(hits.begin(), hits.end(), [&](const FlagName* h) {
        return h->option == hits.front()->option;
      });
  if (one_option) {
    m.kind = FlagMatch::Kind::kPrefix;
    m.name = hits.front()->name;
  } else if (!hits.empty()) {
    m.kind = FlagMatch::Kind::kAmbiguous;
    for (const auto* h : hits) m.candidates.push_back(h->name);
  } else {
    m.candidates = closest_names(typed, names);
  }
  return m;
}

}  // namespace kv
