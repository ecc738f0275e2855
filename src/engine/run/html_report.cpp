#include "engine/run/html_report.hpp"

#include <cstdio>

#include "core/log.hpp"
#include "engine/summary_format.hpp"
#include "report_html/report.hpp"

namespace kv::engine::run {

void HtmlReport::after_output(const nlohmann::ordered_json& results, const RunData& /*d*/,
                              bool wrote_summary) {
  if (!wrote_summary) {
    log::warn(
        "--html-report: not written by an MPI rank (its results are not the merged ones); "
        "run `mlpstorage reports html <--output file>` on the merged results");
    return;
  }
  try {
    report_html::Run run;
    run.results = results;
    run.label = std::filesystem::path(path_).stem().string();
    run.source = "kv-cache --html-report";
    report_html::write_html(path_, report_html::render_report(run));
    std::fputs(console::path_lines("HTML report written to ", path_).c_str(), stdout);
  } catch (const std::exception& e) {
    log::warn("--html-report: {}", e.what());
  }
}

}  // namespace kv::engine::run
