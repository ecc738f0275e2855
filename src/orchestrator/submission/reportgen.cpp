#include "orchestrator/submission/reportgen.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "orchestrator/logger.hpp"
#include "orchestrator/submission/sequence_report.hpp"

namespace kv::orchestrator::submission {

namespace stdfs = std::filesystem;

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string str_of(const Json& md, const char* key) {
  auto it = md.find(key);
  if (it == md.end() || it->is_null()) return "";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

Json scalars_of(const Json& obj) {
  Json m = Json::object();
  if (!obj.is_object()) return m;
  for (auto it = obj.begin(); it != obj.end(); ++it)
    if (!it->is_structured()) m[it.key()] = *it;
  return m;
}

void flatten(const Json& j, const std::string& prefix, std::map<std::string, std::string>& out) {
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it)
      flatten(*it, prefix.empty() ? it.key() : prefix + "." + it.key(), out);
    return;
  }
  if (j.is_null()) return;
  if (j.is_string())
    out[prefix] = j.get<std::string>();
  else if (j.is_boolean())
    out[prefix] = j.get<bool>() ? "True" : "False";
  else
    out[prefix] = j.dump();
}

std::string csv_cell(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

std::optional<Json> load(const stdfs::path& p, std::vector<std::string>* errors) {
  try {
    Json j = Json::parse(kv::fs::read_file(p, "metadata"));
    if (!j.is_object()) throw std::runtime_error("not a JSON object");
    return j;
  } catch (const std::exception& e) {
    if (errors) errors->push_back(p.string() + ": " + e.what());
    return std::nullopt;
  }
}

}  // namespace

Json collect_report_rows(const stdfs::path& root, std::vector<std::string>* errors) {
  std::map<stdfs::path, std::vector<stdfs::path>> metadata, summaries;
  std::error_code ec;
  for (stdfs::recursive_directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    const std::string name = it->path().filename().string();
    if (ends_with(name, "_metadata.json"))
      metadata[it->path().parent_path()].push_back(it->path());
    else if (name.rfind("kvcache_run_summary_", 0) == 0 && ends_with(name, ".json"))
      summaries[it->path().parent_path()].push_back(it->path());
  }
  Json rows = Json::array();
  for (auto& [dir, files] : metadata) {
    std::sort(files.begin(), files.end());
    auto md = load(files.front(), errors);
    if (!md) continue;
    Json row = Json::object();
    const std::string type = str_of(*md, "benchmark_type");
    const std::string command = str_of(*md, "command");
    const std::string model = str_of(*md, "model");
    std::string id = type;
    if (!command.empty()) id += "_" + command;
    if (!model.empty()) id += "_" + model;
    id += "_" + str_of(*md, "run_datetime");
    row["run_id"] = id;
    row["benchmark_type"] = type;
    row["model"] = model;
    row["command"] = command;
    row["num_processes"] = md->value("num_processes", Json());
    std::string division;
    if (auto s = md->find("sequence"); s != md->end() && s->is_object())
      division = s->value("division", std::string());
    row["division"] = division;
    row["status"] = md->value("status", Json());
    row["verification"] = md->value("verification", Json());
    row["result_dir"] = dir.string();
    Json params = md->value("parameters", Json::object());
    if (params.is_object()) params.erase("options");
    row["parameters"] = params;
    if (auto m = md->find("metrics"); m != md->end() && m->is_object())
      row["metrics"] = *m;
    else
      row["metrics"] = scalars_of(md->value("kvcache_metrics", Json::object()));
    rows.push_back(row);

    auto sit = summaries.find(dir);
    if (sit == summaries.end()) continue;
    std::sort(sit->second.begin(), sit->second.end());
    auto summary = load(sit->second.back(), errors);
    if (!summary || !summary->contains("options") || !(*summary)["options"].is_object()) continue;
    for (const auto& [key, opt] : (*summary)["options"].items()) {
      Json orow = row;
      orow["run_id"] = id + "_option" + key;
      orow["option"] = std::stoi(key);
      Json m = Json::object();
      for (auto k = opt.begin(); k != opt.end(); ++k)
        if (k.key().rfind("aggregated_", 0) == 0) m[k.key()] = *k;
      m["trial_count"] = opt.value("trial_count", 0);
      m["rank_count"] = opt.value("rank_count", 0);
      m["partial_failure"] = opt.value("partial_failure", false);
      if (auto sp = opt.find("trial_spread"); sp != opt.end() && sp->is_object()) {
        if (auto r = sp->find("read_bandwidth_gbps"); r != sp->end() && r->is_object())
          m["read_bandwidth_cv"] = r->value("cv", Json());
      }
      orow["metrics"] = std::move(m);
      rows.push_back(std::move(orow));
    }
  }
  return rows;
}

