#include "orchestrator/submission/sequence_plan.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "core/error.hpp"
#include "core/units.hpp"
#include "history/history.hpp"
#include "model/model.hpp"
#include "orchestrator/datasize.hpp"
#include "orchestrator/mpi.hpp"
#include "orchestrator/submission/sequence_report.hpp"
#include "orchestrator/verify.hpp"

namespace kv::orchestrator::submission {

namespace stdfs = std::filesystem;

namespace {

// Seconds a trial costs beyond its window and settles (launcher start-up, set-up, gather); only
// used for the wall-time estimate.
constexpr double kTrialOverheadS = 5.0;

// Flags a CLOSED run may set: where things go, who runs them, how mlpstorage talks. The sequence
// knobs with a mandated value are checked apart (check_closed_locks).
const std::set<std::string>& closed_allowed() {
  static const std::set<std::string> s = {"--results-dir",
                                          "--config-file",
                                          "--history-db",
                                          "--debug",
                                          "--verbose",
                                          "--stream-log-level",
                                          "--allow-invalid-params",
                                          "--skip-validation",
                                          "--cache-dir",
                                          "--kvcache-bin-path",
                                          "--exec-type",
                                          "--num-processes",
                                          "--hosts",
                                          "--mpi-bin",
                                          "--oversubscribe",
                                          "--allow-run-as-root",
                                          "--mpi-params",
                                          "--systemname",
                                          "--npernode",
                                          "--resume",
                                          "--performance-profile",
                                          "--keep-cache",
                                          "--help"};
  return s;
}

void check_component(const std::string& part, const std::string& what) {
  if (part.empty() || part == "." || part == ".." || part.find('/') != std::string::npos) {
    throw usage_error(what, "'" + part + "' cannot be used as a results path component");
  }
}

}  // namespace

OptionParams table_option(int option) {
  if (option < 1 || option > kNumOptions)
    throw Error(ExitCode::kFailure, fmt::format("no Table KVCache-1 option {}", option));
  const OfficialOption& o = official_options()[static_cast<std::size_t>(option - 1)];
  OptionParams p;
  p.option = o.number;
  p.name = o.name;
  p.model = o.model;
  p.num_users = o.num_users;
  p.duration = kClosedDuration;
  p.gpu_mem_gb = kClosedGpuMemGb;
  p.cpu_mem_gb = o.cpu_mem_gb;
  p.max_concurrent_allocs = o.max_concurrent_allocs;
  p.generation_mode = kClosedGenerationMode;
  return p;
}

RankLayout resolve_rank_layout(int host_count, std::optional<int> num_processes,
                               std::optional<int> npernode) {
  if (host_count < 1) throw usage_error("--hosts", "the modal run needs at least one host");
  RankLayout l;
  l.host_count = host_count;
  if (num_processes && *num_processes < 1)
    throw usage_error("--num-processes", "must be a positive number of ranks");
  if (npernode && *npernode < 1) throw usage_error("--npernode", "must be at least 1");
  if (num_processes && npernode) {
    if (*num_processes != *npernode * host_count) {
      throw usage_error("--npernode",
                        fmt::format("--num-processes {} and --npernode {} disagree for {} host(s): "
                                    "--num-processes must equal npernode x hosts ({}); give only "
                                    "one of them",
                                    *num_processes, *npernode, host_count, *npernode * host_count));
    }
    l.npernode = *npernode;
    l.total_ranks = *num_processes;
  } else if (num_processes) {
    if (*num_processes % host_count != 0) {
      throw usage_error("--num-processes",
                        fmt::format("{} ranks do not divide evenly over {} host(s); use a "
                                    "multiple of the host count or --npernode",
                                    *num_processes, host_count));
    }
    l.npernode = *num_processes / host_count;
    l.total_ranks = *num_processes;
  } else if (npernode) {
    l.npernode = *npernode;
    l.total_ranks = *npernode * host_count;
  } else {
    l.npernode = 1;
    l.total_ranks = host_count;
  }
  return l;
}

void check_sequence_flags(const Invocation& inv) {
  const SequenceOptions& s = inv.seq;
  if (s.was_given("--max-concurrent-allocs")) {
    throw usage_error("--max-concurrent-allocs",
                      "comes from Table KVCache-1 for each option (16, 16, 4) in the submission "
                      "flow; use `mlpstorage kvcache run` for a free single run");
  }
}

void check_closed_locks(const Invocation& inv) {
  const SequenceOptions& s = inv.seq;
  auto lock = [](const std::string& flag, const std::string& why) {
    throw Error(ExitCode::kInvalidArguments,
                flag + ": " + why + " in a CLOSED submission; nothing was run",
                "drop the flag, or use `mlpstorage open kvcache run` to change it");
  };
  if (s.was_given("--seed") && inv.kv.seed != kClosedBaseSeed)
    lock("--seed", fmt::format("must be {} (got {})", kClosedBaseSeed, inv.kv.seed.value_or(0)));
  if (s.trials && *s.trials != kClosedTrials)
    lock("--trials", fmt::format("must be {} (got {})", kClosedTrials, *s.trials));
  if (s.inter_option_delay && *s.inter_option_delay != kClosedInterOptionDelay)
    lock("--inter-option-delay",
         fmt::format("must be {} s (got {})", kClosedInterOptionDelay, *s.inter_option_delay));
  if (s.settle && *s.settle != kClosedSettle)
    lock("--settle", fmt::format("must be {} s (got {})", kClosedSettle, *s.settle));
  if (s.was_given("--config")) lock("--config", "an engine config file is not allowed");
  if (s.was_given("--enable-autoscaling"))
    lock("--enable-autoscaling", "autoscaling is not allowed");
  for (const auto& g : s.given) {
    if (g == "--seed" || g == "--trials" || g == "--inter-option-delay" || g == "--settle")
      continue;
    if (!closed_allowed().count(g))
      lock(g, "cannot be set: Table KVCache-1 fixes the workload and the engine flags");
  }
}

OptionParams option_params(const Invocation& inv, int option) {
  OptionParams p = table_option(option);
  if (inv.seq.division == "closed") return p;
  const SequenceOptions& s = inv.seq;
  const KvcacheOptions& kv = inv.kv;
  if (s.was_given("--model")) p.model = kv.model;
  if (s.was_given("--num-users")) p.num_users = kv.num_users;
  if (s.was_given("--duration")) p.duration = kv.duration;
  if (s.was_given("--gpu-mem-gb")) p.gpu_mem_gb = kv.gpu_mem_gb;
  if (s.was_given("--cpu-mem-gb")) p.cpu_mem_gb = kv.cpu_mem_gb;
  if (s.was_given("--generation-mode")) p.generation_mode = kv.generation_mode;
  return p;
}

SequenceSettings effective_settings(const Invocation& inv) {
  SequenceSettings st;
  st.trials = inv.seq.trials.value_or(kClosedTrials);
  st.inter_option_delay = inv.seq.inter_option_delay.value_or(kClosedInterOptionDelay);
  st.settle = inv.seq.settle.value_or(kClosedSettle);
  st.seed = inv.kv.seed.value_or(kClosedBaseSeed);
  return st;
}

KvcacheOptions option_engine_options(const Invocation& inv, const OptionParams& o,
                                     std::int64_t seed) {
  KvcacheOptions k = inv.seq.division == "closed" ? KvcacheOptions{} : inv.kv;
  k.performance_profile = inv.kv.performance_profile;
  k.keep_cache = inv.kv.keep_cache;
  k.model = o.model;
  k.num_users = o.num_users;
  k.duration = o.duration;
  k.gpu_mem_gb = o.gpu_mem_gb;
  k.cpu_mem_gb = o.cpu_mem_gb;
  k.generation_mode = o.generation_mode;
  k.max_concurrent_allocs = o.max_concurrent_allocs;
  k.seed = seed;
  return k;
}

std::vector<std::string> TrialPlan::argv() const {
  std::vector<std::string> v = launcher_argv;
  v.insert(v.end(), engine_argv.begin(), engine_argv.end());
  return v;
}

stdfs::path TrialPlan::rank_dir(int rank) const {
  return dir / ("rank_" + std::to_string(rank));
}

stdfs::path TrialPlan::rank_results(int rank, const std::string& datetime) const {
  return rank_dir(rank) / ("kvcache_results_" + datetime + ".json");
}

stdfs::path canonical_run_dir(const std::string& results_dir, const std::string& division,
                              const std::string& orgname, const std::string& systemname,
                              const std::string& model, const std::string& datetime) {
  check_component(division, "division");
  check_component(orgname, "orgname (mlperf-results.yaml)");
  check_component(systemname, "--systemname");
  check_component(model, "--model");
  check_component(datetime, "datetime");
  return stdfs::path(results_dir) / division / orgname / "results" / systemname / "kv_cache" /
         model / "run" / datetime;
}

SequencePlan build_sequence_plan(const Invocation& inv, const std::string& orgname,
                                 const std::string& datetime, const PlanEnv& env) {
  check_sequence_flags(inv);
  if (inv.seq.division == "closed") check_closed_locks(inv);
  SequencePlan p;
  p.division = inv.seq.division;
  p.orgname = orgname;
  p.systemname = inv.seq.systemname;
  p.datetime = datetime;
  p.settings = effective_settings(inv);
  const KvcacheOptions& kv = inv.kv;
  const bool typed_model = inv.seq.division != "closed" && inv.seq.was_given("--model");
  const std::string path_model = typed_model ? kv.model : table_option(1).model;
  p.run_dir = canonical_run_dir(inv.uni.results_dir, p.division, orgname, p.systemname, path_model,
                                datetime);
  p.metadata_file = p.run_dir / ("kv_cache_" + datetime + "_metadata.json");
  p.summary_file = p.run_dir / ("kvcache_run_summary_" + datetime + ".json");
  p.report_file = p.run_dir / sequence_report_name(datetime);
  p.log_file = p.run_dir / ("mlpstorage_" + datetime + ".log");
  p.cluster_info_file = p.run_dir / "kv_cache_cluster_info.json";
  p.engine = resolve_engine(kv, env, &p.engine_found);
  p.cache_dir_default = kv.cache_dir.empty();
  p.cache_dir = p.cache_dir_default ? p.run_dir / "kvcache_cache"
                                    : stdfs::absolute(kv.cache_dir).lexically_normal();

  p.use_mpi = kv.exec_type == "mpi" && !kv.hosts.empty();
  const int host_count = p.use_mpi ? static_cast<int>(kv.hosts.size()) : 1;
  p.layout = resolve_rank_layout(host_count, kv.num_processes, inv.seq.npernode);
  if (!p.use_mpi && p.layout.total_ranks > 1) {
    throw usage_error(kv.exec_type == "docker" ? "--exec-type" : "--hosts",
                      fmt::format("{} ranks need an MPI launcher (--exec-type mpi and --hosts)",
                                  p.layout.total_ranks));
  }
  std::vector<std::string> launcher;
  if (p.use_mpi) {
    MpiRequest req;
    req.mpi_bin = kv.mpi_bin;
    req.hosts = kv.hosts;
    req.num_processes = p.layout.total_ranks;
    req.oversubscribe = kv.oversubscribe;
    req.allow_run_as_root = kv.allow_run_as_root;
    req.params = kv.mpi_params;
    launcher = mpi_prefix(req, env.mpi);
  }

  const auto& table = kv::model::ModelTable::builtin();
  for (int o = 1; o <= kNumOptions; ++o) {
    OptionParams op = option_params(inv, o);
    const auto& model = table.get(op.model, "--model");
    const DatasizeEstimate est =
        estimate_datasize(model, op.num_users, op.gpu_mem_gb, op.cpu_mem_gb);
    if (est.total_bytes > p.footprint_bytes_per_rank) {
      p.footprint_bytes_per_rank = est.total_bytes;
      p.footprint_bytes_per_user = est.per_user_mean_bytes;
    }
    p.cpu_tier_gib_per_rank = std::max(p.cpu_tier_gib_per_rank, op.cpu_mem_gb);
    p.footprint_bytes_per_host = p.footprint_bytes_per_rank * p.layout.npernode;
    p.cpu_tier_gib_per_host = p.cpu_tier_gib_per_rank * p.layout.npernode;
    p.options[static_cast<std::size_t>(o - 1)] = op;

    KvcacheOptions k = option_engine_options(inv, op, p.settings.seed);
    std::vector<std::string> extra = k.kvcache_params;
    k.kvcache_params.clear();
    for (int t = 0; t < p.settings.trials; ++t) {
      TrialPlan tp;
      tp.option = o;
      tp.trial = t;
      tp.dir = p.run_dir / ("option_" + std::to_string(o)) / ("trial_" + std::to_string(t));
      tp.merged_results = tp.dir / ("kvcache_results_" + datetime + ".json");
      tp.record = tp.dir / ("kvcache_trial_" + datetime + ".json");
      const std::string stem = fmt::format("kvcache_opt{}_trial{}_{}", o, t, datetime);
      tp.stdout_log = p.run_dir / (stem + ".stdout.log");
      tp.stderr_log = p.run_dir / (stem + ".stderr.log");
      // One rank: the engine runs as a plain process, so its cache directory is given per rank
      // here; with several ranks the engine appends rank_<r> itself.
      const stdfs::path cache = p.layout.total_ranks == 1 ? p.cache_dir / "rank_0" : p.cache_dir;
      tp.engine_argv =
          engine_argv(k, p.engine.string(), cache.string(), tp.merged_results.string());
      if (p.layout.total_ranks > 1) tp.engine_argv.push_back("--per-rank-output");
      if (!inv.seq.engine_config.empty()) {
        tp.engine_argv.push_back("--config");
        tp.engine_argv.push_back(
            stdfs::absolute(inv.seq.engine_config).lexically_normal().string());
      }
      tp.engine_argv.insert(tp.engine_argv.end(), extra.begin(), extra.end());
      tp.launcher_argv = launcher;
      p.trials.push_back(std::move(tp));
      p.expected_wall_s += op.duration + 2.0 * p.settings.settle + kTrialOverheadS;
    }
  }
  p.expected_wall_s += (kNumOptions - 1) * static_cast<double>(p.settings.inter_option_delay);
  return p;
}

std::string render_plan(const SequencePlan& p) {
  std::string s;
  s += fmt::format("What-if ({}): nothing is created or run.\n", p.division);
  s += fmt::format("  run dir:        {}\n", p.run_dir.string());
  s += fmt::format("  engine:         {}{}\n", p.engine.string(),
                   p.engine_found ? "" : "  (NOT FOUND)");
  s += fmt::format("  cache dir:      {}{}  (each client in rank_<N>/)\n", p.cache_dir.string(),
                   p.cache_dir_default ? " (default)" : "");
  s += fmt::format("  clients:        {} rank(s) = {} per host x {} host(s){}\n",
                   p.layout.total_ranks, p.layout.npernode, p.layout.host_count,
                   p.use_mpi ? "" : " (no launcher)");
  s += fmt::format(
      "  sequence:       3 options x {} trial(s), seed {} + rank, settle {} s before "
      "and after each trial, {} s between options\n",
      p.settings.trials, p.settings.seed, p.settings.settle, p.settings.inter_option_delay);
  for (const auto& o : p.options) {
    s += fmt::format(
        "  option {}:       {}: {} x {} users per client, {} s, gpu {} GiB, cpu {} GiB, "
        "max-concurrent-allocs {}, generation {}\n",
        o.option, o.name, o.model, o.num_users, o.duration, format_float(o.gpu_mem_gb),
        format_float(o.cpu_mem_gb), o.max_concurrent_allocs, o.generation_mode);
  }
  s += fmt::format(
      "  disk needed:    {} per host in the cache dir (largest option, 1x KV footprint)\n",
      human_bytes(p.footprint_bytes_per_host));
  s += fmt::format("  CPU tier:       {} GiB per host (largest option)\n",
                   format_float(p.cpu_tier_gib_per_host));
  const double min = p.expected_wall_s / 60.0;
  s += fmt::format("  expected wall:  {:.0f} s (~{:.0f} min)\n", p.expected_wall_s, min);
  s += fmt::format("  summary:        {}\n", p.summary_file.string());
  s += fmt::format("  metadata:       {}\n", p.metadata_file.string());
  s += fmt::format("  HTML report:    {}\n", p.report_file.string());
  for (const auto& t : p.trials) {
    s += fmt::format("Option {} trial {}: {}\n", t.option, t.trial,
                     kv::history::display_command(t.argv()));
    s += fmt::format("  results:  {}/rank_<N>/kvcache_results_{}.json\n", t.dir.string(),
                     p.datetime);
    s += fmt::format("  report:   {}/{}\n", t.dir.string(), trial_report_name(p.datetime));
  }
  return s;
}

}  // namespace kv::orchestrator::submission
