#include "orchestrator/reports_cmd.hpp"

#include <fmt/format.h>

#include "core/error.hpp"
#include "orchestrator/logger.hpp"
#include "orchestrator/plan.hpp"
#include "orchestrator/submission/sequence_report.hpp"
#include "report_html/report.hpp"

namespace kv::orchestrator {

namespace stdfs = std::filesystem;
namespace rh = kv::report_html;

namespace {

// Label of a run in tables and legends: the run directory's name (mlpstorage names it by its
// datetime) or the results file's stem.
std::string label_for(const stdfs::path& p) {
  stdfs::path q = p;
  if (q.filename().empty()) q = q.parent_path();
  std::error_code ec;
  return stdfs::is_directory(q, ec) ? q.filename().string() : q.stem().string();
}

}  // namespace

int reports_command(const Invocation& inv, const Environment& env) {
  const auto& r = inv.reports;
  if (inv.command == "compare") {
    std::string la = label_for(r.runs.at(0)), lb = label_for(r.runs.at(1));
    if (la == lb) {
      la = "A " + la;
      lb = "B " + lb;
    }
    std::vector<rh::Run> runs = {rh::load_run(r.runs[0], la), rh::load_run(r.runs[1], lb)};
    *env.out << rh::comparison_text(runs);
    for (const auto& run : runs) {
      if (!rh::measured(run.results))
        logger().warning("{} ({}) completed no request: its values are not measured", run.label,
                         run.source);
    }
    const stdfs::path out = r.output.empty()
                                ? stdfs::path("kvcache_compare_" + datetime_now() + ".html")
                                : stdfs::path(r.output);
    rh::write_html(out, rh::render_comparison(runs));
    *env.out << "HTML comparison written to " << out.string() << "\n";
    return 0;
  }
  if (inv.command == "html") {
    // A submission sequence's run directory: its reports are (re)written in place, where their
    // relative links work (docs/mlpstorage.md, "Reports of a sequence").
    if (submission::sequence_metadata(r.runs.at(0))) {
      if (!r.output.empty())
        throw usage_error("--output", "a sequence's reports are written in its run directory " +
                                          r.runs[0] + " (their links are relative to it)");
      const auto rep = submission::write_sequence_reports(r.runs[0]);
      for (const auto& p : rep.problems) logger().warning("HTML report: {}", p);
      if (rep.sequence_report.empty())
        throw Error(ExitCode::kPermissionDenied,
                    "sequence report of " + r.runs[0] + " not written" +
                        (rep.problems.empty() ? std::string() : ": " + rep.problems.front()));
      *env.out << "HTML report written to " << rep.sequence_report.string() << " ("
               << rep.trial_reports << " trial report(s))\n";
      return 0;
    }
    rh::Run run = rh::load_run(r.runs.at(0), label_for(r.runs[0]));
    std::error_code ec;
    stdfs::path out = r.output;
    if (out.empty()) {
      out = stdfs::is_directory(r.runs[0], ec) ? stdfs::path(r.runs[0]) / "kvcache_report.html"
                                               : stdfs::path(run.source).replace_extension(".html");
    }
    rh::write_html(out, rh::render_report(run));
    *env.out << "HTML report written to " << out.string() << "\n";
    return 0;
  }
  throw Error(ExitCode::kInvalidArguments, "reports: unknown command '" + inv.command + "'");
}

stdfs::path write_run_report(const stdfs::path& results_json, const Json& metadata,
                             const stdfs::path& run_dir, const std::string& datetime) {
  const stdfs::path out = run_dir / ("kvcache_report_" + datetime + ".html");
  try {
    rh::Run run;
    run.results = rh::load_results(results_json);
    run.metadata = metadata;
    run.label = datetime;
    run.source = results_json.string();
    rh::write_html(out, rh::render_report(run));
    logger().status("HTML report: {}", out.string());
    return out;
  } catch (const std::exception& e) {
    logger().warning("HTML report not written: {}", e.what());
    return {};
  }
}

}  // namespace kv::orchestrator
