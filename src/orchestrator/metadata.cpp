#include "orchestrator/metadata.hpp"

#include <unistd.h>

#include <ctime>
#include <filesystem>

#include "core/error.hpp"
#include "core/version.hpp"
#include "engine_cli/outcome.hpp"

namespace kv::orchestrator {

std::string iso_now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::localtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S%z", &tm);
  return buf;
}

bool results_measured(const Json& results) {
  if (!results.is_object()) return false;
  auto s = results.find("summary");
  if (s == results.end() || !s->is_object()) return false;
  auto n = s->find("total_requests");
  return n != s->end() && n->is_number() && n->get<double>() > 0;
}

bool apply_nothing_measured_rule(const Json& results, std::string& status, int& exit_code,
                                 std::string& error) {
  const int failure = to_int(ExitCode::kFailure);
  if (!(status == "success" || status == "failed") || (exit_code != 0 && exit_code != failure))
    return false;
  if (results.is_object() && results.value("partial_failure", false)) return false;
  const std::optional<std::string> why = engine_cli::nothing_measured(results);
  if (!why) return false;
  status = "failed";
  exit_code = failure;
  error = *why;
  return true;
}

Json extract_metrics(const Json& results) {
  Json m = Json::object();
  if (!results.is_object()) return m;
  auto s = results.find("summary");
  if (s == results.end() || !s->is_object()) return m;
  const Json& summary = *s;
  m["measured"] = results_measured(results);
  for (const char* k :
       {"total_requests", "total_tokens", "elapsed_time", "avg_throughput_tokens_per_sec",
        "storage_throughput_tokens_per_sec", "requests_per_second", "total_storage_io_time"}) {
    if (auto it = summary.find(k); it != summary.end() && !it->is_structured()) m[k] = *it;
  }
  for (const char* k :
       {"end_to_end_latency_ms", "storage_io_latency_ms", "generation_latency_ms"}) {
    if (auto it = summary.find(k); it != summary.end() && it->is_object()) m[k] = *it;
  }
  if (auto cs = summary.find("cache_stats"); cs != summary.end() && cs->is_object()) {
    for (auto it = cs->begin(); it != cs->end(); ++it) {
      if (!it->is_structured()) m[it.key()] = *it;
    }
    if (auto h = cs->find("storage_health"); h != cs->end() && h->is_object()) {
      if (auto st = h->find("overall_status"); st != h->end() && st->is_string()) {
        m["storage_health_status"] = *st;
        // Storage health is informational; a run that completed nothing never "passed".
        m["overall_passed"] = st->get<std::string>() == "PASS" && results_measured(results);
      }
    }
  }
  if (auto mt = summary.find("multi_turn_stats"); mt != summary.end() && mt->is_object()) {
    if (auto hr = mt->find("hit_rate"); hr != mt->end() && hr->is_number())
      m["multi_turn_hit_rate"] = *hr;
  }
  if (auto q = summary.find("qos_metrics"); q != summary.end() && q->is_object())
    m["qos_metrics"] = *q;
  return m;
}

