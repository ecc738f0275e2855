#include "orchestrator/kvcache.hpp"

#include <fmt/format.h>
#include <signal.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "cluster/cluster.hpp"
#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/json_text.hpp"
#include "model/model.hpp"
#include "orchestrator/datasize.hpp"
#include "orchestrator/distributed_results.hpp"
#include "orchestrator/logger.hpp"
#include "orchestrator/metadata.hpp"
#include "orchestrator/reports_cmd.hpp"
#include "orchestrator/runner.hpp"
#include "orchestrator/submission/progress.hpp"
#include "orchestrator/verify.hpp"

namespace kv::orchestrator {

namespace stdfs = std::filesystem;

ChildOutcome classify_child(bool started, int exit_code, int term_signal, int forwarded_signal) {
  if (!started) return {"error", to_int(ExitCode::kFileNotFound)};
  if (forwarded_signal != 0) return {"interrupted", to_int(ExitCode::kInterrupted)};
  if (term_signal == SIGINT || term_signal == SIGTERM || term_signal == SIGHUP)
    return {"interrupted", to_int(ExitCode::kInterrupted)};
  if (term_signal != 0) return {"failed", to_int(ExitCode::kFailure)};
  if (exit_code == 0) return {"success", 0};
  if (exit_code == to_int(ExitCode::kInterrupted)) return {"interrupted", exit_code};
  if (exit_code >= 1 && exit_code <= to_int(ExitCode::kInterrupted)) return {"failed", exit_code};
  return {"failed", to_int(ExitCode::kFailure)};
}

namespace {

// The failure rule (docs/safety.md): the engine fails a run above 1 % failed requests; a CLOSED
// submission may not lose any.
void closed_failure_rule(const Json& results, bool closed, RunRecord& rec) {
  const Json* failed = nullptr;
  if (auto s = results.find("summary"); s != results.end() && s->is_object())
    if (auto f = s->find("failed_requests"); f != s->end() && f->is_number_unsigned()) failed = &*f;
  if (!closed || failed == nullptr || failed->get<std::uint64_t>() == 0 || rec.status != "success")
    return;
  rec.status = "failed";
  rec.exit_code = to_int(ExitCode::kFailure);
  rec.error = std::to_string(failed->get<std::uint64_t>()) +
              " request(s) failed; a CLOSED run may not lose any";
  logger().error("{}", rec.error);
}

// With --open/--closed every issue is shown (STATUS/ERROR); without a submission mode the
// verification is informational and the issues are VERBOSE.
void log_verification(const Verification& v, bool mode_given) {
  for (const auto& i : v.issues) {
    if (i.validation == Category::kInvalid) {
      logger().log(mode_given ? Level::kError : Level::kWarning,
                   fmt::format("INVALID: {}: {}", i.parameter, i.message));
    } else {
      logger().log(mode_given ? Level::kStatus : Level::kVerbose,
                   fmt::format("{}: {}: {}", category_name(i.validation), i.parameter, i.message));
    }
  }
  logger().status("Verification: {}", category_name(v.category));
}

void print_plan(std::ostream& out, const Invocation& inv, const RunPlan& plan,
                const Verification& v) {
  out << "What-if mode: nothing is created or run.\n";
  out << "  result dir:    " << plan.run_dir.string() << "\n";
  out << "  engine:        " << plan.engine.string() << (plan.engine_found ? "" : "  (NOT FOUND)")
      << "\n";
  out << "  cache dir:     " << plan.cache_dir.string()
      << (plan.cache_dir_default ? "  (default)" : "") << "\n";
  out << "  results JSON:  " << plan.results_json.string() << "\n";
  out << "  logs:          " << plan.stdout_log.string() << ", " << plan.stderr_log.string()
      << "\n";
  out << "  metadata:      " << plan.metadata_file.string() << "\n";
  if (plan.use_mpi) {
    out << "  launcher:      " << plan.launcher_argv.front() << " with " << plan.num_processes
        << " process" << (plan.num_processes == 1 ? "" : "es") << "\n";
  } else {
    out << "  launcher:      none (exec type " << inv.kv.exec_type
        << (inv.kv.hosts.empty() ? ", no hosts" : "") << "), engine runs as a local child\n";
  }
  out << "  verification:  " << category_name(v.category);
  if (v.matched_option) out << " (Option " << *v.matched_option << ")";
  out << "\n";
  out << "Command: " << plan.command_line() << "\n";
  out.flush();
}

std::optional<double> num(const Json& j, const char* k) {
  auto it = j.find(k);
  if (it == j.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

Json key_metrics(const Json& m) {
  Json k = Json::object();
  for (const char* name :
       {"total_requests", "total_tokens", "elapsed_time", "avg_throughput_tokens_per_sec",
        "storage_throughput_tokens_per_sec", "requests_per_second", "cache_hit_rate",
        "tier_storage_read_bandwidth_gbps", "tier_storage_write_bandwidth_gbps",
        "storage_read_device_p95_ms", "storage_write_device_p95_ms", "storage_entries",
        "overall_passed", "measured"}) {
    if (auto it = m.find(name); it != m.end()) k[name] = *it;
  }
  if (auto it = m.find("storage_io_latency_ms"); it != m.end() && it->is_object()) {
    if (auto p = num(*it, "p95")) k["storage_io_latency_p95_ms"] = *p;
  }
  for (const char* name : {"num_processes", "host_count", "partial_failure"})
    if (auto it = m.find(name); it != m.end()) k[name] = *it;
  return k;
}

// A multi-rank job: the cluster information every rank collected inside the job replaces the
// launcher-local one; ranks per host go to the metadata; a partial failure fails the run.
void apply_distributed(DistributedResults dr, const RunPlan& plan, RunRecord& rec,
                       const std::vector<std::string>& hosts) {
  if (dr.cluster_info) set_requested_hosts(*dr.cluster_info, hosts);
  Json& m = *rec.metrics;
  m["num_processes"] = dr.rank_count;
  m["host_count"] = dr.host_count;
  m["partial_failure"] = dr.partial_failure;
  if (!dr.mlperf_aggregates.is_null()) m["mlperf_aggregates"] = dr.mlperf_aggregates;
  rec.rank_layout = dr.layout;
  logger().status("MPI job: {} ranks on {} host(s)", dr.rank_count, dr.host_count);
  if (dr.cluster_info) {
    if (auto it = dr.cluster_info->find("host_consistency_issues"); it != dr.cluster_info->end()) {
      for (const auto& s : *it)
        if (s.is_string()) logger().warning("Cluster consistency: {}", s.get<std::string>());
    }
    try {
      kv::fs::atomic_write(plan.cluster_info_file, dr.cluster_info->dump(2) + "\n");
      rec.system_info = *dr.cluster_info;
    } catch (const std::exception& e) {
      logger().warning("Cannot write {}: {}", plan.cluster_info_file.string(), e.what());
    }
  }
  if (dr.partial_failure) {
    for (const auto& f : dr.failures) logger().error("Rank failed: {}", f);
    rec.status = "failed";
    if (rec.exit_code == 0 || rec.exit_code == to_int(ExitCode::kInterrupted))
      rec.exit_code = to_int(ExitCode::kFailure);
    rec.error = partial_failure_message(dr);
    logger().error("{}", rec.error);
  }
}

// A multi-rank job without merged results whose ranks kept their own (rank 0 died): the run
// failed (an interrupted one stays interrupted); the metadata says where each rank's results are.
void keep_rank_results(const KeptRankResults& kept, RunRecord& rec) {
  rec.rank_results = kept_rank_results_json(kept);
  if (rec.status != "interrupted") {
    rec.status = "failed";
    rec.exit_code = to_int(ExitCode::kFailure);
  }
  rec.error = kept_rank_results_message(kept);
  logger().error("No merged results: rank 0 is gone. The other ranks kept their own results:");
  for (const std::string& line : kept_rank_results_lines(kept)) logger().error("  {}", line);
}

void log_metrics(const Json& m) {
  auto show = [&](const char* label, const char* key, const char* unit) {
    if (auto it = m.find(key); it != m.end() && it->is_number_integer())
      logger().result("{}: {}{}", label, it->get<long long>(), unit);
    else if (auto v = num(m, key))
      logger().result("{}: {:.2f}{}", label, *v, unit);
  };
  // Zero completed requests: nothing was measured, so nothing passed and no latency exists.
  const auto measured = m.find("measured");
  const bool none = measured != m.end() && measured->is_boolean() && !measured->get<bool>();
  if (none) {
    logger().warning(
        "No request completed inside the window: this run measured nothing (its latencies are "
        "null, not 0)");
    logger().status("Benchmark result: NOT MEASURED (0 requests completed)");
  } else if (auto it = m.find("storage_health_status"); it != m.end() && it->is_string()) {
    // The engine's storage_health is informational (MLPerf v3.0 does not score it): no "passed".
    logger().status("Storage health (informational, not an MLPerf verdict): {}",
                    it->get<std::string>());
  }
  show("Total requests", "total_requests", "");
  show("Throughput", "avg_throughput_tokens_per_sec", " tokens/s");
  show("Storage throughput", "storage_throughput_tokens_per_sec", " tokens/s");
  show("Storage read bandwidth", "tier_storage_read_bandwidth_gbps", " GiB/s");
  show("Storage write bandwidth", "tier_storage_write_bandwidth_gbps", " GiB/s");
  if (auto it = m.find("end_to_end_latency_ms"); it != m.end() && it->is_object()) {
    if (auto v = num(*it, "mean")) logger().info("Average latency: {:.2f} ms", *v);
    if (auto v = num(*it, "p99")) logger().info("P99 latency: {:.2f} ms", *v);
  }
  for (const auto& [label, key] :
       {std::pair{"Storage read device P95", "storage_read_device_p95_ms"},
        std::pair{"Storage write device P95", "storage_write_device_p95_ms"}}) {
    if (auto it = m.find(key); it != m.end() && it->is_null())
      logger().result("{}: — (no sample)", label);
    else
      show(label, key, " ms");
  }
}

// A run dir must be new; if this second's dir exists (a quick --loops), wait for the next second.
RunPlan fresh_plan(const Invocation& inv, std::string datetime, const Environment& env) {
  RunPlan plan = build_run_plan(inv, datetime, env.plan);
  for (int i = 0; i < 5 && stdfs::exists(plan.run_dir); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    while (datetime_now() == datetime) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    datetime = datetime_now();
    plan = build_run_plan(inv, datetime, env.plan);
  }
  if (stdfs::exists(plan.run_dir)) {
    throw Error(ExitCode::kFailure,
                "--results-dir: run directory " + plan.run_dir.string() + " already exists");
  }
  return plan;
}

}  // namespace

void create_dir(const stdfs::path& p, const std::string& flag) {
  std::error_code ec;
  stdfs::create_directories(p, ec);
  if (ec || !stdfs::is_directory(p)) {
    throw Error(ec == std::errc::permission_denied || ec == std::errc::read_only_file_system
                    ? ExitCode::kPermissionDenied
                    : ExitCode::kFileNotFound,
                flag + ": cannot create directory " + p.string() + ": " +
                    (ec ? ec.message() : "not a directory"));
  }
}
BenchmarkResult kvcache_run_once(const Invocation& inv, const std::string& datetime,
                                 const Environment& env) {
  BenchmarkResult res;
  RunPlan plan = build_run_plan(inv, datetime, env.plan);
  const Verification v = verify(Workload::from_options(inv.kv, plan.cache_dir.string()));
  res.verification = category_name(v.category);
  log_verification(v, inv.uni.open || inv.uni.closed);
  const GateDecision g = gate(v, inv.uni.open, inv.uni.closed, inv.uni.allow_invalid_params);
  if (!g.proceed) {
    logger().error("{}", g.message);
    res.exit_code = to_int(ExitCode::kGeneralError);
    res.status = "aborted";
    return res;
  }
  if (g.warn)
    logger().warning("{}", g.message);
  else
    logger().status("{}", g.message);

  auto problems = preflight_checks(inv, plan, env.preflight);
  const ResourceReport resources =
      check_resources(run_demand(inv, plan, env.preflight.host), env.preflight.host);
  add_resource_problems(resources, inv.uni.skip_validation, problems);
  if (inv.uni.what_if) {
    for (const auto& p : problems) logger().warning("pre-flight: {} (hint: {})", p.message, p.hint);
    logger().info("What-if mode: Command: {}", plan.command_line());
    print_plan(*env.out, inv, plan, v);
    *env.out << render_resource_checks(resources.checks);
    env.out->flush();
    res.status = "what_if";
    return res;
  }
  if (!problems.empty()) {
    for (const auto& p : problems) logger().error("pre-flight: {}", p.message);
    throw Error(problems.front().code, problems.front().message, problems.front().hint);
  }
  if (received_signal() != 0) {
    res.exit_code = to_int(ExitCode::kInterrupted);
    res.status = "interrupted";
    return res;
  }

  plan = fresh_plan(inv, datetime, env);
  create_dir(plan.run_dir, "--results-dir");
  res.result_dir = plan.run_dir.string();
  res.metadata_path = plan.metadata_file.string();

  RunRecord rec;
  rec.start_time = iso_now();
  logger().open_file(plan.log_file.string());
  try {
    create_dir(plan.cache_dir, plan.cache_dir_default ? "--results-dir" : "--cache-dir");
    logger().status("Benchmark results directory: {}", plan.run_dir.string());
    try {
      Json ci = kv::cluster::local_cluster_info(inv.kv.hosts);
      if (auto it = ci.find("host_consistency_issues"); it != ci.end()) {
        for (const auto& s : *it) logger().warning("Cluster consistency: {}", s.get<std::string>());
      }
      kv::fs::atomic_write(plan.cluster_info_file, kv::json_text(ci, 2) + "\n");
      rec.system_info = std::move(ci);
    } catch (const std::exception& e) {
      logger().warning("Cluster information collection failed: {}", e.what());
    }
    logger().status("Running KV Cache benchmark for {}s...", inv.kv.duration);
    logger().status("Model: {}, Users: {}", inv.kv.model, inv.kv.num_users);
    logger().info("Command: {}", plan.command_line());

    ChildSpec spec;
    spec.argv = plan.argv();
    spec.stdout_log = plan.stdout_log;
    spec.stderr_log = plan.stderr_log;
    spec.echo_stdout_fd = env.child_stdout_fd;
    spec.echo_stderr_fd = env.child_stderr_fd;
    // The engine's progress records become mlpstorage's status line (submission/progress.hpp).
    const auto relay = submission::console_relay({1, 0, 1, 0, 0}, env.child_stderr_fd);
    spec.stderr_sink = [&relay](const char* p, std::size_t n) { relay->feed(p, n); };
    spec.grace = env.grace;
    // mpirun forwards SIGUSR1 to every rank: a graceful stop (the engine stops, rank 0 merges and
    // writes); SIGTERM makes mpirun SIGKILL the ranks one second later.
    if (plan.use_mpi) {
      spec.soft_stop_signal = SIGUSR1;
      // When OpenMPI tears a job down (a rank died; mpirun got SIGTERM) the ranks get SIGTERM and,
      // odls_base_sigkill_timeout (default 1 s) later, SIGKILL: 2 s give rank 0 more time to merge
      // and write the results, and the whole teardown (2 x 2 s) still ends within our 5 s grace.
      ::setenv("OMPI_MCA_odls_base_sigkill_timeout", "2", /*overwrite=*/0);
      // Open MPI's orted exports its hwloc topology into a shared-memory segment at a guessed
      // virtual-memory hole; that path crashed orted in hwloc_shmem_topology_write now and then.
      // "none" turns the export off (the ranks read the topology themselves). Reaches the daemons
      // mpirun starts on this host; remote hosts need
      // --mpi-params "--mca rtc_hwloc_vmhole none".
      ::setenv("OMPI_MCA_rtc_hwloc_vmhole", "none", /*overwrite=*/0);
    }
    ChildResult cr = run_child(spec);
    relay->finish();
    rec.logs_written = true;
    rec.runtime_s = cr.runtime_s;
    const ChildOutcome oc =
        classify_child(cr.started, cr.exit_code, cr.term_signal, cr.forwarded_signal);
    rec.status = oc.status;
    rec.exit_code = oc.exit_code;
    if (!cr.started) {
      rec.error = "cannot execute '" + spec.argv.front() + "': " + std::strerror(cr.spawn_errno);
      logger().error("{}", rec.error);
    } else {
      if (cr.exit_code >= 0) rec.child_exit_code = cr.exit_code;
      if (cr.term_signal != 0) rec.child_signal = cr.term_signal;
      if (cr.forwarded_signal != 0) {
        logger().warning("Received signal {} ({}); the engine was stopped{}",
                         strsignal(cr.forwarded_signal), cr.forwarded_signal,
                         cr.killed_after_grace ? " with SIGKILL after the grace period" : "");
        rec.error = std::string("interrupted by ") + strsignal(cr.forwarded_signal);
      } else if (oc.status != "success") {
        rec.error = cr.term_signal != 0
                        ? std::string("engine killed by signal ") + strsignal(cr.term_signal)
                        : "engine exited with status " + std::to_string(cr.exit_code);
        logger().error("{} (see {})", rec.error, plan.stderr_log.string());
      }
    }
    if (stdfs::exists(plan.results_json)) {
      try {
        Json results = Json::parse(kv::fs::read_file(plan.results_json, "results JSON"));
        rec.metrics = extract_metrics(results);
        (*rec.metrics)["results_file"] = plan.results_json.string();
        (*rec.metrics)["num_processes"] = plan.num_processes;
        if (auto dr = distributed_results(results)) apply_distributed(*dr, plan, rec, inv.kv.hosts);
        log_metrics(*rec.metrics);
        if (apply_nothing_measured_rule(results, rec.status, rec.exit_code, rec.error))
          logger().error("Run failed: {}", rec.error);
        closed_failure_rule(results, inv.uni.closed, rec);
      } catch (const std::exception& e) {
        logger().warning("Failed to process results {}: {}", plan.results_json.string(), e.what());
      }
    } else if (auto kept = kept_rank_results(plan.results_json, read_engine_stderr(plan.stderr_log),
                                             plan.num_processes);
               !kept.empty()) {
      keep_rank_results(kept, rec);
    } else if (oc.status == "success") {
      logger().warning("Results file not found: {}", plan.results_json.string());
    }
  } catch (const Error& e) {
    rec.status = "error";
    rec.exit_code = to_int(e.code());
    rec.error = e.what();
    logger().error("{}", e.describe());
  }
  rec.end_time = iso_now();
  res.exit_code = rec.exit_code;
  res.status = rec.status;
  if (rec.metrics) {
    res.metrics = key_metrics(*rec.metrics);
    res.read_gibps = num(*rec.metrics, "tier_storage_read_bandwidth_gbps");
    res.write_gibps = num(*rec.metrics, "tier_storage_write_bandwidth_gbps");
  }
  try {
    const Json md = build_run_metadata(inv, plan, v, rec);
    logger().status("Writing metadata for benchmark to: {}", plan.metadata_file.string());
    kv::fs::atomic_write(plan.metadata_file, kv::json_text(md, 2) + "\n");
    if (inv.uni.verbose || inv.uni.debug) *env.out << kv::json_text(md, 2) << "\n";
    if (stdfs::exists(plan.results_json))
      write_run_report(plan.results_json, md, plan.run_dir, plan.datetime);
  } catch (const Error& e) {
    logger().error("{}", e.describe());
    if (res.exit_code == 0) res.exit_code = to_int(e.code());
    res.status = res.status == "success" ? "error" : res.status;
  }
  logger().close_file();
  return res;
}

BenchmarkResult kvcache_datasize_once(const Invocation& inv, const std::string& datetime,
                                      const Environment& env) {
  BenchmarkResult res;
  const auto table = kv::model::ModelTable::builtin();
  const auto& model = table.get(inv.kv.model, "--model");
  logger().status("Calculating KV Cache memory requirements...");
  const DatasizeEstimate est =
      estimate_datasize(model, inv.kv.num_users, inv.kv.gpu_mem_gb, inv.kv.cpu_mem_gb);
  *env.out << est.render();
  env.out->flush();
  res.status = "success";
  if (inv.uni.what_if) {
    res.status = "what_if";
    return res;
  }
  if (inv.uni.results_dir_given) {
    const stdfs::path run_dir =
        run_dir_for(inv.uni.results_dir, inv.kv.model, inv.command, datetime);
    if (auto why = creatable_dir_problem(run_dir.string()); !why.empty()) {
      throw Error(ExitCode::kPermissionDenied,
                  "--results-dir: cannot create " + run_dir.string() + ": " + why);
    }
    create_dir(run_dir, "--results-dir");
    const stdfs::path md_path = run_dir / ("kv_cache_" + datetime + "_metadata.json");
    kv::fs::atomic_write(
        md_path,
        kv::json_text(build_datasize_metadata(inv, datetime, run_dir.string(), est.to_json()), 2) +
            "\n");
    logger().status("Wrote {}", md_path.string());
    res.result_dir = run_dir.string();
    res.metadata_path = md_path.string();
  }
  return res;
}

BenchmarkResult run_kvcache_command(const Invocation& inv, const std::string& first_datetime,
                                    const Environment& env) {
  BenchmarkResult last;
  const bool is_run = inv.command == "run";
  for (int i = 0; i < inv.uni.loops; ++i) {
    if (received_signal() != 0) {
      last.exit_code = to_int(ExitCode::kInterrupted);
      last.status = "interrupted";
      return last;
    }
    const std::string dt = i == 0 ? first_datetime : datetime_now();
    if (inv.uni.loops > 1) logger().status("Iteration {} of {}", i + 1, inv.uni.loops);
    last = is_run ? kvcache_run_once(inv, dt, env) : kvcache_datasize_once(inv, dt, env);
    if (last.exit_code != 0) {
      if (inv.uni.loops > 1) logger().error("Benchmark failed after {} iterations", i + 1);
      return last;
    }
  }
  return last;
}

}  // namespace kv::orchestrator
