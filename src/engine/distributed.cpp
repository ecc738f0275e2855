#include "engine/distributed.hpp"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "cluster/cluster.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/json_text.hpp"
#include "core/log.hpp"
#include "dist/mailbox.hpp"
#include "engine/results.hpp"
#include "engine/results_merge.hpp"
#include "engine/run/signals.hpp"
#include "engine/run/state.hpp"
#include "engine/summary.hpp"

namespace kv::engine {

namespace {

using ojson = nlohmann::ordered_json;
using SteadyClock = std::chrono::steady_clock;

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}
double since(SteadyClock::time_point t) {
  return std::chrono::duration<double>(SteadyClock::now() - t).count();
}

std::optional<ojson> parse(const std::string& text) {
  try {
    ojson j = ojson::parse(text);
    if (j.is_object() && j.contains("type")) return j;
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

struct Peer {
  bool hello = false, ready = false, final = false, failed_msg = false, cancelled = false,
       warned_silent = false;
  ojson hello_msg;
  ojson last_hb;
  SteadyClock::time_point last_seen = SteadyClock::now();
  RankOutcome out;
};

}  // namespace

struct DistributedRun::Impl {
  dist::RankContext& ctx;
  std::unique_ptr<dist::Mailbox> mb;
  int rank = 0, size = 1;
  std::string host;
  long pid = 0;

  // What this rank knows about the run.
  bool prepared = false;
  run::RunPlan plan;  // adjusted copy (config, yaml, model)
  std::string base_cache_dir;
  std::optional<std::int64_t> given_seed;
  std::int64_t base_seed = 0;
  unsigned sharers = 1;
  double rank_timeout = 300;
  bool per_rank_output = false;
  std::string output;
  double window_start_unix = 0;
  std::int64_t last_hb_ns = 0;
  bool interrupted = false;  // the run stopped on a signal
  bool cancelled = false;    // rank 0 cancelled the run (not this rank's own failure)
  ojson host_info_json;

  // Non-root: protocol progress.
  bool reported = false;               // result or failed sent
  std::map<std::string, ojson> inbox;  // latest message of each type from rank 0

  // Rank 0.
  std::vector<Peer> peers;
  bool plan_sent = false, go_sent = false, output_written = false, provisional_written = false;
  const RunData* run_data = nullptr;

  Impl(dist::RankContext& c) : ctx(c) {}

  // A hard stop: the launcher is tearing the job down (run/signals.hpp).
  static bool hard() { return run::signals::hard_stop(); }
  static bool stop_requested() { return hard() || run::signals::stop_requested(); }

  // ---- messages ----
  void post(int dest, const ojson& j) {
    try {
      mb->post(dest, kv::json_text(j));
    } catch (const std::exception& e) {
      log::warn("rank {}: could not send to rank {}: {}", rank, dest, e.what());
    }
  }

  void absorb(const dist::Mailbox::Message& m) {
    auto j = parse(m.text);
    if (!j) {
      log::warn("rank {}: ignoring a malformed message from rank {}", rank, m.source);
      return;
    }
    const std::string type = (*j)["type"].get<std::string>();
    if (rank != 0) {
      inbox[type] = std::move(*j);
      return;
    }
    if (m.source <= 0 || m.source >= size) return;
    Peer& p = peers[static_cast<std::size_t>(m.source)];
    p.last_seen = SteadyClock::now();
    if (type == "hello") {
      p.hello = true;
      p.out.host = j->value("host", std::string());
      p.out.pid = j->value("pid", 0L);
      p.hello_msg = std::move(*j);
    } else if (type == "ready") {
      p.ready = true;
    } else if (type == "hb") {
      p.last_hb = std::move(*j);
    } else if (type == "result") {
      p.final = true;
      p.out.exit_code = j->value("exit_code", 0);
      if (j->contains("results")) p.out.results = std::move((*j)["results"]);
    } else if (type == "failed") {
      p.final = true;
      p.failed_msg = true;
      p.cancelled = j->value("cancelled", false);
      p.out.reason = j->value("reason", std::string("failed"));
      p.out.exit_code = j->value("exit_code", 6);
      if (p.out.host.empty()) p.out.host = j->value("host", std::string());
      if (p.out.pid == 0) p.out.pid = j->value("pid", 0L);
    }
  }

  void drain() {
    while (auto m = mb->poll()) absorb(*m);
  }

  // Polls until pred() or `seconds` pass; `stop` (optional) ends the wait early.
  bool wait_until(const std::function<bool()>& pred, double seconds,
                  const std::function<bool()>& stop = {}) {
    const auto deadline = SteadyClock::now() + std::chrono::duration<double>(seconds);
    for (int iter = 0;; ++iter) {
      drain();
      if (pred()) return true;
      if (SteadyClock::now() >= deadline) return false;
      if (stop && stop()) return pred();
      std::this_thread::sleep_for(iter < 100 ? std::chrono::microseconds(200)
                                             : std::chrono::microseconds(2000));
    }
  }

  bool all_peers(const std::function<bool(const Peer&)>& f) const {
    for (int r = 1; r < size; ++r)
      if (!f(peers[static_cast<std::size_t>(r)])) return false;
    return true;
  }

  ojson base_msg(const char* type) const {
    ojson j;
    j["type"] = type;
    j["rank"] = rank;
    j["host"] = host;
    j["pid"] = pid;
    return j;
  }

  // ---- rank 0: outcomes, merge, write ----
  std::string missing_reason(const Peer& p) const {
    std::string s = hard() || interrupted
                        ? "no result before the job was stopped"
                        : fmt::format("no result within --rank-timeout {} s", rank_timeout);
    if (!p.last_hb.is_null()) {
      s += fmt::format(
          " (last heartbeat {:.1f} s into the window, {} requests completed, {:.1f} s before rank "
          "0 gave up)",
          p.last_hb.value("t", 0.0), p.last_hb.value("completed", 0), since(p.last_seen));
    } else if (p.ready) {
      s += " (it was ready; no heartbeat received)";
    } else if (p.hello) {
      s += " (it started; never reported ready)";
    } else {
      s += " (it never reported at start-up)";
    }
    return s + ": killed, crashed, hung or unreachable";
  }

  static std::string exit_reason(int code, const ojson& results) {
    std::string s = fmt::format("exit code {}", code);
    const ojson& w = results.contains("workload") ? results["workload"] : ojson::object();
    const auto completed = results.value("requests_completed", std::uint64_t{0});
    const auto failed = results.contains("summary")
                            ? results["summary"].value("failed_requests", std::uint64_t{0})
                            : 0;
    if (completed == 0 && failed > 0) s += fmt::format(": no request completed, {} failed", failed);
    if (w.contains("failure_examples") && w["failure_examples"].is_array() &&
        !w["failure_examples"].empty())
      s += " (first: " + w["failure_examples"][0].get<std::string>() + ")";
    return s;
  }

  std::vector<RankOutcome> outcomes(bool provisional) const {
    std::vector<RankOutcome> v;
    for (int r = 0; r < size; ++r) {
      const Peer& p = peers[static_cast<std::size_t>(r)];
      RankOutcome o = p.out;
      o.rank = r;
      o.last_heartbeat = p.last_hb;
      if (o.results) {
        const bool ok = o.exit_code == 0 || o.exit_code == to_int(ExitCode::kInterrupted);
        o.status = ok ? RankStatus::kOk : RankStatus::kFailed;
        o.reason = ok ? std::string() : exit_reason(o.exit_code, *o.results);
      } else if (p.failed_msg) {
        o.status = p.cancelled ? RankStatus::kCancelled : RankStatus::kFailed;
      } else {
        o.status = RankStatus::kFailed;
        o.reason =
            provisional ? "no result received yet when the job was stopped" : missing_reason(p);
        if (o.exit_code == 0) o.exit_code = -1;
      }
      v.push_back(std::move(o));
    }
    return v;
  }

  ojson cluster_info() const {
    std::vector<cluster::HostInfo> hosts;
    std::vector<std::string> names;
    std::set<std::string> seen;
    for (int r = 0; r < size; ++r) {
      const Peer& p = peers[static_cast<std::size_t>(r)];
      if (!p.hello || !p.hello_msg.contains("host_info")) continue;
      try {
        cluster::HostInfo h = cluster::HostInfo::from_json(p.hello_msg["host_info"]);
        h.mpi_rank = r;
        if (!seen.insert(h.hostname).second) continue;
        names.push_back(h.hostname);
        hosts.push_back(std::move(h));
      } catch (const std::exception& e) {
        log::warn("rank {}'s host facts are unreadable: {}", r, e.what());
      }
    }
    return cluster::normalise(hosts, "mpi", names);
  }

  ojson merged(bool provisional) const {
    MergeContext mc;
    mc.base_seed = given_seed;
    mc.cache_dir = base_cache_dir;
    mc.cluster_info = cluster_info();
    mc.interrupted = interrupted || hard();
    if (prepared) {
      RunData empty;
      empty.config = plan.config;
      empty.yaml = plan.yaml;
      empty.model = plan.model;
      mc.empty_results = build_results(empty);
    }
    ojson m = merge_rank_results(outcomes(provisional), mc);
    if (provisional) m["provisional"] = true;
    return m;
  }

  void write_results(const ojson& m, bool with_per_rank) {
    kv::fs::atomic_write(output, kv::json_text(m, 4) + "\n");
    if (!with_per_rank || !per_rank_output) return;
    for (int r = 0; r < size; ++r) {
      const Peer& p = peers[static_cast<std::size_t>(r)];
      if (p.out.results)
        kv::fs::atomic_write(per_rank_output_path(output, r), p.out.results->dump(4) + "\n");
    }
  }

  // Waits for every rank's result (or failure), then writes the one results JSON. Returns the
  // job's exit code contribution: 6 on partial failure, 8 when interrupted, else `code`.
  int gather_and_write(int code) {
    auto provisional = [&] {
      if (provisional_written || output.empty()) return;
      provisional_written = true;
      try {
        write_results(merged(/*provisional=*/true), false);
      } catch (const std::exception& e) {
        log::warn("could not write provisional results: {}", e.what());
      }
    };
    if (hard()) provisional();
    double budget = hard() ? 0.5 : interrupted ? std::min(rank_timeout, 20.0) : rank_timeout;
    auto start = SteadyClock::now();
    const auto all_final = [&] { return all_peers([](const Peer& p) { return p.final; }); };
    while (!all_final()) {
      const double left = budget - since(start);
      if (left <= 0) break;
      const bool was_hard = hard();
      wait_until(all_final, left, [&] { return !was_hard && hard(); });
      if (!was_hard && hard()) {  // the launcher is tearing the job down: write now, wait briefly
        provisional();
        budget = since(start) + 0.5;
      }
    }
    const ojson m = merged(false);
    write_results(m, true);
    output_written = true;
    const bool partial = m.value("partial_failure", false);
    if (partial) {
      for (const auto& f : m["failed_ranks"])
        log::error("rank {} ({}) failed: {}", f.value("rank", -1), f.value("host", std::string()),
                   f.value("reason", std::string()));
    }
    if (run_data != nullptr) std::fputs(results_text(m, *run_data).c_str(), stdout);
    std::fprintf(stdout, "Cluster: %d ranks on %zu host(s)%s\n", size,
                 m.value("host_count", std::size_t{0}), partial ? ", PARTIAL FAILURE" : "");
    std::fprintf(stdout, "Results written to %s\n", output.c_str());
    std::fflush(stdout);
    if (partial) return to_int(ExitCode::kFailure);
    if (m.value("interrupted", false)) return to_int(ExitCode::kInterrupted);
    return code;
  }
};

DistributedRun::DistributedRun(dist::RankContext& ctx) : m_(std::make_unique<Impl>(ctx)) {
  m_->rank = ctx.rank();
  m_->size = ctx.size();
  m_->host = ctx.hostname();
  m_->pid = static_cast<long>(::getpid());
  m_->mb = std::make_unique<dist::Mailbox>(ctx);
  m_->peers.resize(m_->rank == 0 ? static_cast<std::size_t>(m_->size) : 0);
  if (m_->rank == 0) {
    m_->peers[0].hello = true;
    m_->peers[0].out.host = m_->host;
    m_->peers[0].out.pid = m_->pid;
  }
  run::signals::ignore_early_usr1();  // until the run installs its handlers
}

DistributedRun::~DistributedRun() = default;

int DistributedRun::launcher_world_size() {
  if (!dist::RankContext::launcher_detected()) return 1;
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "SLURM_NTASKS"}) {
    const char* v = std::getenv(name);
    if (v != nullptr && *v != '\0') return std::max(1, std::atoi(v));
  }
  return 2;
}