Json build_run_metadata(const Invocation& inv, const RunPlan& plan, const Verification& v,
                        const RunRecord& rec) {
  const KvcacheOptions& kv = inv.kv;
  Json md = Json::object();
  md["benchmark_type"] = "kv_cache";
  md["model"] = kv.model;
  md["command"] = inv.command;
  md["run_datetime"] = plan.datetime;
  md["num_processes"] = kv.num_processes ? Json(*kv.num_processes) : Json(nullptr);
  md["accelerator"] = nullptr;
  md["result_dir"] = plan.run_dir.string();
  md["parameters"] = Workload::from_options(kv, plan.cache_dir.string()).to_parameters();
  md["override_parameters"] = Json::object();
  md["system_info"] = rec.system_info ? *rec.system_info : Json(nullptr);
  md["runtime"] = rec.runtime_s;
  md["verification"] = category_name(v.category);
  md["executed_command"] = plan.command_line();
  Json files = Json::array();
  if (rec.logs_written) {
    files.push_back(Json{{"command", plan.command_line()},
                         {"stdout", plan.stdout_log.string()},
                         {"stderr", plan.stderr_log.string()}});
  }
  md["command_output_files"] = std::move(files);
  md["args"] = inv.args_json();
  md["kvcache_model"] = kv.model;
  md["num_users"] = kv.num_users;
  md["duration"] = kv.duration;
  md["gpu_mem_gb"] = kv.gpu_mem_gb;
  md["cpu_mem_gb"] = kv.cpu_mem_gb;
  md["cache_dir"] = kv.cache_dir.empty() ? Json(nullptr) : Json(kv.cache_dir);
  md["generation_mode"] = kv.generation_mode;
  md["performance_profile"] = kv.performance_profile;
  if (!kv.exec_type.empty()) md["exec_type"] = kv.exec_type;
  if (!kv.hosts.empty()) md["hosts"] = kv.hosts;
  if (rec.metrics) md["kvcache_metrics"] = *rec.metrics;
  if (rec.rank_layout) md["rank_layout"] = *rec.rank_layout;
  if (rec.rank_results) md["rank_results"] = *rec.rank_results;

  md["schema_version"] = kMetadataSchemaVersion;
  md["mlpstorage_version"] = kVersion;
  md["program"] = inv.program;
  md["status"] = rec.status;
  md["exit_code"] = rec.exit_code;
  md["child_exit_code"] = rec.child_exit_code ? Json(*rec.child_exit_code) : Json(nullptr);
  md["child_signal"] = rec.child_signal ? Json(*rec.child_signal) : Json(nullptr);
  md["error"] = rec.error.empty() ? Json(nullptr) : Json(rec.error);
  md["start_time"] = rec.start_time;
  md["end_time"] = rec.end_time;
  md["argv"] = inv.argv;
  std::error_code ec;
  md["cwd"] = std::filesystem::current_path(ec).string();
  md["executed_argv"] = plan.argv();
  md["engine"] = plan.engine.string();
  md["num_ranks"] = plan.num_processes;
  md["resolved_cache_dir"] = plan.cache_dir.string();
  md["results_file"] = plan.results_json.string();
  md["verification_issues"] = v.issues_json();
  md["matched_option"] = v.matched_option ? Json(*v.matched_option) : Json(nullptr);
  return md;
}

Json build_datasize_metadata(const Invocation& inv, const std::string& datetime,
                             const std::string& run_dir, const Json& estimate) {
  const KvcacheOptions& kv = inv.kv;
  Json md = Json::object();
  md["benchmark_type"] = "kv_cache";
  md["model"] = kv.model;
  md["command"] = inv.command;
  md["run_datetime"] = datetime;
  md["num_processes"] = nullptr;
  md["accelerator"] = nullptr;
  md["result_dir"] = run_dir;
  md["parameters"] = Json{{"benchmark_type", "kv_cache"},
                          {"model", kv.model},
                          {"num_users", kv.num_users},
                          {"gpu_mem_gb", kv.gpu_mem_gb},
                          {"cpu_mem_gb", kv.cpu_mem_gb}};
  md["override_parameters"] = Json::object();
  md["system_info"] = nullptr;
  md["runtime"] = 0.0;
  md["verification"] = nullptr;
  md["executed_command"] = nullptr;
  md["command_output_files"] = Json::array();
  md["args"] = inv.args_json();
  md["kvcache_model"] = kv.model;
  md["num_users"] = kv.num_users;
  md["gpu_mem_gb"] = kv.gpu_mem_gb;
  md["cpu_mem_gb"] = kv.cpu_mem_gb;
  md["cache_dir"] = kv.cache_dir.empty() ? Json(nullptr) : Json(kv.cache_dir);
  // Note 03-03 lists these for every kvcache metadata; datasize has no such flags, so the values
  // are the defaults a run would use.
  md["duration"] = kv.duration;
  md["generation_mode"] = kv.generation_mode;
  md["performance_profile"] = kv.performance_profile;
  md["schema_version"] = kMetadataSchemaVersion;
  md["mlpstorage_version"] = kVersion;
  md["program"] = inv.program;
  md["status"] = "success";
  md["exit_code"] = 0;
  md["argv"] = inv.argv;
  md["datasize"] = estimate;
  return md;
}

}  // namespace kv::orchestrator
