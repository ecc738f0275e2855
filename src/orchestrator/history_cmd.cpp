#include "orchestrator/history_cmd.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "core/error.hpp"
#include "orchestrator/cli_main.hpp"
#include "orchestrator/logger.hpp"

namespace kv::orchestrator {

namespace hist = kv::history;

namespace {

std::string pretty_datetime(const std::string& dt) {
  // YYYYMMDD_HHMMSS → YYYY-MM-DD HH:MM:SS
  if (dt.size() == 15 && dt[8] == '_') {
    return dt.substr(0, 4) + "-" + dt.substr(4, 2) + "-" + dt.substr(6, 2) + " " + dt.substr(9, 2) +
           ":" + dt.substr(11, 2) + ":" + dt.substr(13, 2);
  }
  return dt;
}

std::string opt_num(const std::optional<std::int64_t>& v) {
  return v ? std::to_string(*v) : "-";
}
std::string opt_gibps(const std::optional<double>& v) {
  return v ? fmt::format("{:.3f}", *v) : "-";
}

// MPI ranks of a kvcache run (key metric num_processes), "-" when unknown.
std::string num_processes(const hist::Entry& e) {
  auto it = e.metrics.find("num_processes");
  return it != e.metrics.end() && it->is_number_integer() ? std::to_string(it->get<long long>())
                                                          : "-";
}

// One metric value for `history show`: numbers to 4 significant digits, null as "—".
std::string metric_value(const hist::Json& v) {
  if (v.is_null()) return "—";
  if (v.is_number_float()) {
    const double d = v.get<double>();
    return std::abs(d) >= 1e4 ? fmt::format("{:.1f}", d) : fmt::format("{:.4g}", d);
  }
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

std::string short_line(const hist::Entry& e) {
  return fmt::format("{} : {} : {}", e.id, e.datetime, hist::display_command(e.argv));
}

}  // namespace

std::string format_metrics(const kv::history::Json& m, int indent) {
  std::string out;
  const std::string pad(static_cast<std::size_t>(indent), ' ');
  std::size_t width = 0;
  for (auto it = m.begin(); it != m.end(); ++it) width = std::max(width, it.key().size());
  for (auto it = m.begin(); it != m.end(); ++it) {
    const auto& v = *it;
    if (v.is_object() && !v.empty()) {
      // A flat block of numbers (a latency block: mean, p50, …) fits on one line.
      bool flat = v.size() <= 8;
      for (const auto& x : v) flat = flat && !x.is_structured();
      if (flat) {
        std::string line;
        for (auto jt = v.begin(); jt != v.end(); ++jt)
          line += (line.empty() ? "" : ", ") + jt.key() + " " + metric_value(*jt);
        out += fmt::format("{}{:<{}}  {}\n", pad, it.key() + ":", width + 1, line);
      } else {
        out += pad + it.key() + ":\n" + format_metrics(v, indent + 2);
      }
      continue;
    }
    out += fmt::format("{}{:<{}}  {}\n", pad, it.key() + ":", width + 1, metric_value(v));
  }
  return out;
}

std::string format_history_table(const std::vector<hist::Entry>& rows) {
  const std::vector<std::string> head = {
      "ID", "DATETIME", "BENCHMARK", "COMMAND",    "MODEL",       "USERS",     "DURATION",
      "NP", "STATUS",   "VERIF.",    "READ GiB/s", "WRITE GiB/s", "RESULT DIR"};
  std::vector<std::vector<std::string>> cells;
  for (const auto& e : rows) {
    std::string status = e.status;
    if (e.exit_code && *e.exit_code != 0) status += fmt::format(" ({})", *e.exit_code);
    cells.push_back({std::to_string(e.id), pretty_datetime(e.datetime),
                     e.benchmark.empty() ? e.program : e.benchmark,
                     e.command.empty() ? "-" : e.command, e.model.empty() ? "-" : e.model,
                     opt_num(e.num_users), opt_num(e.duration), num_processes(e), status,
                     e.verification.empty() ? "-" : e.verification, opt_gibps(e.read_gibps),
                     opt_gibps(e.write_gibps), e.result_dir.empty() ? "-" : e.result_dir});
  }
  std::vector<std::size_t> w(head.size());
  for (std::size_t c = 0; c < head.size(); ++c) {
    w[c] = head[c].size();
    for (const auto& r : cells) w[c] = std::max(w[c], r[c].size());
  }
  auto line = [&](const std::vector<std::string>& r) {
    std::string s;
    for (std::size_t c = 0; c < r.size(); ++c) {
      const bool right = c == 0 || c == 5 || c == 6 || c == 7 || c == 10 || c == 11;
      if (c + 1 == r.size())
        s += r[c];
      else
        s += right ? fmt::format("{:>{}}  ", r[c], w[c]) : fmt::format("{:<{}}  ", r[c], w[c]);
    }
    return s + "\n";
  };
  std::string out = line(head);
  for (const auto& r : cells) out += line(r);
  return out;
}

int history_command(const Invocation& inv, const Environment& env) {
  std::ostream& out = *env.out;
  const auto& h = inv.hist;
  // list and show only read: the database is opened read-only and never created or migrated.
  const bool read_only = inv.command == "list" || inv.command == "show";
  hist::Db db = read_only ? hist::Db::open_read_only(hist::resolve_path(inv.uni.history_db))
                          : hist::Db(hist::resolve_path(inv.uni.history_db));
  if (inv.command == "list") {
    hist::Filter f;
    f.benchmark = h.benchmark;
    f.model = h.model;
    f.status = h.status;
    f.limit = h.limit;
    auto rows = db.list(f);
    if (rows.empty()) {
      out << "No history entries found\n";
      return 0;
    }
    out << format_history_table(rows);
    return 0;
  }
  if (inv.command == "show") {
    if (h.id) {
      auto e = db.get(*h.id);
      if (!e) {
        std::fprintf(stderr, "No command found with ID %lld\n", static_cast<long long>(*h.id));
        return to_int(ExitCode::kInvalidArguments);
      }
      out << e->id << ": " << hist::display_command(e->argv) << "\n";
      out << "  datetime:    " << pretty_datetime(e->datetime) << "\n";
      out << "  status:      " << e->status;
      if (e->exit_code) out << " (exit " << *e->exit_code << ")";
      out << "\n";
      if (!e->verification.empty()) out << "  verification: " << e->verification << "\n";
      if (!e->benchmark.empty()) {
        out << "  benchmark:   " << e->benchmark << " " << e->command << ", model "
            << (e->model.empty() ? "-" : e->model) << ", users " << opt_num(e->num_users)
            << ", duration " << opt_num(e->duration) << "\n";
      }
      if (!e->cwd.empty()) out << "  cwd:         " << e->cwd << "\n";
      if (!e->result_dir.empty()) out << "  result dir:  " << e->result_dir << "\n";
      if (!e->metadata_path.empty()) out << "  metadata:    " << e->metadata_path << "\n";
      if (e->read_gibps || e->write_gibps) {
        out << "  storage:     read " << opt_gibps(e->read_gibps) << " GiB/s, write "
            << opt_gibps(e->write_gibps) << " GiB/s\n";
      }
      if (e->rerun_of) out << "  rerun of:    " << *e->rerun_of << "\n";
      out << "  source:      " << e->source << "\n";
      if (!e->metrics.empty()) out << "  metrics:\n" << format_metrics(e->metrics, 4);
      return 0;
    }
    auto rows = h.limit > 0 ? db.last(h.limit) : db.last(0);
    if (rows.empty()) {
      std::fprintf(stderr, "No history entries found\n");
      return to_int(ExitCode::kInvalidArguments);
    }
    for (const auto& e : rows) out << short_line(e) << "\n";
    return 0;
  }
  if (inv.command == "rerun") {
    auto e = db.get(h.rerun_id);
    if (!e || e->argv.size() < 2 || e->argv[1] == "history") {
      std::fprintf(stderr, "Command with ID %lld not found or could not be parsed\n",
                   static_cast<long long>(h.rerun_id));
      return to_int(ExitCode::kInvalidArguments);
    }
    std::vector<std::string> argv = e->argv;
    if (!inv.argv.empty()) argv[0] = inv.argv[0];
    logger().status("Re-running history entry {}: {}", e->id, hist::display_command(argv));
    return run_cli(argv, env, e->id);
  }
  if (inv.command == "import") {
    std::vector<std::string> paths = h.import_paths;
    if (paths.empty()) paths.push_back(inv.uni.results_dir);
    for (const auto& p : paths) {
      auto r = db.import_tree(p);
      for (const auto& err : r.errors) logger().warning("skipped {}", err);
      out << "Imported " << r.imported << " run" << (r.imported == 1 ? "" : "s") << " from " << p
          << " (" << r.skipped << " already known)\n";
    }
    return 0;
  }
  throw Error(ExitCode::kInvalidArguments, "history: unknown command '" + inv.command + "'");
}

}  // namespace kv::orchestrator