unsigned DistributedRun::capacity_sharers() const {
  return m_->sharers;
}

void DistributedRun::prepare(run::RunPlan& plan) {
  Impl& m = *m_;
  EngineConfig& c = plan.config;
  m.prepared = true;
  m.base_cache_dir = c.cache_dir;
  m.given_seed = c.seed;
  m.rank_timeout = c.rank_timeout;
  m.per_rank_output = c.per_rank_output;
  plan.rank = m.rank;
  if (m.rank == 0 && c.output.empty())
    c.output = "benchmark_results_" + kv::local_time_string("%Y%m%d_%H%M%S") + ".json";
  m.output = m.rank == 0 ? c.output : std::string();
  m.plan = plan;

  // Filesystem identity of the cache location (ranks sharing it share its free space).
  std::error_code ec;
  std::filesystem::path where = c.cache_dir.empty() ? std::filesystem::temp_directory_path(ec)
                                                    : std::filesystem::path(c.cache_dir);
  if (!c.cache_dir.empty()) {
    std::filesystem::create_directories(where, ec);
    if (ec)
      throw usage_error("--cache-dir", fmt::format("cannot create {} on {}: {}", where.string(),
                                                   m.host, ec.message()));
  }
  struct stat st {};
  const std::string fs_id = ::stat(where.c_str(), &st) == 0
                                ? std::to_string(static_cast<unsigned long long>(st.st_dev))
                                : where.string();
  cluster::HostInfo hi = cluster::collect_local_host();
  hi.mpi_rank = m.rank;
  m.host_info_json = hi.to_json();

  ojson plan_msg;
  if (m.rank == 0) {
    m.peers[0].hello_msg = ojson{{"type", "hello"}, {"fs", fs_id}, {"host_info", m.host_info_json}};
    const bool all =
        m.wait_until([&] { return m.all_peers([](const Peer& p) { return p.hello || p.final; }); },
                     m.rank_timeout);
    std::string abort_reason;
    for (int r = 1; r < m.size; ++r) {
      Peer& p = m.peers[static_cast<std::size_t>(r)];
      if (p.final && abort_reason.empty())
        abort_reason =
            fmt::format("rank {} ({}) failed before set-up: {}", r, p.out.host, p.out.reason);
    }
    if (!all && abort_reason.empty())
      abort_reason = "not every rank reported at start-up within --rank-timeout";
    std::map<std::string, unsigned> per_fs;
    for (int r = 0; r < m.size; ++r) {
      const Peer& p = m.peers[static_cast<std::size_t>(r)];
      if (p.hello) ++per_fs[p.out.host + "|" + p.hello_msg.value("fs", std::string())];
    }
    std::int64_t base =
        c.seed ? *c.seed : static_cast<std::int64_t>(std::random_device{}() & 0x7fffffff);
    for (int r = 0; r < m.size; ++r) {
      const Peer& p = m.peers[static_cast<std::size_t>(r)];
      ojson pm{{"type", "plan"},
               {"abort", !abort_reason.empty()},
               {"reason", abort_reason},
               {"base_seed", base},
               {"sharers",
                p.hello ? per_fs[p.out.host + "|" + p.hello_msg.value("fs", std::string())] : 1u}};
      if (r == 0)
        plan_msg = pm;
      else if (!p.final)
        m.post(r, pm);
    }
    m.plan_sent = true;
  } else {
    ojson hello = m.base_msg("hello");
    hello["fs"] = fs_id;
    hello["host_info"] = m.host_info_json;
    m.post(0, hello);
    if (!m.wait_until([&] { return m.inbox.count("plan") != 0; }, m.rank_timeout))
      throw Error(ExitCode::kFailure,
                  fmt::format("rank {}: no start-up plan from rank 0 within --rank-timeout {} s",
                              m.rank, m.rank_timeout));
    plan_msg = m.inbox["plan"];
  }
  if (plan_msg.value("abort", false)) {
    m.cancelled = true;
    throw Error(ExitCode::kFailure,
                "run cancelled: " + plan_msg.value("reason", std::string("another rank failed")));
  }

  // ---- this rank's plan ----
  m.base_seed = plan_msg.value("base_seed", std::int64_t{0});
  m.sharers = std::max(1u, plan_msg.value("sharers", 1u));
  c.seed = m.base_seed + m.rank;
  if (!c.cache_dir.empty())
    c.cache_dir =
        (std::filesystem::path(c.cache_dir) / ("rank_" + std::to_string(m.rank))).string();
  if (m.rank != 0)
    c.output = (std::filesystem::temp_directory_path(ec) /
                fmt::format("kv-cache-rank{}-{}.json", m.rank, m.pid))
                   .string();
  if (!c.io_trace_log.empty()) c.io_trace_log = per_rank_output_path(c.io_trace_log, m.rank);
  if (!c.xlsx_output.empty() && m.rank != 0)
    c.xlsx_output = per_rank_output_path(c.xlsx_output, m.rank);
  plan.observers.push_back(this);
  m.plan = plan;
  std::fprintf(
      stdout,
      "Rank %d/%d on %s (pid %ld): seed %lld, cache dir %s, capacity shared by %u rank(s)\n",
      m.rank, m.size, m.host.c_str(), m.pid, static_cast<long long>(*c.seed),
      c.cache_dir.empty() ? "(temporary)" : c.cache_dir.c_str(), m.sharers);
  std::fflush(stdout);
}

