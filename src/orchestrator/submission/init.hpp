// `mlpstorage init <orgname> <results-dir>` and the sentinel it writes,
// <results-dir>/mlperf-results.yaml (the reference's format):
//   mlperf_results_version: 1
//   orgname: <orgname>                 letters, digits, '.', '_', '-'
//   initialized_at: <ISO-8601 UTC>
//   initialized_by: mlpstorage <version>
// Outcomes of init: parent missing → kConfigurationError; target is a file or a non-empty directory
// without a sentinel → kConfigurationError; a sentinel with the same orgname → nothing to do
// (exit 0); a different orgname → kConfigurationError; else the directory is created and the
// sentinel written exclusively (O_EXCL, so two inits cannot both win).
// The modal runs read the orgname back with read_orgname(); a results dir without a sentinel is a
// kConfigurationError that tells the user to run init first.
#pragma once

#include <string>

namespace kv::orchestrator::submission {

inline constexpr const char* kSentinelName = "mlperf-results.yaml";

// Returns the message to print (created / already initialised). Throws kv::Error.
std::string init_results_dir(const std::string& orgname, const std::string& results_dir);

// The orgname pinned to `results_dir`. Throws kv::Error(kConfigurationError) when the sentinel is
// missing or malformed.
std::string read_orgname(const std::string& results_dir);

bool valid_orgname(const std::string& s);

}  // namespace kv::orchestrator::submission
