#include "orchestrator/distributed_results.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>

namespace kv::orchestrator {

std::optional<DistributedResults> distributed_results(const Json& results) {
  if (!results.is_object()) return std::nullopt;
  auto rc = results.find("rank_count");
  if (rc == results.end() || !rc->is_number_integer() || rc->get<int>() <= 1) return std::nullopt;
  DistributedResults d;
  d.rank_count = rc->get<int>();
  d.host_count = results.value("host_count", 1);
  d.partial_failure = results.value("partial_failure", false);
  if (auto f = results.find("failed_ranks"); f != results.end() && f->is_array()) {
    for (const auto& e : *f) {
      d.failures.push_back(fmt::format("rank {} ({}): {}", e.value("rank", -1),
                                       e.value("host", std::string("?")),
                                       e.value("reason", std::string("failed"))));
    }
  }
  if (auto ci = results.find("cluster_info");
      ci != results.end() && ci->is_object() && !ci->empty())
    d.cluster_info = *ci;
  if (auto a = results.find("mlperf_aggregates"); a != results.end()) d.mlperf_aggregates = *a;

  // Layout: which ranks ran on which host, in rank order.
  std::vector<std::string> order;
  std::map<std::string, Json> per_host;
  Json ranks = Json::array();
  if (auto rs = results.find("ranks"); rs != results.end() && rs->is_array()) {
    for (const auto& r : *rs) {
      const std::string host = r.value("host", std::string());
      if (!per_host.count(host)) {
        order.push_back(host);
        per_host[host] = Json::array();
      }
      per_host[host].push_back(r.value("rank", -1));
      ranks.push_back(Json{{"rank", r.value("rank", -1)},
                           {"host", host},
                           {"status", r.value("status", std::string())}});
    }
  }
  Json hosts = Json::array();
  for (const auto& h : order) hosts.push_back(Json{{"hostname", h}, {"ranks", per_host[h]}});
  d.layout = Json{{"rank_count", d.rank_count},
                  {"host_count", d.host_count},
                  {"hosts", std::move(hosts)},
                  {"ranks", std::move(ranks)}};
  return d;
}

void set_requested_hosts(Json& cluster_info, const std::vector<std::string>& hosts) {
  if (!cluster_info.is_object()) return;
  Json& md = cluster_info["_metadata"];
  if (!md.is_object()) md = Json::object();
  md["requested_hosts"] = hosts;
}

std::string partial_failure_message(const DistributedResults& d) {
  std::string s = "partial failure";
  for (std::size_t i = 0; i < d.failures.size(); ++i) s += (i == 0 ? ": " : "; ") + d.failures[i];
  return s;
}

namespace {

constexpr const char* kKeptHeadline =
    "no merged results (rank 0 is gone); the ranks kept their own";

// One "kv-cache: rank R (HOST): rank 0 (...) REASON; this rank's results are in PATH" line (or
// "...; this rank has no results ..." / "...; this rank's results could not be saved").
std::optional<KeptRankFile> parse_kept_line(const std::string& line) {
  const std::string head = "kv-cache: rank ";
  const auto at = line.find(head);
  if (at == std::string::npos) return std::nullopt;
  std::size_t pos = at + head.size();
  std::size_t used = 0;
  KeptRankFile f;
  try {
    f.rank = std::stoi(line.substr(pos), &used);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  pos += used;
  if (line.compare(pos, 2, " (") != 0) return std::nullopt;
  const std::string mid = "): rank 0 (";
  const auto host_end = line.find(mid, pos + 2);
  if (host_end == std::string::npos) return std::nullopt;
  f.host = line.substr(pos + 2, host_end - pos - 2);
  const auto root_end = line.find(") ", host_end + mid.size());
  if (root_end == std::string::npos) return std::nullopt;
  // The reason may hold "; " itself: the path clause is the last one.
  const std::string in = "; this rank's results are in ";
  const auto path_at = line.rfind(in);
  const std::size_t reason_from = root_end + 2;
  if (path_at != std::string::npos && path_at >= reason_from) {
    f.reason = line.substr(reason_from, path_at - reason_from);
    f.path = line.substr(path_at + in.size());
  } else {
    const auto clause = line.rfind("; this rank");
    if (clause == std::string::npos || clause < reason_from) return std::nullopt;
    f.reason = line.substr(reason_from, clause - reason_from);
  }
  return f;
}

}  // namespace

KeptRankResults kept_rank_results(const std::filesystem::path& results,
                                  const std::string& engine_stderr, int ranks) {
  std::map<int, KeptRankFile> by_rank;
  std::istringstream lines(engine_stderr);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (auto f = parse_kept_line(line); f && f->rank > 0) by_rank[f->rank] = std::move(*f);
  }
  for (int r = 1; r < ranks; ++r) {
    if (by_rank.count(r)) continue;
    std::filesystem::path p = results;
    p.replace_filename(results.stem().string() + "_rank" + std::to_string(r) +
                       results.extension().string());
    std::error_code ec;
    if (std::filesystem::is_regular_file(p, ec)) by_rank[r] = KeptRankFile{.rank = r, .path = p};
  }
  KeptRankResults k;
  for (auto& [r, f] : by_rank) {
    std::error_code ec;
    f.on_this_host = !f.path.empty() && std::filesystem::is_regular_file(f.path, ec);
    k.files.push_back(std::move(f));
  }
  return k;
}

Json kept_rank_results_json(const KeptRankResults& k) {
  Json files = Json::array();
  Json ranks = Json::array();
  for (const auto& f : k.files) {
    if (!f.path.empty()) ranks.push_back(f.rank);
    files.push_back(Json{{"rank", f.rank},
                         {"host", f.host.empty() ? Json(nullptr) : Json(f.host)},
                         {"path", f.path.empty() ? Json(nullptr) : Json(f.path)},
                         {"on_this_host", f.on_this_host},
                         {"reason", f.reason.empty() ? Json(nullptr) : Json(f.reason)}});
  }
  return Json{{"reason", "no merged results: rank 0 is gone; the other ranks kept their own"},
              {"ranks", std::move(ranks)},
              {"files", std::move(files)}};
}

std::vector<std::string> kept_rank_results_lines(const KeptRankResults& k) {
  std::vector<std::string> lines;
  for (const KeptRankFile& f : k.files)
    lines.push_back(fmt::format("rank {}{}: {}", f.rank,
                                f.host.empty() ? std::string() : " (" + f.host + ")",
                                f.path.empty()   ? std::string("nothing saved")
                                : f.on_this_host ? f.path
                                                 : f.path + " (on that host)"));
  return lines;
}

std::string kept_rank_results_message(const KeptRankResults& k) {
  std::string s = std::string(kKeptHeadline) + ":";
  const auto lines = kept_rank_results_lines(k);
  for (std::size_t i = 0; i < lines.size(); ++i) s += (i == 0 ? " " : "; ") + lines[i];
  return s;
}

std::string read_engine_stderr(const std::filesystem::path& log, std::size_t cap) {
  std::ifstream in(log, std::ios::binary);
  if (!in) return {};
  in.seekg(0, std::ios::end);
  const auto size = static_cast<std::size_t>(std::max<std::streamoff>(0, in.tellg()));
  const std::size_t from = size > cap ? size - cap : 0;
  in.seekg(static_cast<std::streamoff>(from));
  std::string text(size - from, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  return text;
}

}  // namespace kv::orchestrator
