#include "orchestrator/submission/sequence.hpp"

#include <fmt/format.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "cluster/cluster.hpp"
#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/units.hpp"
#include "core/version.hpp"
#include "history/history.hpp"
#include "orchestrator/cli.hpp"
#include "orchestrator/datasize.hpp"
#include "orchestrator/distributed_results.hpp"
#include "orchestrator/logger.hpp"
#include "orchestrator/metadata.hpp"
#include "orchestrator/preflight.hpp"
#include "orchestrator/runner.hpp"
#include "orchestrator/submission/init.hpp"
#include "orchestrator/submission/progress.hpp"
#include "orchestrator/submission/run_summary.hpp"
#include "orchestrator/submission/sequence_plan.hpp"
#include "orchestrator/submission/sequence_report.hpp"
#include "orchestrator/verify.hpp"

namespace kv::orchestrator::submission {

namespace stdfs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

// Flags that may accompany --resume (they change how mlpstorage talks, not what runs).
bool resume_compatible(const std::string& flag) {
  return flag == "--resume" || flag == "--debug" || flag == "--verbose" ||
         flag == "--stream-log-level" || flag == "--history-db" || flag == "--skip-validation" ||
         flag == "--help";
}

// Sleeps `seconds`, waking early on SIGINT/SIGTERM. Returns false when interrupted.
bool interruptible_sleep(double seconds) {
  const auto end = Clock::now() + std::chrono::duration<double>(seconds);
  while (Clock::now() < end) {
    if (received_signal() != 0) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return received_signal() == 0;
}

std::optional<Json> read_json(const stdfs::path& p) {
  std::error_code ec;
  if (!stdfs::is_regular_file(p, ec)) return std::nullopt;
  try {
    return Json::parse(kv::fs::read_file(p, "JSON"));
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

bool same_filesystem(const stdfs::path& a, const stdfs::path& b) {
  struct stat sa {
  }, sb{};
  if (::stat(existing_ancestor(a).c_str(), &sa) != 0) return false;
  if (::stat(existing_ancestor(b).c_str(), &sb) != 0) return false;
  return sa.st_dev == sb.st_dev;
}

// The engine's `--version` line, empty when it does not run.
std::string engine_version(const stdfs::path& engine) {
  ChildSpec spec;
  spec.argv = {engine.string(), "--version"};
  spec.echo_stdout_fd = -1;
  spec.echo_stderr_fd = -1;
  std::string out;
  spec.stderr_sink = [](const char*, std::size_t) {};
  const stdfs::path tmp =
      stdfs::temp_directory_path() / fmt::format("mlpstorage_version_{}.txt", ::getpid());
  spec.stdout_log = tmp;
  ChildResult r = run_child(spec);
  std::error_code ec;
  if (r.started && r.exit_code == 0) {
    std::ifstream in(tmp);
    std::getline(in, out);
  }
  stdfs::remove(tmp, ec);
  return out;
}

Workload workload_of(const OptionParams& o, const Invocation& inv, const SequenceSettings& st) {
  return Workload::from_options(option_engine_options(inv, o, st.seed), "");
}

// What really ran in a trial, from a client's own results file (`config`, `seed`).
std::optional<Workload> workload_that_ran(const stdfs::path& rank_file, const Workload& planned) {
  auto doc = read_json(rank_file);
  if (!doc || !doc->is_object()) return std::nullopt;
  auto cfg = doc->find("config");
  if (cfg == doc->end() || !cfg->is_object()) return std::nullopt;
  Workload w = planned;
  const Json& c = *cfg;
  w.model = c.value("model", w.model);
  w.num_users = c.value("num_users", w.num_users);
  w.duration = c.value("duration", w.duration);
  w.gpu_mem_gb = c.value("gpu_mem_gb", w.gpu_mem_gb);
  w.cpu_mem_gb = c.value("cpu_mem_gb", w.cpu_mem_gb);
  w.generation_mode = c.value("generation_mode", w.generation_mode);
  w.performance_profile = c.value("performance_profile", w.performance_profile);
  w.max_concurrent_allocs = c.value("max_concurrent_allocs", w.max_concurrent_allocs);
  w.disable_multi_turn = !c.value("multi_turn", !w.disable_multi_turn);
  w.disable_prefix_caching = !c.value("prefix_caching", !w.disable_prefix_caching);
  if (auto d = doc->find("distributed"); d != doc->end() && d->is_object()) {
    if (auto b = d->find("base_seed"); b != d->end() && b->is_number_integer())
      w.seed = b->get<std::int64_t>();
  } else if (auto s = doc->find("seed"); s != doc->end() && s->is_number_integer()) {
    w.seed = s->get<std::int64_t>();  // one client: seed = base + 0
  }
  return w;
}

Category worse(Category a, Category b) {
  auto rank = [](Category c) { return c == Category::kInvalid ? 2 : c == Category::kOpen ? 1 : 0; };
  return rank(a) >= rank(b) ? a : b;
}

struct Verdict {
  Category category = Category::kClosed;
  Json reasons = Json::array();  // [{option?, trial?, validation, parameter, message, …}]
  void add(Category c, Json reason) {
    category = worse(category, c);
    reasons.push_back(std::move(reason));
  }
  void add_issues(const Verification& v, int option, std::optional<int> trial) {
    for (const auto& i : v.issues) {
      if (i.validation == Category::kClosed) continue;
      Json r = i.to_json();
      r["option"] = option;
      if (trial) r["trial"] = *trial;
      add(i.validation, std::move(r));
    }
  }
};

// Verification of the configuration before anything runs.
Verdict verify_configuration(const Invocation& inv, const SequencePlan& plan, bool same_fs) {
  Verdict v;
  for (const auto& o : plan.options) {
    const Verification ver = verify(workload_of(o, inv, plan.settings));
    v.add_issues(ver, o.option, std::nullopt);
    if (ver.category == Category::kClosed && ver.matched_option != o.option) {
      v.add(Category::kOpen, Json{{"option", o.option},
                                  {"validation", "OPEN"},
                                  {"parameter", "official_option"},
                                  {"message", fmt::format("option {} runs the parameters of "
                                                          "option {}",
                                                          o.option, *ver.matched_option)}});
    }
  }
  if (same_fs) {
    const Category c = inv.seq.division == "closed" ? Category::kInvalid : Category::kOpen;
    v.add(c, Json{{"validation", category_name(c)},
                  {"parameter", "cache_dir"},
                  {"message",
                   "--results-dir and --cache-dir are on the same filesystem; the "
                   "cache must be on the storage under test and the results elsewhere"},
                  {"expected", "different filesystems"},
                  {"actual", plan.cache_dir.string()}});
  }
  if (inv.seq.division != "closed" && v.category == Category::kClosed) {
    v.category = Category::kOpen;  // an OPEN submission is OPEN even with table values
  }
  return v;
}

struct TrialOutcome {
  std::string status;  // success | failed | interrupted | error
  int exit_code = 0;
  Json record = Json::object();
};

bool finished(const std::string& status) {
  return status == "success" || status == "failed";
}

// Moves the engine's per-rank files (<stem>_rank<r>.json next to --output) into rank_<r>/; with one
// client its results file is linked there. Returns the rank files present.
Json place_rank_files(const TrialPlan& t, int ranks, const std::string& dt) {
  Json files = Json::array();
  std::error_code ec;
  for (int r = 0; r < ranks; ++r) {
    const stdfs::path dst = t.rank_results(r, dt);
    stdfs::create_directories(dst.parent_path(), ec);
    if (ranks == 1) {
      if (!stdfs::exists(t.merged_results, ec)) continue;
      stdfs::remove(dst, ec);
      stdfs::create_hard_link(t.merged_results, dst, ec);
      if (ec) stdfs::copy_file(t.merged_results, dst, stdfs::copy_options::overwrite_existing, ec);
    } else {
      stdfs::path src = t.merged_results;
      src.replace_filename(t.merged_results.stem().string() + "_rank" + std::to_string(r) +
                           t.merged_results.extension().string());
      if (!stdfs::exists(src, ec)) continue;
      stdfs::rename(src, dst, ec);
    }
    if (stdfs::exists(dst, ec)) files.push_back(dst.string());
  }
  return files;
}

class SequenceRun {
 public:
  SequenceRun(const Invocation& inv, SequencePlan plan, const Environment& env)
      : inv_(inv), plan_(std::move(plan)), env_(env) {}

  BenchmarkResult run(const Verdict& configured);

 private:
  TrialOutcome run_trial(const TrialPlan& t, std::size_t index);
  double remaining_after(std::size_t index) const;
  Json build_metadata() const;
  void write_metadata();
  void write_summary(bool final);
  void write_reports(std::optional<std::pair<int, int>> only_trial);
  void verify_what_ran();

  const Invocation& inv_;
  SequencePlan plan_;
  const Environment& env_;
  std::vector<Json> records_;  // per trial (null until it ran)
  Verdict verdict_;
  Json summary_;
  std::string status_ = "running";
  int exit_code_ = 0;
  std::string error_;
  std::string start_time_ = iso_now();
  std::string end_time_;
  double runtime_s_ = 0;
  std::optional<Json> system_info_;
  bool system_info_multi_ = false;  // from the engine's in-job collection (every rank's host)
};

double SequenceRun::remaining_after(std::size_t index) const {
  double s = plan_.settings.settle;
  for (std::size_t i = index + 1; i < plan_.trials.size(); ++i) {
    const auto& t = plan_.trials[i];
    s += plan_.options[static_cast<std::size_t>(t.option - 1)].duration +
         2.0 * plan_.settings.settle;
    if (t.trial == 0) s += plan_.settings.inter_option_delay;
  }
  return s;
}

TrialOutcome SequenceRun::run_trial(const TrialPlan& t, std::size_t index) {
  TrialOutcome out;
  const std::string dt = plan_.datetime;
  const int ranks = plan_.layout.total_ranks;
  create_dir(t.dir, "--results-dir");
  Json rec = Json::object();
  rec["option"] = t.option;
  rec["trial"] = t.trial;
  rec["status"] = "running";
  rec["start_time"] = iso_now();
  rec["argv"] = t.argv();
  rec["command"] = kv::history::display_command(t.argv());
  rec["total_ranks"] = ranks;
  rec["base_seed"] = plan_.settings.seed;
  rec["settle_s"] = plan_.settings.settle;
  kv::fs::atomic_write(t.record, rec.dump(2) + "\n");

  logger().status("Option {}/{} ({}), trial {}/{}: {} client(s), {} s", t.option, kNumOptions,
                  plan_.options[static_cast<std::size_t>(t.option - 1)].name, t.trial + 1,
                  plan_.settings.trials, ranks,
                  plan_.options[static_cast<std::size_t>(t.option - 1)].duration);
  logger().info("Command: {}", rec["command"].get<std::string>());

  SequencePosition pos;
  pos.option = t.option;
  pos.options = kNumOptions;
  pos.trial = t.trial + 1;
  pos.trials = plan_.settings.trials;
  pos.remaining_after_s = remaining_after(index);
  const int err_fd = env_.child_stderr_fd;
  const std::unique_ptr<ProgressRelay> relay = console_relay(pos, err_fd);

  ChildSpec spec;
  spec.argv = t.argv();
  spec.stdout_log = t.stdout_log;
  spec.stderr_log = t.stderr_log;
  spec.echo_stdout_fd = env_.child_stdout_fd;
  spec.echo_stderr_fd = err_fd;
  spec.stderr_sink = [&relay](const char* p, std::size_t n) { relay->feed(p, n); };
  spec.grace = env_.grace;
  if (plan_.use_mpi) {
    spec.soft_stop_signal = SIGUSR1;
    ::setenv("OMPI_MCA_odls_base_sigkill_timeout", "2", /*overwrite=*/0);
  }
  ChildResult cr = run_child(spec);
  relay->finish();
  const ChildOutcome oc =
      classify_child(cr.started, cr.exit_code, cr.term_signal, cr.forwarded_signal);
  out.status = oc.status;
  out.exit_code = oc.exit_code;
  std::string error;
  if (!cr.started) {
    error = "cannot execute '" + spec.argv.front() + "': " + std::strerror(cr.spawn_errno);
  } else if (cr.forwarded_signal != 0) {
    error = std::string("interrupted by ") + strsignal(cr.forwarded_signal);
  } else if (oc.status != "success") {
    error = cr.term_signal != 0 ? std::string("killed by signal ") + strsignal(cr.term_signal)
                                : "exited with status " + std::to_string(cr.exit_code);
  }
  // Rank 0 died: no merged results; the ranks that outlived it kept their own (found before
  // place_rank_files moves those on this host into rank_<r>/).
  KeptRankResults kept;
  if (!stdfs::exists(t.merged_results))
    kept = kept_rank_results(t.merged_results, read_engine_stderr(t.stderr_log), ranks);
  rec["rank_files"] = place_rank_files(t, ranks, dt);
  if (!kept.empty()) {
    for (KeptRankFile& f : kept.files) {
      std::error_code ec;
      if (f.on_this_host && !stdfs::exists(f.path, ec) &&
          stdfs::exists(t.rank_results(f.rank, dt), ec))
        f.path = t.rank_results(f.rank, dt).string();
    }
    rec["rank_results"] = kept_rank_results_json(kept);
    if (out.status != "interrupted") {
      out.status = "failed";
      out.exit_code = to_int(ExitCode::kFailure);
    }
    error = kept_rank_results_message(kept);
  } else if (auto merged = read_json(t.merged_results)) {
    rec["results_file"] = t.merged_results.string();
    if (merged->value("interrupted", false) && out.status == "success") out.status = "interrupted";
    if (auto dr = distributed_results(*merged)) {
      rec["rank_layout"] = dr->layout;
      if (!system_info_multi_ && dr->cluster_info) {
        system_info_ = *dr->cluster_info;
        set_requested_hosts(*system_info_, inv_.kv.hosts);
        system_info_multi_ = true;
        try {
          kv::fs::atomic_write(plan_.cluster_info_file, system_info_->dump(2) + "\n");
        } catch (const std::exception& e) {
          logger().warning("Cannot write {}: {}", plan_.cluster_info_file.string(), e.what());
        }
      }
      if (dr->partial_failure && out.status == "success") {
        out.status = "failed";
        out.exit_code = to_int(ExitCode::kFailure);
        error = partial_failure_message(*dr);
      }
    }
    apply_nothing_measured_rule(*merged, out.status, out.exit_code, error);  // failed, with why
  } else if (out.status == "success") {
    out.status = "failed";
    out.exit_code = to_int(ExitCode::kFailure);
    error = "results file not written: " + t.merged_results.string();
  }
  if (!error.empty()) {
    if (out.status == "interrupted")
      logger().warning("Option {} trial {}: {}", t.option, t.trial + 1, error);
    else
      logger().error("Option {} trial {} failed: {} (see {})", t.option, t.trial + 1, error,
                     t.stderr_log.string());
  }
  rec["status"] = out.status;
  rec["exit_code"] = out.exit_code;
  rec["child_exit_code"] = cr.exit_code >= 0 ? Json(cr.exit_code) : Json(nullptr);
  rec["child_signal"] = cr.term_signal != 0 ? Json(cr.term_signal) : Json(nullptr);
  rec["error"] = error.empty() ? Json(nullptr) : Json(error);
  rec["end_time"] = iso_now();
  rec["runtime_s"] = cr.runtime_s;
  rec["stdout_log"] = t.stdout_log.string();
  rec["stderr_log"] = t.stderr_log.string();
  kv::fs::atomic_write(t.record, rec.dump(2) + "\n");
  out.record = std::move(rec);
  return out;
}

void SequenceRun::verify_what_ran() {
  for (std::size_t i = 0; i < plan_.trials.size(); ++i) {
    const TrialPlan& t = plan_.trials[i];
    const Json& rec = records_[i];
    const OptionParams& o = plan_.options[static_cast<std::size_t>(t.option - 1)];
    if (rec.is_null() || !finished(rec.value("status", std::string()))) {
      verdict_.add(inv_.seq.division == "closed" ? Category::kInvalid : Category::kOpen,
                   Json{{"option", t.option},
                        {"trial", t.trial},
                        {"validation", inv_.seq.division == "closed" ? "INVALID" : "OPEN"},
                        {"parameter", "trials"},
                        {"message", "trial did not run to the end"}});
      continue;
    }
    const Workload planned = workload_of(o, inv_, plan_.settings);
    auto ran = workload_that_ran(t.rank_results(0, plan_.datetime), planned);
    if (!ran) continue;  // a missing file is a partial failure, reported by the summary
    const Verification v = verify(*ran);
    verdict_.add_issues(v, t.option, t.trial);
    if (inv_.seq.division == "closed" && v.matched_option != o.option) {
      verdict_.add(Category::kInvalid,
                   Json{{"option", t.option},
                        {"trial", t.trial},
                        {"validation", "INVALID"},
                        {"parameter", "official_option"},
                        {"message", fmt::format("the parameters that ran are not Table "
                                                "KVCache-1 option {}",
                                                o.option)}});
    }
  }
}

void SequenceRun::write_summary(bool final) {
  std::vector<Json> options;
  for (int o = 1; o <= kNumOptions; ++o) {
    std::vector<TrialInput> inputs;
    for (std::size_t i = 0; i < plan_.trials.size(); ++i) {
      const TrialPlan& t = plan_.trials[i];
      if (t.option != o || records_[i].is_null()) continue;
      const std::string st = records_[i].value("status", std::string());
      if (!finished(st)) continue;
      inputs.push_back(TrialInput{t.trial, t.dir, st});
    }
    if (!inputs.empty()) options.push_back(summarize_option(o, inputs, plan_.layout.total_ranks));
  }
  SummaryHeader h;
  h.run_datetime = plan_.datetime;
  h.npernode = plan_.layout.npernode;
  h.host_count = plan_.layout.host_count;
  h.total_ranks = plan_.layout.total_ranks;
  h.trials_per_option = plan_.settings.trials;
  summary_ = build_run_summary(h, options);
  summary_["division"] = plan_.division;
  summary_["verification"] = category_name(verdict_.category);
  summary_["verification_reasons"] = verdict_.reasons;
  kv::fs::atomic_write(plan_.summary_file, summary_.dump(2) + "\n");
  if (final) logger().status("Run summary written to: {}", plan_.summary_file.string());
}

void SequenceRun::write_reports(std::optional<std::pair<int, int>> only_trial) {
  const SequenceReports r = write_sequence_reports(plan_.run_dir, only_trial);
  for (const auto& p : r.problems) logger().warning("HTML report: {}", p);
  if (!only_trial && !r.sequence_report.empty())
    logger().status("Sequence report: {}", r.sequence_report.string());
}

Json SequenceRun::build_metadata() const {
  const KvcacheOptions& kv = inv_.kv;
  Json md = Json::object();
  const OptionParams& first = plan_.options[0];
  md["benchmark_type"] = "kv_cache";
  md["model"] = plan_.run_dir.parent_path().parent_path().filename().string();
  md["command"] = "run";
  md["run_datetime"] = plan_.datetime;
  md["num_processes"] = plan_.layout.total_ranks;
  md["accelerator"] = nullptr;
  md["result_dir"] = plan_.run_dir.string();
  Json params = workload_of(first, inv_, plan_.settings).to_parameters();
  params["cache_dir"] = plan_.cache_dir.string();
  Json opts = Json::object();
  for (const auto& o : plan_.options) {
    opts[std::to_string(o.option)] = Json{{"name", o.name},
                                          {"model", o.model},
                                          {"num_users", o.num_users},
                                          {"duration", o.duration},
                                          {"gpu_mem_gb", o.gpu_mem_gb},
                                          {"cpu_mem_gb", o.cpu_mem_gb},
                                          {"max_concurrent_allocs", o.max_concurrent_allocs},
                                          {"generation_mode", o.generation_mode}};
  }
  params["options"] = opts;
  md["parameters"] = std::move(params);
  md["override_parameters"] = Json::object();
  md["system_info"] = system_info_ ? *system_info_ : Json(nullptr);
  md["runtime"] = runtime_s_;
  md["verification"] = category_name(verdict_.category);
  md["executed_command"] = plan_.trials.empty()
                               ? Json(nullptr)
                               : Json(kv::history::display_command(plan_.trials.front().argv()));
  Json files = Json::array();
  for (std::size_t i = 0; i < plan_.trials.size(); ++i) {
    if (records_[i].is_null()) continue;
    files.push_back(Json{{"command", records_[i].value("command", std::string())},
                         {"stdout", plan_.trials[i].stdout_log.string()},
                         {"stderr", plan_.trials[i].stderr_log.string()}});
  }
  md["command_output_files"] = std::move(files);
  md["args"] = inv_.args_json();
  md["kvcache_model"] = md["model"];
  md["num_users"] = first.num_users;
  md["duration"] = first.duration;
  md["gpu_mem_gb"] = first.gpu_mem_gb;
  md["cpu_mem_gb"] = first.cpu_mem_gb;
  md["cache_dir"] = kv.cache_dir.empty() ? Json(nullptr) : Json(kv.cache_dir);
  md["generation_mode"] = first.generation_mode;
  md["performance_profile"] = kv.performance_profile;
  md["exec_type"] = kv.exec_type;
  if (!kv.hosts.empty()) md["hosts"] = kv.hosts;
  md["metrics"] = flat_metrics(summary_);
  if (summary_.is_object() && summary_.contains("options"))
    md["kvcache_metrics"] = summary_["options"];

  md["schema_version"] = kMetadataSchemaVersion;
  md["mlpstorage_version"] = kVersion;
  md["program"] = inv_.program;
  md["status"] = status_;
  md["exit_code"] = exit_code_;
  md["error"] = error_.empty() ? Json(nullptr) : Json(error_);
  md["start_time"] = start_time_;
  md["end_time"] = end_time_.empty() ? Json(nullptr) : Json(end_time_);
  md["argv"] = inv_.argv;
  std::error_code ec;
  md["cwd"] = stdfs::current_path(ec).string();
  md["engine"] = plan_.engine.string();
  md["num_ranks"] = plan_.layout.total_ranks;
  md["resolved_cache_dir"] = plan_.cache_dir.string();
  md["verification_issues"] = verdict_.reasons;

  int done = 0;
  Json trials = Json::array();
  for (std::size_t i = 0; i < plan_.trials.size(); ++i) {
    const TrialPlan& t = plan_.trials[i];
    const Json& r = records_[i];
    const std::string st = r.is_null() ? "pending" : r.value("status", std::string("pending"));
    if (finished(st)) ++done;
    trials.push_back(Json{{"option", t.option},
                          {"trial", t.trial},
                          {"status", st},
                          {"exit_code", r.is_null() ? Json(nullptr) : r.value("exit_code", Json())},
                          {"dir", t.dir.string()},
                          {"record", t.record.string()}});
  }
  Json seq = Json::object();
  seq["division"] = plan_.division;
  seq["orgname"] = plan_.orgname;
  seq["systemname"] = plan_.systemname;
  seq["trials_per_option"] = plan_.settings.trials;
  seq["inter_option_delay_s"] = plan_.settings.inter_option_delay;
  seq["settle_s"] = plan_.settings.settle;
  seq["base_seed"] = plan_.settings.seed;
  seq["npernode"] = plan_.layout.npernode;
  seq["host_count"] = plan_.layout.host_count;
  seq["total_ranks"] = plan_.layout.total_ranks;
  seq["trials_done"] = done;
  seq["trials_total"] = static_cast<int>(plan_.trials.size());
  seq["summary_file"] = plan_.summary_file.string();
  seq["trials"] = std::move(trials);
  md["sequence"] = std::move(seq);
  return md;
}

void SequenceRun::write_metadata() {
  const Json md = build_metadata();
  kv::fs::atomic_write(plan_.metadata_file, md.dump(2) + "\n");
}

BenchmarkResult SequenceRun::run(const Verdict& configured) {
  verdict_ = configured;
  records_.assign(plan_.trials.size(), Json());
  // Resume: keep what finished; an unfinished trial is removed and run again.
  for (std::size_t i = 0; i < plan_.trials.size(); ++i) {
    const TrialPlan& t = plan_.trials[i];
    auto rec = read_json(t.record);
    if (rec && finished(rec->value("status", std::string()))) {
      records_[i] = *rec;
      continue;
    }
    std::error_code ec;
    if (stdfs::exists(t.dir, ec)) {
      logger().status("Removing the unfinished option {} trial {} ({})", t.option, t.trial + 1,
                      t.dir.string());
      stdfs::remove_all(t.dir, ec);
      stdfs::remove(t.stdout_log, ec);
      stdfs::remove(t.stderr_log, ec);
    }
  }
  try {
    system_info_ = kv::cluster::local_cluster_info(inv_.kv.hosts);
    kv::fs::atomic_write(plan_.cluster_info_file, system_info_->dump(2) + "\n");
  } catch (const std::exception& e) {
    logger().warning("Cluster information collection failed: {}", e.what());
  }
  write_metadata();
  const auto t0 = Clock::now();
  bool interrupted = false, any_failed = false, ran_any = false;
  int last_option_run = 0;
  for (std::size_t i = 0; i < plan_.trials.size() && !interrupted; ++i) {
    const TrialPlan& t = plan_.trials[i];
    if (!records_[i].is_null()) {
      any_failed = any_failed || records_[i].value("status", std::string()) != "success";
      continue;
    }
    if (t.trial == 0 && t.option > 1 && ran_any && last_option_run != t.option &&
        plan_.settings.inter_option_delay > 0) {
      logger().status("Waiting {} s before option {} (inter-option delay)",
                      plan_.settings.inter_option_delay, t.option);
      if (!interruptible_sleep(plan_.settings.inter_option_delay)) {
        interrupted = true;
        break;
      }
    }
    if (plan_.settings.settle > 0) {
      logger().status("Settling {} s before option {} trial {}", plan_.settings.settle, t.option,
                      t.trial + 1);
      if (!interruptible_sleep(plan_.settings.settle)) {
        interrupted = true;
        break;
      }
    }
    TrialOutcome out = run_trial(t, i);
    ran_any = true;
    last_option_run = t.option;
    records_[i] = out.record;
    if (out.status == "interrupted" || received_signal() != 0) {
      if (out.status != "interrupted") {
        // The signal came after the engine finished: the trial is complete.
      } else {
        interrupted = true;
      }
    }
    if (out.status == "failed" || out.status == "error") any_failed = true;
    // Summary, metadata and reports are current after every trial, so an interrupted or killed
    // sequence leaves them describing what finished.
    write_summary(/*final=*/false);
    write_metadata();
    write_reports(std::make_pair(t.option, t.trial));
    if (interrupted || received_signal() != 0) {
      interrupted = true;
      break;
    }
    if (plan_.settings.settle > 0 && !interruptible_sleep(plan_.settings.settle)) {
      interrupted = true;
      break;
    }
  }
  runtime_s_ = std::chrono::duration<double>(Clock::now() - t0).count();
  verify_what_ran();
  write_summary(/*final=*/true);
  end_time_ = iso_now();
  if (interrupted) {
    status_ = "interrupted";
    exit_code_ = to_int(ExitCode::kInterrupted);
    error_ = "interrupted; continue with: mlpstorage " + plan_.division + " kvcache run --resume " +
             plan_.run_dir.string();
    logger().warning("{}", error_);
  } else if (any_failed || summary_.value("partial_failure", false)) {
    status_ = "failed";
    exit_code_ = to_int(ExitCode::kFailure);
    error_ = "some trials failed or some client results are missing (see the run summary)";
    logger().error("{}", error_);
  } else {
    status_ = "success";
  }
  write_metadata();
  write_reports(std::nullopt);
  logger().status("Verification: {}", category_name(verdict_.category));
  // An aggregate is null when no successful trial was read: "—", never 0.
  auto number = [](const Json& o, const char* key) -> std::optional<double> {
    auto it = o.find(key);
    if (it == o.end() || !it->is_number()) return std::nullopt;
    return it->get<double>();
  };
  auto text = [&](const Json& o, const char* key, const char* spec) {
    const auto v = number(o, key);
    return v ? fmt::format(fmt::runtime(spec), *v) : std::string("—");
  };
  for (const auto& [key, value] : summary_["options"].items()) {
    const std::size_t failed = value.value("failed_trials", Json::array()).size();
    logger().result(
        "Option {}: read {} GiB/s, write {} GiB/s, device read P95 {} ms, {} trial(s){}", key,
        text(value, "aggregated_read_bandwidth_gbps", "{:.3f}"),
        text(value, "aggregated_write_bandwidth_gbps", "{:.3f}"),
        text(value, "aggregated_device_read_p95_ms", "{:.2f}"), value.value("trial_count", 0),
        failed > 0 ? fmt::format(" ({} failed, not counted)", failed) : std::string());
  }

  BenchmarkResult res;
  res.exit_code = exit_code_;
  res.status = status_;
  res.result_dir = plan_.run_dir.string();
  res.metadata_path = plan_.metadata_file.string();
  res.metrics = flat_metrics(summary_);
  res.metrics["num_processes"] = plan_.layout.total_ranks;
  res.metrics["division"] = plan_.division;
  res.metrics["verification"] = category_name(verdict_.category);
  res.verification = category_name(verdict_.category);
  int done = 0;
  std::string where;
  for (std::size_t i = 0; i < plan_.trials.size(); ++i) {
    if (!records_[i].is_null() && finished(records_[i].value("status", std::string()))) {
      ++done;
    } else if (where.empty()) {
      where = fmt::format("option {}/{}, trial {}/{}", plan_.trials[i].option, kNumOptions,
                          plan_.trials[i].trial + 1, plan_.settings.trials);
    }
  }
  res.metrics["sequence_progress"] = fmt::format("{}/{} trials{}", done, plan_.trials.size(),
                                                 where.empty() ? "" : ", next " + where);
  if (auto o1 = summary_["options"].find("1"); o1 != summary_["options"].end()) {
    res.read_gibps = number(*o1, "aggregated_read_bandwidth_gbps");
    res.write_gibps = number(*o1, "aggregated_write_bandwidth_gbps");
  }
  return res;
}

// --resume: the recorded invocation of the run dir, re-parsed from its metadata.
struct Resumed {
  Invocation inv;
  std::string datetime;
  std::string orgname;
};

Resumed load_resume(const Invocation& now) {
  for (const auto& g : now.seq.given) {
    if (!resume_compatible(g))
      throw usage_error(g,
                        "cannot be combined with --resume (the run continues with the flags it "
                        "was started with)");
  }
  const stdfs::path dir = stdfs::absolute(now.seq.resume).lexically_normal();
  const std::optional<Json> md = sequence_metadata(dir);
  if (!md || !md->contains("argv"))
    throw Error(ExitCode::kFileNotFound,
                "--resume: no sequence metadata (*_metadata.json) in " + dir.string(),
                "give the run directory printed when the sequence started");
  const Json& seq = (*md)["sequence"];
  if (seq.value("division", std::string()) != now.seq.division) {
    throw usage_error("--resume", dir.string() + " is a " + seq.value("division", std::string()) +
                                      " run; resume it with `mlpstorage " +
                                      seq.value("division", std::string()) + " kvcache run`");
  }
  if (md->value("status", std::string()) == "success")
    throw usage_error("--resume", dir.string() + " already finished every trial");
  // Relative paths of the recorded argv were relative to the recorded working directory.
  const std::string cwd = md->value("cwd", std::string());
  if (!cwd.empty() && ::chdir(cwd.c_str()) != 0)
    throw Error(ExitCode::kFileNotFound, "--resume: cannot enter the recorded directory " + cwd);
  Cli cli;
  ParseResult pr = cli.parse((*md)["argv"].get<std::vector<std::string>>());
  if (!pr.ok() || !cli.invocation().is_sequence())
    throw Error(ExitCode::kConfigurationError,
                "--resume: the recorded command line of " + dir.string() + " no longer parses");
  Resumed r{cli.invocation(), md->value("run_datetime", std::string()),
            seq.value("orgname", std::string())};
  r.inv.argv = (*md)["argv"].get<std::vector<std::string>>();
  // Keep this invocation's logging/history choices.
  r.inv.uni.history_db = now.uni.history_db;
  r.inv.uni.skip_validation = r.inv.uni.skip_validation || now.uni.skip_validation;
  return r;
}

}  // namespace

BenchmarkResult run_sequence(const Invocation& inv_in, const std::string& datetime_in,
                             const Environment& env) {
  std::optional<Resumed> resumed;
  if (!inv_in.seq.resume.empty()) resumed = load_resume(inv_in);
  const Invocation& inv = resumed ? resumed->inv : inv_in;
  const std::string datetime = resumed ? resumed->datetime : datetime_in;
  const bool whatif = inv.seq.division == "whatif";

  if (inv.seq.systemname.empty())
    throw usage_error("--systemname", "required for a submission run (or set MLPERF_SYSTEMNAME)");
  std::string orgname;
  if (resumed) {
    orgname = resumed->orgname;
  } else if (whatif) {
    try {
      orgname = read_orgname(inv.uni.results_dir);
    } catch (const Error& e) {
      logger().warning("{} ({}); the plan shows orgname 'ORGNAME'", e.what(), e.suggestion());
      orgname = "ORGNAME";
    }
  } else {
    orgname = read_orgname(inv.uni.results_dir);
  }

  SequencePlan plan = build_sequence_plan(inv, orgname, datetime, env.plan);
  if (resumed && stdfs::absolute(inv_in.seq.resume).lexically_normal() != plan.run_dir) {
    throw Error(ExitCode::kConfigurationError, "--resume: the recorded flags give " +
                                                   plan.run_dir.string() + ", not " +
                                                   inv_in.seq.resume);
  }
  if (!resumed && !whatif) {
    // A run dir must be new: a sequence started within the same second waits for the next one.
    std::string dt = datetime;
    for (int i = 0; i < 20 && stdfs::exists(plan.run_dir); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      dt = datetime_now();
      plan = build_sequence_plan(inv, orgname, dt, env.plan);
    }
    if (stdfs::exists(plan.run_dir))
      throw Error(ExitCode::kFailure,
                  "--results-dir: " + plan.run_dir.string() + " already exists");
  }

  // Checks before anything runs.
  const bool same_fs =
      same_filesystem(inv.uni.results_dir, plan.cache_dir) && !plan.cache_dir_default;
  const bool default_cache = plan.cache_dir_default;
  Verdict verdict = verify_configuration(inv, plan, same_fs || default_cache);
  std::vector<PreflightProblem> problems;
  {
    RunPlan rp;
    rp.engine = plan.engine;
    rp.engine_found = plan.engine_found;
    rp.use_mpi = plan.use_mpi;
    rp.launcher_argv = plan.trials.front().launcher_argv;
    rp.run_dir = plan.run_dir;
    rp.cache_dir = plan.cache_dir;
    rp.cache_dir_default = plan.cache_dir_default;
    if (!resumed) problems = preflight_checks(inv, rp, env.preflight);
  }
  ResourceDemand demand;
  demand.cpu_gib_per_rank = plan.cpu_tier_gib_per_rank;
  demand.cpu_flag_locked = plan.division == "closed";
  demand.storage_bytes_per_rank = plan.footprint_bytes_per_rank;
  // OPEN: a typed --num-users replaces every option's users, so it is a way to fit.
  if (plan.division != "closed") demand.storage_bytes_per_user = plan.footprint_bytes_per_user;
  demand.ranks_flag = "--npernode";
  demand.ranks_per_host = plan.layout.npernode;
  demand.cache_dir = plan.cache_dir;
  place_ranks(inv.kv, plan.use_mpi, plan.layout.total_ranks, env.preflight.host, demand);
  const ResourceReport resources = check_resources(demand, env.preflight.host);
  add_resource_problems(resources, inv.uni.skip_validation, problems);
  std::string version;
  if (plan.engine_found) {
    version = engine_version(plan.engine);
    if (version.empty())
      problems.push_back(PreflightProblem{
          ExitCode::kFileNotFound,
          "--kvcache-bin-path: " + plan.engine.string() + " does not run (`--version` failed)",
          "rebuild the engine or point --kvcache-bin-path at it"});
  }
  for (const auto& r : verdict.reasons) {
    const std::string c = r.value("validation", std::string());
    logger().log(
        c == "INVALID" ? Level::kError : Level::kStatus,
        fmt::format(
            "{}: {}{}: {}", c,
            r.contains("option") ? fmt::format("option {}: ", r["option"].dump()) : std::string(),
            r.value("parameter", std::string()), r.value("message", std::string())));
  }
  logger().status("Verification of the configuration: {}", category_name(verdict.category));

  if (whatif) {
    for (const auto& p : problems) logger().warning("pre-flight: {} (hint: {})", p.message, p.hint);
    *env.out << render_plan(plan);
    *env.out << "  verification:   " << category_name(verdict.category) << "\n";
    if (!version.empty()) *env.out << "  engine version: " << version << "\n";
    *env.out << render_resource_checks(resources.checks);
    env.out->flush();
    BenchmarkResult res;
    res.status = "what_if";
    return res;
  }
  if (verdict.category == Category::kInvalid && !inv.uni.allow_invalid_params) {
    throw Error(ExitCode::kGeneralError,
                "Invalid configuration found (see the INVALID lines above); nothing was run",
                "fix it, or add --allow-invalid-params to run anyway (recorded as INVALID)");
  }
  if (!problems.empty()) {
    for (const auto& p : problems) logger().error("pre-flight: {}", p.message);
    throw Error(problems.front().code, problems.front().message, problems.front().hint);
  }
  if (received_signal() != 0) {
    BenchmarkResult res;
    res.exit_code = to_int(ExitCode::kInterrupted);
    res.status = "interrupted";
    return res;
  }

  create_dir(plan.run_dir, "--results-dir");
  create_dir(plan.cache_dir, plan.cache_dir_default ? "--results-dir" : "--cache-dir");
  logger().open_file(plan.log_file.string());
  logger().status("Run directory: {}", plan.run_dir.string());
  logger().status("Engine: {} ({})", plan.engine.string(), version);
  if (resumed) logger().status("Resuming the sequence started {}", datetime);
  SequenceRun run(inv, std::move(plan), env);
  BenchmarkResult res;
  try {
    res = run.run(verdict);
  } catch (...) {
    logger().close_file();
    throw;
  }
  logger().close_file();
  return res;
}

int run_init_command(const Invocation& inv, const Environment& env) {
  const std::string msg = init_results_dir(inv.init.orgname, inv.init.path);
  *env.out << msg << "\n";
  env.out->flush();
  return 0;
}

}  // namespace kv::orchestrator::submission
