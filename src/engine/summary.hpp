// Console output in the reference's order (docs/reference-behaviour.md#console-order): the banner
// and workload distribution before the run, then "BENCHMARK RESULTS" built from the results JSON
// (so the console and the file never disagree). Everything goes to stdout; logs and the status line
// go to stderr.
#pragma once

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/results.hpp"
#include "engine/workload/users.hpp"

namespace kv::engine {

std::string banner_text(const RunData& d, const std::vector<workload::UserProfile>& users);
std::string results_text(const nlohmann::ordered_json& results, const RunData& d);

}  // namespace kv::engine
