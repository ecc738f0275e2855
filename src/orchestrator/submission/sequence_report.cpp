#include "orchestrator/submission/sequence_report.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "core/fs.hpp"
#include "report_html/report.hpp"
#include "report_html/sequence.hpp"

namespace kv::orchestrator::submission {

namespace stdfs = std::filesystem;
namespace rh = kv::report_html;

namespace {

std::optional<Json> read_object(const stdfs::path& p) {
  std::error_code ec;
  if (!stdfs::is_regular_file(p, ec)) return std::nullopt;
  try {
    Json j = Json::parse(kv::fs::read_file(p, "JSON"));
    if (j.is_object()) return j;
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

std::string trial_rel(int option, int trial) {
  return fmt::format("option_{}/trial_{}", option, trial);
}

// What the run report of one trial shows under "Verification": the sequence's verdict (trials are
// judged together) and the reasons that name this trial or its whole option.
Json trial_metadata(const Json& md, const Json& record, int option, int trial) {
  Json m = Json::object();
  m["verification"] = md.value("verification", std::string("—")) + " (the whole sequence's)";
  m["status"] = record.value("status", Json("—"));
  m["exit_code"] = record.value("exit_code", Json());
  m["run_datetime"] = md.value("run_datetime", Json());
  m["executed_command"] = record.value("command", Json());
  m["num_ranks"] = record.value("total_ranks", Json());
  Json issues = Json::array();
  if (auto it = md.find("verification_issues"); it != md.end() && it->is_array()) {
    for (const auto& r : *it) {
      if (r.value("option", 0) != option) continue;
      if (auto t = r.find("trial"); t != r.end() && t->is_number() && t->get<int>() != trial)
        continue;
      issues.push_back(r);
    }
  }
  m["verification_issues"] = std::move(issues);
  return m;
}

}  // namespace

std::string sequence_report_name(const std::string& datetime) {
  return "kvcache_sequence_report_" + datetime + ".html";
}
std::string trial_report_name(const std::string& datetime) {
  return "kvcache_report_" + datetime + ".html";
}

std::optional<Json> sequence_metadata(const stdfs::path& dir) {
  std::error_code ec;
  std::vector<stdfs::path> found;
  for (stdfs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string n = it->path().filename().string();
    if (n.size() > 14 && n.compare(n.size() - 14, 14, "_metadata.json") == 0)
      found.push_back(it->path());
  }
  std::sort(found.begin(), found.end());
  for (const auto& f : found) {
    auto md = read_object(f);
    if (md && md->contains("sequence") && (*md)["sequence"].is_object()) return md;
  }
  return std::nullopt;
}

SequenceReports write_sequence_reports(const stdfs::path& run_dir,
                                       std::optional<std::pair<int, int>> only_trial) {
  SequenceReports out;
  try {
    auto md = sequence_metadata(run_dir);
    if (!md) {
      out.problems.push_back(run_dir.string() + ": no sequence metadata (*_metadata.json)");
      return out;
    }
    const std::string dt = md->value("run_datetime", std::string());
    rh::Sequence s;
    s.metadata = *md;
    const std::string summary_name = "kvcache_run_summary_" + dt + ".json";
    if (auto sum = read_object(run_dir / summary_name)) {
      s.summary = std::move(*sum);
      s.files.emplace_back("run summary", summary_name);
    }
    std::error_code ec;
    for (const std::string& name :
         {"kv_cache_" + dt + "_metadata.json", "mlpstorage_" + dt + ".log",
          std::string("kv_cache_cluster_info.json")}) {
      if (stdfs::exists(run_dir / name, ec)) s.files.emplace_back(name, name);
    }
    const std::string report_name = trial_report_name(dt);
    const std::string results_name = "kvcache_results_" + dt + ".json";
    const Json& trials = (*md)["sequence"].value("trials", Json::array());
    for (const auto& tr : trials) {
      rh::SequenceTrial t;
      t.option = tr.value("option", 0);
      t.trial = tr.value("trial", 0);
      t.status = tr.value("status", std::string("pending"));
      const std::string rel = trial_rel(t.option, t.trial);
      const stdfs::path dir = run_dir / rel;
      if (stdfs::exists(dir / results_name, ec)) {
        try {
          rh::Run run;
          run.results = rh::load_results(dir / results_name);
          run.label = fmt::format("option {} trial {}", t.option, t.trial + 1);
          run.source = (dir / results_name).string();
          t.run = std::move(run);
          t.results_href = rel + "/" + results_name;
        } catch (const std::exception& e) {
          out.problems.push_back(e.what());
        }
      }
      const bool render =
          t.run && (!only_trial || *only_trial == std::make_pair(t.option, t.trial));
      if (render) {
        try {
          t.run->metadata = trial_metadata(
              *md, read_object(dir / ("kvcache_trial_" + dt + ".json")).value_or(Json::object()),
              t.option, t.trial);
          rh::write_html(dir / report_name,
                         rh::render_report(*t.run, "kv-cache run report: " + t.run->label + " of " +
                                                       run_dir.filename().string()));
          ++out.trial_reports;
        } catch (const std::exception& e) {
          out.problems.push_back(e.what());
        }
      }
      if (stdfs::exists(dir / report_name, ec)) t.report_href = rel + "/" + report_name;
      s.trials.push_back(std::move(t));
    }
    const stdfs::path page = run_dir / sequence_report_name(dt);
    rh::write_html(page, rh::render_sequence(s));
    out.sequence_report = page;
  } catch (const std::exception& e) {
    out.problems.push_back(e.what());
  }
  return out;
}

}  // namespace kv::orchestrator::submission
