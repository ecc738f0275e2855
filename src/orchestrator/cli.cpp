#include "orchestrator/cli.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>

#include "core/error.hpp"
#include "core/flag_match.hpp"
#include "core/version.hpp"
#include "engine_cli/flags.hpp"
#include "model/model.hpp"
#include "orchestrator/config_file.hpp"
#include "orchestrator/help.hpp"
#include "orchestrator/logger.hpp"

namespace kv::orchestrator {
namespace {

namespace ec = kv::engine_cli;

// The engine's limits for a forwarded value, in the engine's words ("must be between 1 and
// 100000"), so mlpstorage refuses exactly what kv-cache would (engine_cli/flags.hpp).
CLI::Validator engine_limits(const ec::Flag& f) {
  return CLI::Validator(
      [&f](std::string& in) -> std::string {
        char* end = nullptr;
        const double v = std::strtod(in.c_str(), &end);
        if (in.empty() || end != in.c_str() + in.size())
          return "expected a number (got '" + in + "')";
        return ec::in_range(f, v) ? std::string()
                                  : "must be " + ec::range_text(f) + " (got " + in + ")";
      },
      ec::range_text(f));
}

// The engine's choices of a forwarded choice flag.
CLI::IsMember engine_choices(const ec::Flag& f) {
  return CLI::IsMember(std::vector<std::string>(f.choices.begin(), f.choices.end()));
}

const std::map<std::string, std::string>& short_aliases() {
  static const std::map<std::string, std::string> m = {{"-rd", "--results-dir"},
                                                       {"-nu", "--num-users"},
                                                       {"-et", "--exec-type"},
                                                       {"-np", "--num-processes"},
                                                       {"-aip", "--allow-invalid-params"},
                                                       {"-sn", "--systemname"}};
  return m;
}

constexpr const char* kExitCodes =
    "Exit codes: 0 success, 1 help shown / verification aborted, 2 usage error, 3 file not found, "
    "4 permission denied, 5 configuration error, 6 benchmark failed, 7 timeout, 8 interrupted.";

// Long name → the reference's multi-letter short form (the help shows both).
std::map<std::string, std::string> long_to_short() {
  std::map<std::string, std::string> m;
  for (const auto& [s, l] : short_aliases()) m[l] = s;
  return m;
}

// Every long name a command accepts (aliases of one option share its index).
std::vector<kv::FlagName> long_names(const CLI::App* app) {
  std::vector<kv::FlagName> names;
  const auto opts = app->get_options([](const CLI::Option* o) { return !o->get_positional(); });
  for (std::size_t i = 0; i < opts.size(); ++i)
    for (const auto& l : opts[i]->get_lnames()) names.push_back({"--" + l, i});
  return names;
}

CLI::App* find_subcommand(CLI::App* app, const std::string& name) {
  for (CLI::App* s : app->get_subcommands([](const CLI::App*) { return true; }))
    if (s->get_name() == name) return s;
  return nullptr;
}

// The paths of the commands (leaves and programs) that accept `long_name`, e.g. "kvcache run".
void commands_with(const CLI::App* app, const std::string& path, const std::string& long_name,
                   std::vector<std::string>& out) {
  const auto names = long_names(app);
  if (std::any_of(names.begin(), names.end(),
                  [&](const kv::FlagName& n) { return n.name == long_name; }) &&
      long_name != "--help")
    out.push_back(path);
  for (const CLI::App* s : app->get_subcommands([](const CLI::App*) { return true; }))
    commands_with(s, path + " " + s->get_name(), long_name, out);
}

std::string trim_copy(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  std::size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

// "--num-users" for YAML key "num_users" / "num-users".
std::string option_name_for_key(std::string key) {
  std::replace(key.begin(), key.end(), '_', '-');
  return "--" + key;
}

// Applies --config-file overrides to the selected leaf. Returns warnings; throws kv::Error(2).
std::vector<std::string> apply_config_file(CLI::App& leaf, const std::string& path) {
  std::vector<std::string> warnings;
  const ConfigFile cf = read_config_file(path);
  if (cf.empty) {
    warnings.push_back("config file '" + path + "' is empty; no overrides applied");
    return warnings;
  }
  for (const auto& e : cf.entries) {
    const std::string& key = e.key;
    const std::string name = option_name_for_key(key);
    CLI::Option* opt = (key == "config_file" || key == "config-file" || key == "help")
                           ? nullptr
                           : leaf.get_option_no_throw(name);
    if (opt == nullptr) {
      warnings.push_back("config file '" + path + "': unknown parameter '" + key +
                         "' for this command; skipping");
      continue;
    }
    if (e.kind == ConfigEntry::Kind::kNull) continue;
    std::vector<std::string> results;
    if (e.kind == ConfigEntry::Kind::kMapping && key != "mpi_params" && key != "kvcache_params") {
      throw usage_error(name, "config file '" + path + "': '" + key + "' cannot be a mapping");
    }
    if (e.kind == ConfigEntry::Kind::kScalar && key == "hosts") {
      const std::string& s = e.values.front();
      std::size_t start = 0;
      while (start <= s.size()) {
        auto comma = s.find(',', start);
        std::string part = trim_copy(
            s.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
        if (!part.empty()) results.push_back(part);
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
    } else {
      results = e.values;
    }
    if (results.size() > 1 && opt->get_expected_max() <= 1) {
      throw usage_error(name,
                        "config file '" + path + "': '" + key + "' takes one value, got a list");
    }
    try {
      opt->clear();
      opt->add_result(results);
      opt->run_callback();
    } catch (const CLI::ParseError& ex) {
      throw usage_error(name, std::string("config file '") + path + "': " + ex.what());
    }
  }
  return warnings;
}

std::vector<std::string> split_hosts(const std::vector<std::string>& raw) {
  std::vector<std::string> out;
  for (const auto& entry : raw) {
    std::string cur;
    for (char c : entry) {
      if (c == ',' || std::isspace(static_cast<unsigned char>(c))) {
        if (!cur.empty()) out.push_back(cur);
        cur.clear();
      } else {
        cur += c;
      }
    }
    if (!cur.empty()) out.push_back(cur);
  }
  return out;
}

void validate_hosts(const std::vector<std::string>& hosts) {
  int with_slots = 0;
  for (const auto& h : hosts) {
    auto colon = h.find(':');
    if (colon == std::string::npos) continue;
    ++with_slots;
    const std::string name = h.substr(0, colon), slots = h.substr(colon + 1);
    if (name.empty()) throw usage_error("--hosts", "'" + h + "' has no host name");
    bool digits = !slots.empty() && std::all_of(slots.begin(), slots.end(), [](char c) {
      return std::isdigit(static_cast<unsigned char>(c));
    });
    if (!digits || slots.size() > 6 || std::stoi(slots) < 1) {
      throw usage_error("--hosts", "'" + h + "': slots must be a whole number >= 1 (host:slots)");
    }
  }
  if (with_slots != 0 && with_slots != static_cast<int>(hosts.size())) {
    throw usage_error(
        "--hosts", "mix of 'host' and 'host:slots' entries; give slots for every host or for none");
  }
}

std::vector<std::string> flatten_tokens(const std::vector<std::string>& raw,
                                        const std::string& flag) {
  std::vector<std::string> out;
  for (const auto& r : raw) {
    for (auto& t : shell_split(r, flag)) out.push_back(std::move(t));
  }
  return out;
}

}  // namespace

std::vector<std::string> normalise_argv(const std::vector<std::string>& argv) {
  std::vector<std::string> out;
  out.reserve(argv.size());
  for (std::size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (i == 0) {
      out.push_back(a);
      continue;
    }
    if (a == "--") {  // everything after is literal
      out.insert(out.end(), argv.begin() + static_cast<std::ptrdiff_t>(i), argv.end());
      break;
    }
    auto eq = a.find('=');
    const std::string head = a.substr(0, eq);
    if (auto it = short_aliases().find(head); it != short_aliases().end()) {
      out.push_back(eq == std::string::npos ? it->second : it->second + a.substr(eq));
      continue;
    }
    if ((a == "--mpi-params" || a == "--kvcache-params") && i + 1 < argv.size() &&
        !argv[i + 1].empty() && argv[i + 1][0] == '-') {
      out.push_back(a + "=" + argv[i + 1]);
      ++i;
      continue;
    }
    out.push_back(a);
  }
  return out;
}

std::vector<std::string> shell_split(const std::string& s, const std::string& flag) {
  std::vector<std::string> out;
  std::string cur;
  bool in_word = false;
  enum { kNone, kSingle, kDouble } q = kNone;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (q == kSingle) {
      if (c == '\'')
        q = kNone;
      else
        cur += c;
      continue;
    }
    if (q == kDouble) {
      if (c == '"') {
        q = kNone;
      } else if (c == '\\' && i + 1 < s.size() &&
                 std::string_view("\"\\$`").find(s[i + 1]) != std::string_view::npos) {
        cur += s[++i];
      } else {
        cur += c;
      }
      continue;
    }
    if (std::isspace(static_cast<unsigned char>(c))) {
      if (in_word) out.push_back(cur);
      cur.clear();
      in_word = false;
      continue;
    }
    in_word = true;
    if (c == '\'')
      q = kSingle;
    else if (c == '"')
      q = kDouble;
    else if (c == '\\' && i + 1 < s.size())
      cur += s[++i];
    else
      cur += c;
  }
  if (q != kNone) throw usage_error(flag, "unterminated quote in '" + s + "'");
  if (in_word) out.push_back(cur);
  return out;
}

Cli::Cli() {
  app_ = std::make_unique<CLI::App>(
      "mlpstorage: MLPerf Storage orchestrator for the KV-cache benchmark (init, "
      "closed|open|whatif "
      "kvcache run, kvcache run|datasize, history, reports).",
      "mlpstorage");
  app_->set_version_flag("--version", std::string("mlpstorage ") + kVersion,
                         "Print the version and exit");
  help_ = std::make_shared<HelpFormatter>(long_to_short(), kExitCodes);
  app_->formatter(help_);  // inherited by every sub-command created below
  app_->require_subcommand(0, 1);

  kvcache_ = app_->add_subcommand("kvcache",
                                  "Run the KV Cache benchmark for LLM inference storage testing");
  kvcache_->require_subcommand(0, 1);
  kv_run_ = kvcache_->add_subcommand(
      "run", "Run the KV Cache benchmark simulating LLM inference storage workload");
  kv_datasize_ = kvcache_->add_subcommand(
      "datasize", "Calculate memory requirements for KV cache based on model and user count");
  add_kvcache_common(kv_run_);
  add_kvcache_run_only(kv_run_);
  add_universal(kv_run_, kAllUniversal);
  add_kvcache_common(kv_datasize_);
  add_universal(kv_datasize_, kResultsDir | kConfigFile | kHistoryDb | kLogging);

  history_ =
      app_->add_subcommand("history", "List, show, re-run and import recorded mlpstorage runs");
  history_->require_subcommand(0, 1);
  auto* list = history_->add_subcommand("list", "List recorded runs, newest first");
  list->add_option("--benchmark,-b", inv_.hist.benchmark,
                   "Only runs of this benchmark (e.g. kvcache)")
      ->group("Filters");
  list->add_option("--model,-m", inv_.hist.model, "Only runs of this model")->group("Filters");
  list->add_option("--status", inv_.hist.status,
                   "Only runs with this status (running, success, failed, interrupted, error, "
                   "what_if, imported)")
      ->group("Filters");
  list->add_option("--limit,-n", inv_.hist.limit, "Show at most N runs")
      ->check(CLI::NonNegativeNumber)
      ->group("Filters");
  add_universal(list, kHistoryDb | kLogging);
  auto* show =
      history_->add_subcommand("show", "Show one run (-i ID), the last N runs (-n N), or all runs");
  show->add_option("--id,-i", show_id_raw_, "Print the run with this ID")
      ->check(CLI::PositiveNumber);
  show->add_option("--limit,-n", inv_.hist.limit, "Print the last N runs")
      ->check(CLI::PositiveNumber);
  add_universal(show, kHistoryDb | kLogging);
  auto* rerun = history_->add_subcommand("rerun", "Run the exact argv of a recorded run again");
  rerun->add_option("rerun_id", inv_.hist.rerun_id, "ID of the run to repeat")
      ->required()
      ->check(CLI::PositiveNumber);
  add_universal(rerun, kHistoryDb | kLogging);
  auto* import = history_->add_subcommand(
      "import",
      "Import runs found in results trees (their *_metadata.json files) into the history");
  import->add_option("paths", inv_.hist.import_paths,
                     "Results directories to scan (default: --results-dir)");
  add_universal(import, kResultsDir | kHistoryDb | kLogging);

  reports_ = app_->add_subcommand(
      "reports", "Compare runs and write HTML reports from results (read-only on the results)");
  reports_->require_subcommand(0, 1);
  auto* compare = reports_->add_subcommand(
      "compare",
      "Headline metrics of two runs with difference and ratio, and an HTML page with both runs' "
      "curves overlaid");
  compare->add_option("runs", inv_.reports.runs, "RUN_A RUN_B: run directories or results JSON")
      ->required()
      ->expected(2);
  compare->add_option("--output,-o", inv_.reports.output,
                      "HTML file to write (default: ./kvcache_compare_<datetime>.html)");
  auto* html = reports_->add_subcommand(
      "html", "Write the self-contained HTML report of one run (charts, verdicts, configuration)");
  html->add_option("run", inv_.reports.runs, "Run directory or results JSON")
      ->required()
      ->expected(1);
  html->add_option("--output,-o", inv_.reports.output,
                   "HTML file to write (default: <run dir>/kvcache_report.html or "
                   "<results stem>.html)");

  // The submission flow (submission/cli_tree.hpp).
  for (const char* div : submission::kDivisions) {
    const std::string d = div;
    auto* division = app_->add_subcommand(
        d, d == "closed" ? "CLOSED submission: the MLPerf v3.0 KV-cache sequence, Table KVCache-1 "
                           "verbatim"
           : d == "open" ? "OPEN submission: the sequence with the workload flags you type"
                         : "Plan only: print every option x trial command, directories, wall "
                           "time and disk space; create and run nothing");
    division->require_subcommand(0, 1);
    auto* kv = division->add_subcommand("kvcache", "The KV-cache benchmark");
    kv->require_subcommand(0, 1);
    auto* run = kv->add_subcommand(
        "run", "Run options 1, 2, 3 of Table KVCache-1, each --trials times, one mpirun per trial");
    add_kvcache_common(run);
    add_kvcache_run_only(run);
    // The division decides what --open/--closed/--what-if/--loops would: they do not exist here.
    add_universal(run, kAllUniversal & ~(kLoops | kSubmissionMode | kWhatIf));
    submission::add_sequence_options(run, inv_.seq, seq_raw_);
    division_runs_.push_back(run);
  }
  init_ = submission::add_init(*app_, inv_.init);
  init_->add_flag("--debug", inv_.uni.debug, "Debug logging")->group("Output Control");
  init_->add_flag("--verbose", inv_.uni.verbose, "Verbose logging")->group("Output Control");
  reportgen_ = submission::add_reportgen(*reports_, inv_.report);
  add_universal(reportgen_, kResultsDir | kLogging);

  // Examples: realistic and copy-pasteable, the most common form first.
  const char* run_ex =
      "kvcache run --model llama3.1-8b --num-users 50 --duration 120 "
      "--cache-dir /mnt/nvme/kv --results-dir /mnt/results";
  const char* datasize_ex = "kvcache datasize --model llama3.1-70b-instruct --num-users 70";
  const char* closed_ex =
      "closed kvcache run --systemname sys1 --results-dir /mnt/results "
      "--cache-dir /mnt/nvme/kv --hosts node1 node2";
  help_->examples(app_.get(), {"init Acme /mnt/results", closed_ex, run_ex, datasize_ex,
                               "history list --limit 10"});
  help_->examples(kvcache_, {run_ex, datasize_ex});
  help_->examples(kv_run_, {run_ex,
                            "kvcache run --hosts node1 node2 --num-processes 8 --cpu-mem-gb 8 "
                            "--cache-dir /mnt/nvme/kv",
                            "kvcache run --num-users 200 --what-if"});
  help_->examples(kv_datasize_,
                  {datasize_ex, "kvcache datasize -m tiny-1b -nu 4 --results-dir /mnt/results"});
  help_->examples(history_, {"history list", "history show -i 12", "history rerun 12"});
  help_->examples(list, {"history list", "history list --model llama3.1-8b --status success -n 5"});
  help_->examples(show, {"history show -i 12", "history show -n 3"});
  help_->examples(rerun, {"history rerun 12"});
  help_->examples(import, {"history import /mnt/results"});
  // Short words: a word is never split (the example must stay pasteable), so none may be longer
  // than the narrowest help line.
  const char* compare_ex = "reports compare ./20261201_101500 ./20261202_101500 -o cmp.html";
  const char* html_ex = "reports html ./20261202_101500";
  const char* reportgen_ex = "reports reportgen --results-dir /mnt/results";
  help_->examples(reports_, {compare_ex, html_ex, reportgen_ex});
  help_->examples(compare, {compare_ex});
  help_->examples(html, {html_ex});
  help_->examples(reportgen_, {reportgen_ex});
  help_->examples(init_, {"init Acme /mnt/results"});
  for (CLI::App* run : division_runs_) {
    const std::string div = run->get_parent()->get_parent()->get_name();
    std::vector<std::string> ex;
    if (div == "closed") ex = {closed_ex};
    if (div == "open")
      ex = {
          "open kvcache run --systemname sys1 --results-dir /mnt/results --num-users 50 "
          "--trials 1 --inter-option-delay 0"};
    if (div == "whatif") ex = {"whatif kvcache run --systemname sys1 --results-dir /mnt/results"};
    help_->examples(run, ex);
    help_->examples(run->get_parent(), ex);
    help_->examples(run->get_parent()->get_parent(), ex);
  }

  // argparse semantics: a scalar option given twice keeps the last value (CLI11 would refuse).
  std::vector<CLI::App*> leaves = {kv_run_, kv_datasize_, list, show,      rerun,
                                   import,  compare,      html, reportgen_};
  leaves.insert(leaves.end(), division_runs_.begin(), division_runs_.end());
  for (CLI::App* leaf : leaves) {
    for (CLI::Option* o : leaf->get_options()) {
      if (o->get_expected_max() <= 1) o->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    }
  }
}

void Cli::add_universal(CLI::App* sub, unsigned which) {
  auto& u = inv_.uni;
  const char* standard = "Standard Arguments";
  if (which & kResultsDir)
    sub->add_option(
           "--results-dir", u.results_dir,
           "Root of the results tree; runs go to <dir>/kv_cache/<model>/<command>/<datetime>/")
        ->capture_default_str()
        ->group(standard);
  if (which & kLoops)
    sub->add_option("--loops", u.loops,
                    "Number of times to run the benchmark (each with a fresh datetime)")
        ->capture_default_str()
        ->check(CLI::Range(1, 100000))
        ->group(standard);
  if (which & kConfigFile)
    sub->add_option("--config-file,-c", u.config_file,
                    "YAML file of flag overrides (keys are flag names with '_'), applied after the "
                    "command line")
        ->group(standard);
  if (which & kSubmissionMode) {
    auto* closed = sub->add_flag("--closed", u.closed,
                                 "Run as a closed submission (verification must say CLOSED)")
                       ->group(standard);
    sub->add_flag("--open", u.open,
                  "Run as an open submission (verification must say OPEN or CLOSED)")
        ->excludes(closed)
        ->group(standard);
  }
  if (which & kHistoryDb)
    sub->add_option("--history-db", u.history_db,
                    "History database (default: $MLPSTORAGE_HISTORY_DB, else "
                    "$XDG_DATA_HOME/mlpstorage/history.db, "
                    "else ~/.local/share/mlpstorage/history.db)")
        ->group(standard);
  if (which & kLogging) {
    sub->add_flag("--debug", u.debug,
                  "Debug logging (DEBUG level, pid in log lines; metadata echoed to stdout)")
        ->group("Output Control");
    sub->add_flag("--verbose", u.verbose, "Verbose logging; the metadata JSON is echoed to stdout")
        ->group("Output Control");
    std::vector<std::string> levels;
    for (const auto& l : level_names()) levels.push_back(l);
    sub->add_option("--stream-log-level", u.stream_log_level, "Console log level")
        ->capture_default_str()
        ->transform(CLI::IsMember(levels, CLI::ignore_case))
        ->group("Output Control");
  }
  if (which & kAllowInvalid)
    sub->add_flag("--allow-invalid-params", u.allow_invalid_params,
                  "Continue when verification says INVALID (the run is recorded as INVALID)")
        ->group("Validation");
  if (which & kSkipValidation)
    sub->add_flag("--skip-validation", u.skip_validation,
                  "Skip the launcher and run-as-root pre-flight checks and turn the memory and "
                  "cache-dir space problems into warnings (the engine binary, slots and "
                  "directories are still checked)")
        ->group("Validation");
  if (which & kWhatIf)
    sub->add_flag("--what-if", u.what_if,
                  "Print the resolved plan, the exact command and the pre-flight checks of this "
                  "host; create and run nothing")
        ->group("View Only");
}

void Cli::add_kvcache_common(CLI::App* sub) {
  auto& k = inv_.kv;
  const auto keys = kv::model::ModelTable::builtin().keys();
  sub->add_option(
         "--model,-m", k.model,
         "KV model to simulate (sets the KV bytes per token from the engine's model table)")
      ->capture_default_str()
      ->check(CLI::IsMember(keys))
      ->group("Model Configuration");
  sub->add_option("--num-users", k.num_users,
                  "Number of concurrent users for multi-tenant inference")
      ->capture_default_str()
      ->check(engine_limits(ec::kNumUsers))
      ->group("Model Configuration");
  sub->add_option("--gpu-mem-gb", k.gpu_mem_gb,
                  "GPU tier capacity in GiB (first cache tier; 0 disables it)")
      ->capture_default_str()
      ->check(engine_limits(ec::kGpuMemGb))
      ->group("Cache Configuration");
  sub->add_option("--cpu-mem-gb", k.cpu_mem_gb,
                  "CPU tier capacity in GiB (second cache tier; 0 disables it)")
      ->capture_default_str()
      ->check(engine_limits(ec::kCpuMemGb))
      ->group("Cache Configuration");
  sub->add_option("--cache-dir", k.cache_dir,
                  "Storage (NVMe) tier directory; default <run dir>/kvcache_data")
      ->group("Cache Configuration");
}

void Cli::add_kvcache_run_only(CLI::App* sub) {
  auto& k = inv_.kv;
  sub->add_option("--duration,-d", k.duration, "Benchmark duration in seconds")
      ->capture_default_str()
      ->check(engine_limits(ec::kDuration))
      ->group("Run Configuration");
  sub->add_option("--generation-mode", k.generation_mode,
                  "Token generation simulation: none = no generation, fast = 2 ms/token, realistic "
                  "= 30 ms/token")
      ->capture_default_str()
      ->check(engine_choices(ec::kGenerationMode))
      ->group("Run Configuration");
  sub->add_option("--performance-profile", k.performance_profile,
                  "Pass/fail criteria of the engine: latency or throughput")
      ->capture_default_str()
      ->check(engine_choices(ec::kPerformanceProfile))
      ->group("Run Configuration");
  sub->add_option("--seed", seed_raw_, "Random seed (forwarded only when given)")
      ->group("Run Configuration");
  sub->add_option("--kvcache-bin-path", k.kvcache_bin_path,
                  "Path to the kv-cache engine (default: kv-cache next to mlpstorage, then PATH)")
      ->group("Run Configuration");
  sub->add_option("--max-concurrent-allocs", max_allocs_raw_,
                  "Limit concurrent cache allocations in the engine (0 = unlimited; forwarded only "
                  "when given)")
      ->check(engine_limits(ec::kMaxConcurrentAllocs))
      ->group("Run Configuration");

  sub->add_flag("--disable-multi-turn", k.disable_multi_turn,
                "Disable multi-turn conversation caching")
      ->group("Optional Features");
  sub->add_flag("--disable-prefix-caching", k.disable_prefix_caching,
                "Disable system-prompt prefix caching")
      ->group("Optional Features");
  sub->add_flag("--enable-rag", k.enable_rag, "Enable the RAG workload")
      ->group("Optional Features");
  sub->add_option("--rag-num-docs", k.rag_num_docs,
                  "RAG documents to ingest (forwarded with --enable-rag)")
      ->capture_default_str()
      ->check(engine_limits(ec::kRagNumDocs))
      ->group("Optional Features");
  sub->add_flag("--enable-autoscaling", k.enable_autoscaling, "Enable the engine's autoscaler")
      ->group("Optional Features");
  sub->add_option("--autoscaler-mode", k.autoscaler_mode,
                  "Autoscaler mode (forwarded with --enable-autoscaling)")
      ->capture_default_str()
      ->check(engine_choices(ec::kAutoscalerMode))
      ->group("Optional Features");

  sub->add_option("--io-engine", k.io_engine,
                  "Engine storage I/O path: posix (reference) or io_uring")
      ->check(engine_choices(ec::kIoEngine))
      ->group("Engine I/O");
  sub->add_flag("--direct-io", k.direct_io, "Engine uses O_DIRECT for storage-tier files")
      ->group("Engine I/O");
  sub->add_option("--io-depth", io_depth_raw_, "Engine: chunks of one object in flight (io_uring)")
      ->check(engine_limits(ec::kIoDepth))
      ->group("Engine I/O");
  sub->add_option("--io-chunk-mib", io_chunk_raw_, "Engine I/O chunk size in MiB")
      ->check(engine_limits(ec::kIoChunkMib))
      ->group("Engine I/O");
  sub->add_option("--gpu-backend", k.gpu_backend,
                  "Engine GPU tier backend: auto, simulated, cuda or none")
      ->check(engine_choices(ec::kGpuBackend))
      ->group("Engine I/O");
  sub->add_flag("--keep-cache", k.keep_cache, "Keep the engine's cache files after the run")
      ->group("Engine I/O");
  sub->add_option("--kvcache-params", k.kvcache_params,
                  "Extra engine arguments appended last, e.g. "
                  "--kvcache-params=\"--storage-capacity-gb 100\"")
      ->group("Engine I/O");

  sub->add_option("--exec-type", k.exec_type,
                  "Execution type for benchmark commands. Supported options: [mpi, docker]")
      ->capture_default_str()
      ->check(CLI::IsMember({"mpi", "docker"}))
      ->group("Distributed Execution");
  sub->add_option("--num-processes", num_processes_raw_,
                  "Number of MPI processes (ranks) to spawn; default: the number of hosts")
      ->check(CLI::Range(1, 1000000))
      ->group("Distributed Execution");
  sub->add_option(
         "--hosts,-s", k.hosts,
         "Space- or comma-separated host names or IPs, optionally host:slots. Without slots the "
         "processes are spread evenly and the remainder goes to the first hosts")
      ->capture_default_str()
      ->group("Distributed Execution");
  sub->add_option("--mpi-bin", k.mpi_bin,
                  "Execution type for MPI commands. Supported options: ['mpirun', 'mpiexec']")
      ->capture_default_str()
      ->check(CLI::IsMember({"mpirun", "mpiexec"}))
      ->group("MPI");
  sub->add_flag("--oversubscribe", k.oversubscribe, "Allow more processes than slots")
      ->group("MPI");
  sub->add_flag("--allow-run-as-root", k.allow_run_as_root, "Allow mpirun to run as root")
      ->group("MPI");
  sub->add_option("--mpi-params", k.mpi_params,
                  "Additional MPI parameters (repeatable; each value is split into words), e.g. "
                  "--mpi-params=\"--mca btl tcp,self\"")
      ->group("MPI");
}

std::vector<std::string> Cli::resolve_long_options(std::vector<std::string>& argv) const {
  std::vector<std::string> errors;
  CLI::App* cur = app_.get();
  std::string path = "mlpstorage";
  for (std::size_t i = 1; i < argv.size(); ++i) {
    std::string& a = argv[i];
    if (a == "--") break;
    if (a.size() > 2 && a.compare(0, 2, "--") == 0) {
      const auto eq = a.find('=');
      const std::string typed = a.substr(0, eq);
      const kv::FlagMatch m = kv::match_flag(typed, long_names(cur));
      if (m.kind == kv::FlagMatch::Kind::kAmbiguous) {
        std::string list;
        for (const auto& c : m.candidates) list += (list.empty() ? "" : ", ") + c;
        errors.push_back(typed + ": ambiguous option; could be " + list);
        continue;
      }
      if (m.kind == kv::FlagMatch::Kind::kUnknown) {
        std::string msg = typed + ": unknown option of '" + path + "'";
        std::vector<std::string> elsewhere;
        commands_with(app_.get(), "mlpstorage", typed, elsewhere);
        if (!m.candidates.empty()) {
          msg += "; did you mean " + m.candidates.front() + "?";
        } else if (!elsewhere.empty()) {
          msg += " (it is an option of '" + elsewhere.front() + "'";
          if (elsewhere.size() > 1) msg += " and " + std::to_string(elsewhere.size() - 1) + " more";
          msg += ")";
        }
        errors.push_back(msg);
        continue;
      }
      if (m.kind == kv::FlagMatch::Kind::kPrefix)
        a = m.name + (eq == std::string::npos ? "" : a.substr(eq));
      // An abbreviated --mpi-params/--kvcache-params takes a dash-leading value too (normalise_argv
      // glued only the full names).
      if ((m.name == "--mpi-params" || m.name == "--kvcache-params") && eq == std::string::npos &&
          i + 1 < argv.size() && !argv[i + 1].empty() && argv[i + 1][0] == '-') {
        a += "=" + argv[i + 1];
        argv.erase(argv.begin() + static_cast<std::ptrdiff_t>(i) + 1);
      }
    } else if (!a.empty() && a[0] != '-') {
      if (CLI::App* sub = find_subcommand(cur, a)) {
        cur = sub;
        path += " " + a;
      }
    }
  }
  return errors;
}

namespace {

// CLI11 lists the words nobody took in reverse; this lists them in the order given, after the
// command they were given to.
std::string unexpected_words(CLI::App& app, const std::vector<std::string>& argv) {
  std::vector<std::string> left = app.remaining(true);
  std::vector<bool> used(argv.size(), false);
  std::vector<std::pair<std::size_t, std::string>> placed;
  for (const auto& w : left) {
    std::size_t at = argv.size();
    for (std::size_t i = 1; i < argv.size(); ++i) {
      if (!used[i] && argv[i] == w) {
        used[i] = true;
        at = i;
        break;
      }
    }
    placed.emplace_back(at, w);
  }
  std::stable_sort(placed.begin(), placed.end(),
                   [](const auto& x, const auto& y) { return x.first < y.first; });
  std::string path = app.get_name();
  for (CLI::App* cur = &app; !cur->get_subcommands().empty();) {
    cur = cur->get_subcommands().front();
    path += " " + cur->get_name();
  }
  std::string words;
  for (const auto& [at, w] : placed) words += (words.empty() ? "" : " ") + w;
  return "unexpected argument" + std::string(placed.size() == 1 ? "" : "s") + " for '" + path +
         "': " + words;
}

}  // namespace

ParseResult Cli::usage_error(const std::string& msg) const {
  ParseResult r;
  r.kind = ParseResult::Kind::kExit;
  r.exit_code = to_int(ExitCode::kInvalidArguments);
  r.err = "mlpstorage: error: " + msg + "\nRun with --help for more information.\n";
  return r;
}

ParseResult Cli::parse(const std::vector<std::string>& argv_in) {
  inv_.argv = argv_in;
  ParseResult res;
  if (argv_in.size() <= 1) {
    res.kind = ParseResult::Kind::kExit;
    res.exit_code = to_int(ExitCode::kGeneralError);
    res.err = app_->help();
    return res;
  }
  std::vector<std::string> norm = normalise_argv(argv_in);
  if (auto errors = resolve_long_options(norm); !errors.empty()) {
    std::string msg = errors.front();
    for (std::size_t i = 1; i < errors.size(); ++i) msg += "\nmlpstorage: error: " + errors[i];
    return usage_error(msg);
  }
  std::vector<const char*> cargv;
  cargv.reserve(norm.size());
  for (const auto& a : norm) cargv.push_back(a.c_str());
  try {
    app_->parse(static_cast<int>(cargv.size()), cargv.data());
  } catch (const CLI::CallForHelp&) {
    res.kind = ParseResult::Kind::kExit;
    res.out = app_->help();
    return res;
  } catch (const CLI::CallForAllHelp&) {
    res.kind = ParseResult::Kind::kExit;
    res.out = app_->help("", CLI::AppFormatMode::All);
    return res;
  } catch (const CLI::CallForVersion&) {
    res.kind = ParseResult::Kind::kExit;
    res.out = std::string("mlpstorage ") + kVersion + "\n";
    return res;
  } catch (const CLI::ExtrasError&) {
    return usage_error(unexpected_words(*app_, norm));
  } catch (const CLI::ParseError& e) {
    return usage_error(e.what());
  }

  // A program without a command: its help (app help() delegates to the selected program), exit 1.
  auto program_help = [&] {
    ParseResult r;
    r.kind = ParseResult::Kind::kExit;
    r.exit_code = to_int(ExitCode::kGeneralError);
    r.err = app_->help();
    return r;
  };
  if (kvcache_->parsed()) {
    inv_.program = "kvcache";
    if (kv_run_->parsed())
      leaf_ = kv_run_;
    else if (kv_datasize_->parsed())
      leaf_ = kv_datasize_;
    else
      return program_help();
  } else if (history_->parsed()) {
    inv_.program = "history";
    auto subs = history_->get_subcommands();
    if (subs.empty()) return program_help();
    leaf_ = subs.front();
  } else if (reports_->parsed()) {
    inv_.program = "reports";
    auto subs = reports_->get_subcommands();
    if (subs.empty()) return program_help();
    leaf_ = subs.front();
  } else if (init_->parsed()) {
    inv_.program = "init";
    inv_.command = "init";
    return res;
  } else if (auto it = std::find_if(division_runs_.begin(), division_runs_.end(),
                                    [](CLI::App* r) { return r->parsed(); });
             it != division_runs_.end()) {
    inv_.program = "kvcache";
    leaf_ = *it;
    inv_.seq.division = leaf_->get_parent()->get_parent()->get_name();
  } else if (std::any_of(app_->get_subcommands().begin(), app_->get_subcommands().end(),
                         [](CLI::App* a) { return a->parsed(); })) {
    return program_help();  // a division without `kvcache run`
  } else {
    res.kind = ParseResult::Kind::kExit;
    res.exit_code = to_int(ExitCode::kGeneralError);
    res.err = app_->help();
    return res;
  }
  inv_.command = leaf_->get_name();

  try {
    if (!inv_.uni.config_file.empty()) {
      res.warnings = apply_config_file(*leaf_, inv_.uni.config_file);
      if (inv_.uni.open && inv_.uni.closed) throw kv::usage_error("--open", "excludes --closed");
    }
    auto given = [&](const char* name) {
      auto* o = leaf_->get_option_no_throw(name);
      return o != nullptr && o->count() > 0;
    };
    inv_.uni.results_dir_given = given("--results-dir");
    if (inv_.uni.results_dir.empty()) throw kv::usage_error("--results-dir", "must not be empty");
    inv_.uni.results_dir =
        std::filesystem::absolute(inv_.uni.results_dir).lexically_normal().string();
    if (inv_.program == "kvcache") {
      if (inv_.kv.cache_dir.empty() && given("--cache-dir"))
        throw kv::usage_error("--cache-dir", "must not be empty");
      if (inv_.command == "run") {
        if (given("--seed")) inv_.kv.seed = seed_raw_;
        if (given("--max-concurrent-allocs")) inv_.kv.max_concurrent_allocs = max_allocs_raw_;
        if (given("--io-depth")) inv_.kv.io_depth = io_depth_raw_;
        if (given("--io-chunk-mib")) inv_.kv.io_chunk_mib = io_chunk_raw_;
        if (given("--num-processes")) inv_.kv.num_processes = num_processes_raw_;
        inv_.kv.hosts = split_hosts(inv_.kv.hosts);
        submission::reject_dash_hosts(inv_.kv.hosts);
        validate_hosts(inv_.kv.hosts);
        if (inv_.kv.exec_type == "docker" && inv_.kv.num_processes && *inv_.kv.num_processes > 1) {
          throw kv::usage_error("--num-processes",
                                std::to_string(*inv_.kv.num_processes) +
                                    " ranks need --exec-type mpi (docker runs one local process)");
        }
        inv_.kv.mpi_params = flatten_tokens(inv_.kv.mpi_params, "--mpi-params");
        inv_.kv.kvcache_params = flatten_tokens(inv_.kv.kvcache_params, "--kvcache-params");
        if (!inv_.seq.division.empty()) submission::finish_sequence(*leaf_, inv_, seq_raw_);
      }
    } else if (inv_.command == "show" && given("--id")) {
      inv_.hist.id = show_id_raw_;
    }
  } catch (const kv::Error& e) {
    ParseResult r = usage_error(e.what());
    r.exit_code = to_int(e.code());  // e.g. 3 for a missing --config-file
    return r;
  }
  return res;
}

}  // namespace kv::orchestrator