std::string rows_to_csv(const Json& rows) {
  std::vector<std::map<std::string, std::string>> flat;
  std::set<std::string> keys;
  for (const auto& r : rows) {
    std::map<std::string, std::string> f;
    flatten(r, "", f);
    for (const auto& [k, v] : f) keys.insert(k);
    flat.push_back(std::move(f));
  }
  std::string out;
  bool first = true;
  for (const auto& k : keys) {
    out += (first ? "" : ",") + csv_cell(k);
    first = false;
  }
  out += "\n";
  for (const auto& f : flat) {
    first = true;
    for (const auto& k : keys) {
      auto it = f.find(k);
      out += (first ? "" : ",") + (it == f.end() ? std::string() : csv_cell(it->second));
      first = false;
    }
    out += "\n";
  }
  return out;
}

BenchmarkResult run_reportgen(const Invocation& inv, const Environment& env) {
  const stdfs::path root = inv.uni.results_dir;
  std::error_code ec;
  if (!stdfs::is_directory(root, ec))
    throw Error(ExitCode::kFileNotFound, "--results-dir: " + root.string() + " is not a directory");
  std::vector<std::string> errors;
  const Json rows = collect_report_rows(root, &errors);
  for (const auto& e : errors) logger().warning("skipped unreadable metadata {}", e);
  if (rows.empty())
    throw Error(ExitCode::kFileNotFound,
                "--results-dir: no run (*_metadata.json) under " + root.string());
  const stdfs::path out_dir =
      inv.report.output_dir.empty() ? root : stdfs::path(inv.report.output_dir);
  stdfs::create_directories(out_dir, ec);
  kv::fs::atomic_write(out_dir / "results.json", rows.dump(2) + "\n");
  kv::fs::atomic_write(out_dir / "results.csv", rows_to_csv(rows));
  for (const auto& r : rows) {
    *env.out << fmt::format("[{}] {}\n",
                            r.value("verification", Json()).is_string()
                                ? r["verification"].get<std::string>()
                                : std::string("-"),
                            r["run_id"].get<std::string>());
  }
  *env.out << fmt::format("{} row(s) written to {} and {}\n", rows.size(),
                          (out_dir / "results.json").string(), (out_dir / "results.csv").string());
  // Each sequence's HTML reports are (re)generated in its own run directory, where the sequence
  // writes them; a tree that cannot be written keeps its old reports (a warning, not an error).
  std::set<std::string> sequences;
  for (const auto& r : rows) {
    if (r.value("division", std::string()).empty()) continue;
    const std::string dir = r.value("result_dir", std::string());
    if (!sequences.insert(dir).second) continue;
    const SequenceReports rep = write_sequence_reports(dir);
    for (const auto& p : rep.problems) logger().warning("HTML report: {}", p);
    if (!rep.sequence_report.empty())
      *env.out << fmt::format("Sequence report: {} ({} trial report(s))\n",
                              rep.sequence_report.string(), rep.trial_reports);
  }
  env.out->flush();
  BenchmarkResult res;
  res.status = "success";
  res.result_dir = out_dir.string();
  return res;
}

}  // namespace kv::orchestrator::submission
