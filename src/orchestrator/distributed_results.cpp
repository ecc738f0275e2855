#include "orchestrator/distributed_results.hpp"

#include <fmt/format.h>

#include <map>

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

}  // namespace kv::orchestrator