void DistributedRun::before_window(run::RunState& /*s*/) {
  Impl& m = *m_;
  run::signals::set_hard_mode();
  if (m.rank == 0) {
    m.wait_until([&] { return m.all_peers([](const Peer& p) { return p.ready || p.final; }); },
                 m.rank_timeout, [&] { return m.stop_requested(); });
    std::string reason;
    for (int r = 1; r < m.size && reason.empty(); ++r) {
      const Peer& p = m.peers[static_cast<std::size_t>(r)];
      if (p.final)
        reason = fmt::format("rank {} ({}) failed during set-up: {}", r, p.out.host, p.out.reason);
      else if (!p.ready && !m.stop_requested())
        reason = fmt::format("rank {} ({}) was not ready within --rank-timeout {} s", r, p.out.host,
                             m.rank_timeout);
    }
    for (int r = 1; r < m.size; ++r)
      if (!m.peers[static_cast<std::size_t>(r)].final)
        m.post(r, ojson{{"type", "go"}, {"ok", reason.empty()}, {"reason", reason}});
    m.go_sent = true;
    if (!reason.empty()) {
      m.cancelled = true;
      throw Error(ExitCode::kFailure, "run cancelled: " + reason);
    }
  } else {
    m.post(0, m.base_msg("ready"));
    m.wait_until([&] { return m.inbox.count("go") != 0; }, m.rank_timeout,
                 [&] { return m.stop_requested(); });
    if (m.inbox.count("go") == 0) {
      if (!m.stop_requested())
        throw Error(
            ExitCode::kFailure,
            fmt::format("rank {}: rank 0 did not start the window within --rank-timeout {} s",
                        m.rank, m.rank_timeout));
    } else if (!m.inbox["go"].value("ok", false)) {
      m.cancelled = true;
      throw Error(ExitCode::kFailure,
                  "run cancelled: " + m.inbox["go"].value("reason", std::string("by rank 0")));
    }
  }
  m.window_start_unix = unix_now();
}

