#include "orchestrator/submission/cli_tree.hpp"

#include <cstdlib>

#include "core/error.hpp"

namespace kv::orchestrator::submission {

void add_sequence_options(CLI::App* run, SequenceOptions& seq, SequenceFlags& raw) {
  const char* g = "MLPerf Sequence";
  run->add_option("--systemname", seq.systemname,
                  "System name for the results layout; default $MLPERF_SYSTEMNAME")
      ->group(g);
  run->add_option("--trials", raw.trials, "Trials per option (default 3; CLOSED: 3)")
      ->check(CLI::Range(1, 1000))
      ->group(g);
  run->add_option("--inter-option-delay", raw.inter_option_delay,
                  "Seconds to wait between options (default 20; CLOSED: 20)")
      ->check(CLI::Range(0, 86400))
      ->group(g);
  run->add_option("--settle", raw.settle,
                  "Settle seconds before and after each trial (default 90; CLOSED: 90)")
      ->check(CLI::Range(0, 86400))
      ->group(g);
  run->add_option("--npernode,--num-processes-per-client", raw.npernode,
                  "Ranks (clients) per host; total ranks = npernode x hosts")
      ->check(CLI::Range(1, 100000))
      ->group(g);
  run->add_option("--config", seq.engine_config,
                  "Engine YAML config passed to every trial (not allowed in CLOSED)")
      ->group(g);
  run->add_option("--resume", seq.resume,
                  "Continue the interrupted sequence in this run directory from its first "
                  "unfinished trial (no other workload flags)")
      ->group(g);
}

void reject_dash_hosts(const std::vector<std::string>& hosts) {
  for (const auto& h : hosts) {
    if (!h.empty() && h[0] == '-') {
      throw usage_error("--hosts", "'" + h +
                                       "' starts with '-': a flag cannot be a host name (put the "
                                       "flag after the host list, or use --hosts=a,b)");
    }
  }
}

void finish_sequence(const CLI::App& leaf, Invocation& inv, const SequenceFlags& raw) {
  SequenceOptions& s = inv.seq;
  s.given.clear();
  for (const CLI::Option* o : leaf.get_options()) {
    if (o->count() == 0) continue;
    const auto& longs = o->get_lnames();
    if (!longs.empty()) s.given.push_back("--" + longs.front());
  }
  auto given = [&](const char* n) { return s.was_given(n); };
  if (given("--trials")) s.trials = raw.trials;
  if (given("--inter-option-delay")) s.inter_option_delay = raw.inter_option_delay;
  if (given("--settle")) s.settle = raw.settle;
  if (given("--npernode")) s.npernode = raw.npernode;
  if (s.systemname.empty()) {
    if (const char* env = std::getenv("MLPERF_SYSTEMNAME")) s.systemname = env;
  }
  if (given("--config") && s.engine_config.empty())
    throw usage_error("--config", "must not be empty");
  if (given("--resume") && s.resume.empty()) throw usage_error("--resume", "must not be empty");
  if (!s.systemname.empty()) {
    for (char c : s.systemname) {
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) {
        throw usage_error("--systemname", "'" + s.systemname +
                                              "' may contain only letters, digits, '.', '_' "
                                              "and '-' (it is a directory name)");
      }
    }
    if (s.systemname == "." || s.systemname == "..")
      throw usage_error("--systemname", "'" + s.systemname + "' is not a directory name");
  }
}

CLI::App* add_init(CLI::App& app, InitOptions& init) {
  auto* sub = app.add_subcommand(
      "init",
      "Pin an organisation name to a results directory (writes <results-dir>/mlperf-results.yaml; "
      "needed once before `mlpstorage closed|open kvcache run`)");
  sub->add_option("orgname", init.orgname, "Organisation name (letters, digits, '.', '_', '-')")
      ->required();
  sub->add_option("results_dir", init.path, "Results directory (created; its parent must exist)")
      ->required();
  return sub;
}

CLI::App* add_reportgen(CLI::App& reports, ReportOptions& report) {
  auto* gen = reports.add_subcommand(
      "reportgen",
      "Walk --results-dir (ours and the reference's layout) and write results.json and "
      "results.csv: one row per run and per option of a sequence; regenerate each sequence's "
      "HTML reports in its run directory");
  gen->add_option("--output-dir", report.output_dir,
                  "Where results.json/results.csv go (default: the results dir)");
  return gen;
}

}  // namespace kv::orchestrator::submission
