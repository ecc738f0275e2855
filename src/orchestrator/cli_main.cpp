#include "orchestrator/cli_main.hpp"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>

#include "core/error.hpp"
#include "history/history.hpp"
#include "orchestrator/cli.hpp"
#include "orchestrator/history_cmd.hpp"
#include "orchestrator/logger.hpp"
#include "orchestrator/reports_cmd.hpp"
#include "orchestrator/runner.hpp"
#include "orchestrator/submission/reportgen.hpp"
#include "orchestrator/submission/sequence.hpp"

namespace kv::orchestrator {

namespace hist = kv::history;

int cli_main(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  return run_cli(args);
}

int run_cli(const std::vector<std::string>& argv, const Environment& env,
            std::optional<std::int64_t> rerun_of) {
  const std::string start_dt = datetime_now();
  Cli cli;
  ParseResult pr = cli.parse(argv);
  if (!pr.out.empty()) {
    *env.out << pr.out;
    env.out->flush();
  }
  if (!pr.err.empty()) std::fputs(pr.err.c_str(), stderr);
  if (!pr.ok()) return pr.exit_code;
  Invocation inv = cli.invocation();
  if (const char* d = std::getenv("MLPS_DEBUG");
      d && (std::string(d) == "1" || std::string(d) == "true" || std::string(d) == "True")) {
    inv.uni.debug = true;  // the reference's MLPS_DEBUG switch
  }
  logger().configure(inv.uni.stream_log_level, inv.uni.verbose, inv.uni.debug);
  for (const auto& w : pr.warnings) logger().warning("{}", w);
  install_signal_handlers();

  if (inv.program == "init") {
    try {
      return submission::run_init_command(inv, env);
    } catch (const Error& e) {
      std::fprintf(stderr, "%s\n", e.describe().c_str());
      return to_int(e.code());
    }
  }
  if (inv.program == "reports" && inv.command == "reportgen") {
    try {
      return submission::run_reportgen(inv, env).exit_code;
    } catch (const Error& e) {
      std::fprintf(stderr, "%s\n", e.describe().c_str());
      return to_int(e.code());
    }
  }
  if (inv.program == "history" || inv.program == "reports") {
    try {
      return inv.program == "history" ? history_command(inv, env) : reports_command(inv, env);
    } catch (const Error& e) {
      std::fprintf(stderr, "%s\n", e.describe().c_str());
      return to_int(e.code());
    } catch (const std::exception& e) {
      std::fprintf(stderr, "error: unexpected: %s\n", e.what());
      return to_int(ExitCode::kFailure);
    }
  }

  // Record the invocation before it runs.
  std::unique_ptr<hist::Db> db;
  std::int64_t row = 0;
  try {
    db = std::make_unique<hist::Db>(hist::resolve_path(inv.uni.history_db));
    hist::Entry e;
    e.datetime = start_dt;
    e.argv = argv;
    std::error_code ec;
    e.cwd = std::filesystem::current_path(ec).string();
    e.program = inv.program;
    e.benchmark = inv.program == "kvcache" ? "kv_cache" : "";
    e.command = inv.is_sequence() ? inv.seq.division + " " + inv.command : inv.command;
    e.model = inv.kv.model;
    e.num_users = inv.kv.num_users;
    if (inv.command == "run") e.duration = inv.kv.duration;
    e.rerun_of = rerun_of;
    row = db->record_start(e);
  } catch (const std::exception& e) {
    logger().warning("run not recorded in the history: {}", e.what());
    db.reset();
  }

  BenchmarkResult res;
  try {
    if (inv.is_sequence())
      res = submission::run_sequence(inv, start_dt, env);
    else
      res = run_kvcache_command(inv, start_dt, env);
  } catch (const Error& e) {
    std::fprintf(stderr, "%s\n", e.describe().c_str());
    res.exit_code = to_int(e.code());
    res.status = "error";
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: unexpected: %s\nRun with --debug for more detail.\n", e.what());
    res.exit_code = to_int(ExitCode::kFailure);
    res.status = "error";
  }

  if (db) {
    try {
      hist::Completion c;
      c.status = res.status.empty() ? (res.exit_code == 0 ? "success" : "error") : res.status;
      c.verification = res.verification;
      c.exit_code = res.exit_code;
      c.finished_at = datetime_now();
      c.result_dir = res.result_dir;
      c.metadata_path = res.metadata_path;
      c.read_gibps = res.read_gibps;
      c.write_gibps = res.write_gibps;
      c.metrics = res.metrics;
      db->record_finish(row, c);
    } catch (const std::exception& e) {
      logger().warning("history not updated: {}", e.what());
    }
  }
  return res.exit_code;
}

}  // namespace kv::orchestrator
