// `mlpstorage reports compare|html` and the HTML report of every run directory, on top of the
// report_html library (src/report_html/report.hpp). Read-only on the results: nothing here writes
// anywhere but the HTML file it names, and these commands are not recorded in the history.
//
//   reports compare RUN_A RUN_B [-o FILE]  RUN = an mlpstorage run directory or a results JSON;
//                                          prints the headline metrics of both with difference
//                                          (B − A) and ratio (B / A), "—" where a run measured
//                                          nothing, and writes the same table plus both runs'
//                                          curves overlaid to FILE (default
//                                          ./kvcache_compare_<datetime>.html); exit 0.
//   reports html RUN [-o FILE]             the single-run report (default: <run dir>/
//                                          kvcache_report.html, or <results stem>.html); for
//                                          the run directory of a submission sequence its
//                                          sequence and trial reports, rewritten in place (no
//                                          -o: their links are relative).
// Errors: a missing path → exit 3; a file that is not a kv-cache results JSON → exit 2.
#pragma once

#include <filesystem>
#include <string>

#include "orchestrator/kvcache.hpp"
#include "orchestrator/options.hpp"

namespace kv::orchestrator {

int reports_command(const Invocation& inv, const Environment& env);

// The run directory's report (`<run dir>/kvcache_report_<datetime>.html`) from its results and
// metadata; returns its path, or an empty path (with a warning logged) when it could not be
// written.
std::filesystem::path write_run_report(const std::filesystem::path& results_json,
                                       const Json& metadata, const std::filesystem::path& run_dir,
                                       const std::string& datetime);

}  // namespace kv::orchestrator