void DistributedRun::on_tick(const run::RunState& s, std::int64_t now_ns) {
  tick(now_ns, s.t0_ns, s.recorder->completed());
}

void DistributedRun::tick(std::int64_t now_ns, std::int64_t t0_ns, std::uint64_t completed) {
  Impl& m = *m_;
  if (m.rank == 0) {
    m.drain();
    for (int r = 1; r < m.size; ++r) {
      Peer& p = m.peers[static_cast<std::size_t>(r)];
      if (!p.final && !p.warned_silent && since(p.last_seen) > 5.0) {
        p.warned_silent = true;
        log::warn("rank {} ({}) has not reported for {:.0f} s", r, p.out.host, since(p.last_seen));
      }
    }
    return;
  }
  while (auto msg = m.mb->poll()) m.absorb(*msg);
  if (now_ns - m.last_hb_ns < 1'000'000'000LL || m.mb->pending_sends() > 8) return;
  m.last_hb_ns = now_ns;
  ojson hb = m.base_msg("hb");
  hb["t"] = static_cast<double>(now_ns - t0_ns) * 1e-9;
  hb["completed"] = completed;
  m.post(0, hb);
}

int DistributedRun::on_results(const nlohmann::ordered_json& results, const RunData& d, int code) {
  Impl& m = *m_;
  m.interrupted = d.interrupted;
  ojson r = results;
  r["distributed"] =
      ojson{{"rank", m.rank},
            {"size", m.size},
            {"host", m.host},
            {"pid", m.pid},
            {"seed", m.base_seed + m.rank},
            {"base_seed", m.base_seed},
            {"seed_given", m.given_seed.has_value()},
            {"capacity_sharers", m.sharers},
            {"cache_dir_base", m.base_cache_dir.empty() ? ojson(nullptr) : ojson(m.base_cache_dir)},
            {"window_start_unix_s", m.window_start_unix}};
  if (m.rank != 0) {
    ojson msg = m.base_msg("result");
    msg["exit_code"] = code;
    msg["results"] = std::move(r);
    m.post(0, msg);
    m.reported = true;
    const bool sent = m.mb->flush(m.hard() ? 0.8 : m.rank_timeout);
    std::fprintf(stdout, "Rank %d (%s): %llu requests completed; results %s rank 0\n", m.rank,
                 m.host.c_str(), static_cast<unsigned long long>(d.requests_completed),
                 sent ? "sent to" : "could not be delivered to");
    std::fflush(stdout);
    return code;
  }
  Peer& self = m.peers[0];
  self.out.results = std::move(r);
  self.out.exit_code = code;
  self.final = true;
  m.run_data = &d;
  const int out = m.gather_and_write(code);
  m.run_data = nullptr;
  return out;
}

int DistributedRun::conclude(int code, const std::string& error) {
  Impl& m = *m_;
  if (!m.prepared && error.empty()) {  // --help, --version, --probe-device: no protocol was started
    m.ctx.finalize();
    return code;
  }
  if (m.rank != 0) {
    if (!error.empty() && !m.reported) {
      ojson f = m.base_msg("failed");
      f["reason"] = error;
      f["exit_code"] = code;
      f["cancelled"] = m.cancelled;
      m.post(0, f);
      m.reported = true;
    }
    const double wait = m.hard() ? 1.0 : m.interrupted ? 40.0 : 2 * m.rank_timeout + 30;
    const bool done =
        m.wait_until([&] { return m.inbox.count("done") != 0; }, wait, [&] { return m.hard(); }) ||
        m.wait_until([&] { return m.inbox.count("done") != 0; }, m.hard() ? 0.5 : 0.0);
    m.mb->flush(1.0);
    if (done && !m.hard()) {
      m.ctx.finalize();
      return code;
    }
    std::fflush(nullptr);
    std::_Exit(code);
  }

  // ---- rank 0 ----
  if (!error.empty()) {
    Peer& self = m.peers[0];
    if (!self.final) {
      self.final = true;
      self.failed_msg = true;
      self.cancelled = m.cancelled;
      self.out.reason = error;
      self.out.exit_code = code;
    }
  }
  const std::string why = error.empty() ? std::string("rank 0 stopped") : "rank 0 failed: " + error;
  if (!m.plan_sent) {
    m.wait_until([&] { return m.all_peers([](const Peer& p) { return p.hello || p.final; }); },
                 std::min(m.rank_timeout, 60.0), [&] { return m.hard(); });
    for (int r = 1; r < m.size; ++r)
      if (!m.peers[static_cast<std::size_t>(r)].final)
        m.post(r, ojson{{"type", "plan"}, {"abort", true}, {"reason", why}});
    m.plan_sent = true;
    m.go_sent = true;  // nobody will wait for "go"
  }
  if (!m.go_sent) {
    m.wait_until([&] { return m.all_peers([](const Peer& p) { return p.ready || p.final; }); },
                 m.rank_timeout, [&] { return m.hard(); });
    for (int r = 1; r < m.size; ++r)
      if (!m.peers[static_cast<std::size_t>(r)].final)
        m.post(r, ojson{{"type", "go"}, {"ok", false}, {"reason", why}});
    m.go_sent = true;
  }
  if (!m.output_written && !m.output.empty()) {
    try {
      code = m.gather_and_write(code);
      if (code == 0) code = to_int(ExitCode::kFailure);
    } catch (const std::exception& e) {
      log::error("could not write {}: {}", m.output, e.what());
      if (code == 0) code = to_int(ExitCode::kFailure);
    }
  }
  for (int r = 1; r < m.size; ++r) m.post(r, ojson{{"type", "done"}});
  m.mb->flush(m.hard() ? 0.2 : 2.0);
  const bool everyone = m.all_peers([](const Peer& p) { return p.final; });
  if (everyone && !m.hard()) {
    m.ctx.finalize();
    return code;
  }
  std::fflush(nullptr);
  std::_Exit(code);
}

}  // namespace kv::engine
