#include "engine/mpi/roster.hpp"

#include <fmt/format.h>

#include <map>
#include <set>

#include "cluster/cluster.hpp"
#include "core/error.hpp"
#include "core/log.hpp"

namespace kv::engine::mpi {

namespace {

double since(Roster::Clock::time_point t) {
  return std::chrono::duration<double>(Roster::Clock::now() - t).count();
}

std::string fs_key(const Roster::Peer& p) {
  return p.out.host + "|" + (p.hello_msg ? p.hello_msg->fs : std::string());
}

}  // namespace

Roster::Roster(int size, const Sender& self) : peers_(static_cast<std::size_t>(size)) {
  Peer& p = peers_.at(0);
  p.hello = true;
  p.out.host = self.host;
  p.out.pid = self.pid;
}

bool Roster::absorb(int source, const Message& m) {
  if (source <= 0 || source >= size()) return false;
  Peer& p = (*this)[source];
  p.last_seen = Clock::now();
  if (const auto* h = std::get_if<Hello>(&m)) {
    p.hello = true;
    p.out.host = h->from.host;
    p.out.pid = h->from.pid;
    p.hello_msg = *h;
  } else if (std::holds_alternative<Ready>(m)) {
    p.ready = true;
  } else if (const auto* hb = std::get_if<Heartbeat>(&m)) {
    p.last_hb = *hb;
  } else if (const auto* r = std::get_if<Result>(&m)) {
    p.final = true;
    p.out.exit_code = r->exit_code;
    if (r->results) p.out.results = r->results;
  } else if (const auto* f = std::get_if<Failed>(&m)) {
    p.final = true;
    p.failed_msg = true;
    p.cancelled = f->cancelled;
    p.out.reason = f->reason;
    p.out.exit_code = f->exit_code;
    if (p.out.host.empty()) p.out.host = f->from.host;
    if (p.out.pid == 0) p.out.pid = f->from.pid;
  } else {
    return false;  // plan, go, done: messages rank 0 sends, never receives
  }
  return true;
}

bool Roster::all_peers(const std::function<bool(const Peer&)>& f) const {
  for (int r = 1; r < size(); ++r)
    if (!f((*this)[r])) return false;
  return true;
}

unsigned Roster::sharers(int r) const {
  if (!(*this)[r].hello) return 1;
  unsigned n = 0;
  const std::string key = fs_key((*this)[r]);
  for (const Peer& p : peers_)
    if (p.hello && fs_key(p) == key) ++n;
  return n;
}

std::string Roster::missing_reason(const Peer& p, const Ending& e) const {
  std::string s = e.stopped ? "no result before the job was stopped"
                            : fmt::format("no result within --rank-timeout {} s", e.rank_timeout);
  if (p.last_hb) {
    s += fmt::format(
        " (last heartbeat {:.1f} s into the window, {} requests completed, {:.1f} s before rank "
        "0 gave up)",
        p.last_hb->t, p.last_hb->completed, since(p.last_seen));
  } else if (p.ready) {
    s += " (it was ready; no heartbeat received)";
  } else if (p.hello) {
    s += " (it started; never reported ready)";
  } else {
    s += " (it never reported at start-up)";
  }
  return s + ": killed, crashed, hung or unreachable";
}

std::string exit_reason(int code, const ojson& results) {
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

std::vector<RankOutcome> Roster::outcomes(const Ending& e) const {
  std::vector<RankOutcome> v;
  for (int r = 0; r < size(); ++r) {
    const Peer& p = (*this)[r];
    RankOutcome o = p.out;
    o.rank = r;
    o.last_heartbeat = p.last_hb ? p.last_hb->to_json() : ojson();
    if (o.results) {
      const bool ok = o.exit_code == 0 || o.exit_code == to_int(ExitCode::kInterrupted);
      o.status = ok ? RankStatus::kOk : RankStatus::kFailed;
      o.reason = ok ? std::string() : exit_reason(o.exit_code, *o.results);
    } else if (p.failed_msg) {
      o.status = p.cancelled ? RankStatus::kCancelled : RankStatus::kFailed;
    } else {
      o.status = RankStatus::kFailed;
      o.reason =
          e.provisional ? "no result received yet when the job was stopped" : missing_reason(p, e);
      if (o.exit_code == 0) o.exit_code = -1;
    }
    v.push_back(std::move(o));
  }
  return v;
}

ojson Roster::cluster_info() const {
  std::vector<cluster::HostInfo> hosts;
  std::vector<std::string> names;
  std::set<std::string> seen;
  for (int r = 0; r < size(); ++r) {
    const Peer& p = (*this)[r];
    if (!p.hello || !p.hello_msg || p.hello_msg->host_info.is_null()) continue;
    try {
      cluster::HostInfo h = cluster::HostInfo::from_json(p.hello_msg->host_info);
      h.mpi_rank = r;
      if (!seen.insert(h.hostname).second) continue;
      names.push_back(h.hostname);
      hosts.push_back(std::move(h));
    } catch (const std::exception& ex) {
      log::warn("rank {}'s host facts are unreadable: {}", r, ex.what());
    }
  }
  return cluster::normalise(hosts, "mpi", names);
}

}  // namespace kv::engine::mpi
