// Summary statistics used by the loaders' reports (ShareGPT loader statistics): numpy
// conventions, i.e. population standard deviation (ddof = 0) and linearly interpolated percentiles.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <vector>

namespace kv::replay {

struct TokenStats {
  std::size_t count = 0;
  double mean = 0, std = 0, min = 0, max = 0, p50 = 0, p95 = 0;
};

// All zeros for an empty input. Takes the values by value (it sorts them).
TokenStats summarize(std::vector<double> values);
// numpy.percentile(sorted, pct) with linear interpolation; `sorted` must be ascending and
// non-empty.
double percentile_sorted(const std::vector<double>& sorted, double pct);

nlohmann::ordered_json to_json(const TokenStats& s);

}  // namespace kv::replay
