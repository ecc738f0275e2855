#include "orchestrator/submission/run_summary.hpp"

#include <algorithm>
#include <cmath>
#include <optional>

#include "core/fs.hpp"

namespace kv::orchestrator::submission {

namespace stdfs = std::filesystem;

namespace {

constexpr const char* kSumKeys[] = {"read_bandwidth_gbps", "write_bandwidth_gbps",
                                    "avg_throughput_tokens_per_sec",
                                    "storage_throughput_tokens_per_sec"};
constexpr const char* kMaxKeys[] = {"device_read_p95_ms", "device_write_p95_ms"};

double num_or_zero(const Json& obj, const char* key) {
  if (!obj.is_object()) return 0.0;
  auto it = obj.find(key);
  return it != obj.end() && it->is_number() ? it->get<double>() : 0.0;
}

const Json& sub(const Json& obj, const char* key) {
  static const Json empty = Json::object();
  if (!obj.is_object()) return empty;
  auto it = obj.find(key);
  return it != obj.end() && it->is_object() ? *it : empty;
}

// The first kvcache_results_*.json in `dir` (by name), empty when none.
stdfs::path first_results(const stdfs::path& dir) {
  std::vector<stdfs::path> found;
  std::error_code ec;
  for (stdfs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.rfind("kvcache_results_", 0) == 0 && it->path().extension() == ".json" &&
        it->is_regular_file(ec))
      found.push_back(it->path());
  }
  std::sort(found.begin(), found.end());
  return found.empty() ? stdfs::path() : found.front();
}

Json mean_json(const std::vector<double>& v) {
  if (v.empty()) return 0.0;
  double s = 0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

Json spread(const std::vector<double>& v) {
  Json j = Json::object();
  if (v.empty()) return Json{{"mean", nullptr}, {"stdev", nullptr}, {"cv", nullptr}};
  double m = 0;
  for (double x : v) m += x;
  m /= static_cast<double>(v.size());
  j["mean"] = m;
  if (v.size() < 2) {
    j["stdev"] = nullptr;
    j["cv"] = nullptr;
    return j;
  }
  double ss = 0;
  for (double x : v) ss += (x - m) * (x - m);
  const double sd = std::sqrt(ss / static_cast<double>(v.size() - 1));
  j["stdev"] = sd;
  j["cv"] = m != 0 ? Json(sd / m) : Json(nullptr);
  return j;
}

// Pooled (cluster-wide within the trial) percentiles from the trial's merged results file.
Json pooled_of_trial(const stdfs::path& trial_dir) {
  Json p = Json::object();
  const stdfs::path f = first_results(trial_dir);
  if (f.empty()) return p;
  Json doc;
  try {
    doc = Json::parse(kv::fs::read_file(f, "trial results"));
  } catch (const std::exception&) {
    return p;
  }
  const Json& summary = sub(doc, "summary");
  const Json& cs = sub(summary, "cache_stats");
  for (const char* k : {"storage_read_device_p95_ms", "storage_write_device_p95_ms",
                        "storage_read_device_p99_ms", "storage_write_device_p99_ms"}) {
    if (auto it = cs.find(k); it != cs.end() && it->is_number()) p[k] = *it;
  }
  for (const char* block : {"end_to_end_latency_ms", "storage_io_latency_ms"}) {
    const Json& b = sub(summary, block);
    for (const char* q : {"p95", "p99"}) {
      if (auto it = b.find(q); it != b.end() && it->is_number())
        p[std::string(block) + "_" + q] = *it;
    }
  }
  return p;
}

}  // namespace

Json summarize_option(int option, const std::vector<TrialInput>& trials, int expected_ranks) {
  std::vector<double> sums[4];
  std::vector<double> maxima[2];
  Json missing = Json::array();
  Json cpu_tier = Json::array();
  Json per_trial = Json::array();
  Json failed = Json::array();
  bool any_read = false;  // a counted trial read a client file
  for (const TrialInput& t : trials) {
    // Only successful trials count in the reductions: a failed trial (engine error, no request
    // completed, a client's results missing) is listed, not averaged in as zeros.
    const bool counted = t.status == "success";
    if (!counted) failed.push_back(t.trial);
    double trial_sum[4] = {0, 0, 0, 0};
    double trial_max[2] = {0, 0};
    int ranks_read = 0;
    for (int r = 0; r < expected_ranks; ++r) {
      const stdfs::path rank_dir = t.dir / ("rank_" + std::to_string(r));
      const stdfs::path f = first_results(rank_dir);
      if (f.empty()) {
        missing.push_back(rank_dir.string());
        continue;
      }
      Json doc;
      try {
        doc = Json::parse(kv::fs::read_file(f, "rank results"));
        if (!doc.is_object()) throw std::runtime_error("not an object");
      } catch (const std::exception&) {
        missing.push_back(f.string());
        continue;
      }
      const Json& summary = sub(doc, "summary");
      const Json& cs = sub(summary, "cache_stats");
      if (auto it = cs.find("storage_entries");
          it != cs.end() && it->is_number() && it->get<double>() == 0)
        cpu_tier.push_back(f.string());
      trial_sum[0] += num_or_zero(cs, "tier_storage_read_bandwidth_gbps");
      trial_sum[1] += num_or_zero(cs, "tier_storage_write_bandwidth_gbps");
      trial_sum[2] += num_or_zero(summary, "avg_throughput_tokens_per_sec");
      trial_sum[3] += num_or_zero(summary, "storage_throughput_tokens_per_sec");
      const double rp = num_or_zero(cs, "storage_read_device_p95_ms");
      const double wp = num_or_zero(cs, "storage_write_device_p95_ms");
      trial_max[0] = ranks_read == 0 ? rp : std::max(trial_max[0], rp);
      trial_max[1] = ranks_read == 0 ? wp : std::max(trial_max[1], wp);
      ++ranks_read;
      any_read = any_read || counted;
    }
    Json pt = Json::object();
    pt["trial"] = t.trial;
    pt["status"] = t.status;
    pt["counted"] = counted;
    pt["ranks_read"] = ranks_read;
    for (int i = 0; i < 4; ++i) {
      if (counted) sums[i].push_back(trial_sum[i]);
      pt[kSumKeys[i]] = trial_sum[i];
    }
    for (int i = 0; i < 2; ++i) {
      if (counted) maxima[i].push_back(trial_max[i]);
      pt[kMaxKeys[i]] = ranks_read > 0 ? Json(trial_max[i]) : Json(nullptr);
    }
    pt["pooled"] = pooled_of_trial(t.dir);
    per_trial.push_back(std::move(pt));
  }
  auto max_or_null = [&](const std::vector<double>& v) -> Json {
    if (!any_read || v.empty()) return nullptr;
    return *std::max_element(v.begin(), v.end());
  };
  auto mean_or_null = [&](const std::vector<double>& v) -> Json {
    return any_read ? mean_json(v) : Json(nullptr);
  };
  Json o = Json::object();
  o["option"] = option;
  o["aggregated_read_bandwidth_gbps"] = mean_or_null(sums[0]);
  o["aggregated_write_bandwidth_gbps"] = mean_or_null(sums[1]);
  o["aggregated_avg_throughput_tokens_per_sec"] = mean_or_null(sums[2]);
  o["aggregated_storage_throughput_tokens_per_sec"] = mean_or_null(sums[3]);
  o["aggregated_device_read_p95_ms"] = max_or_null(maxima[0]);
  o["aggregated_device_write_p95_ms"] = max_or_null(maxima[1]);
  o["rank_count"] = expected_ranks;
  o["trial_count"] = static_cast<int>(trials.size() - failed.size());
  o["partial_failure"] = !missing.empty() || !failed.empty();
  o["missing_files"] = std::move(missing);
  o["cpu_tier_ranks"] = std::move(cpu_tier);

  // Ours.
  o["failed_trials"] = std::move(failed);
  o["per_trial"] = per_trial;
  Json sp = Json::object();
  for (int i = 0; i < 4; ++i) sp[kSumKeys[i]] = spread(sums[i]);
  for (int i = 0; i < 2; ++i) {
    std::vector<double> v;
    for (const auto& pt : per_trial)
      if (pt["counted"].get<bool>() && pt[kMaxKeys[i]].is_number())
        v.push_back(pt[kMaxKeys[i]].get<double>());
    sp[kMaxKeys[i]] = spread(v);
  }
  o["trial_spread"] = std::move(sp);
  Json pooled_mean = Json::object(), pooled_max = Json::object();
  std::vector<std::string> keys;
  for (const auto& pt : per_trial) {
    if (!pt["counted"].get<bool>()) continue;
    for (auto it = pt["pooled"].begin(); it != pt["pooled"].end(); ++it)
      if (std::find(keys.begin(), keys.end(), it.key()) == keys.end()) keys.push_back(it.key());
  }
  for (const auto& k : keys) {
    std::vector<double> v;
    for (const auto& pt : per_trial) {
      if (!pt["counted"].get<bool>()) continue;
      if (auto it = pt["pooled"].find(k); it != pt["pooled"].end()) v.push_back(it->get<double>());
    }
    pooled_mean[k] = mean_json(v);
    pooled_max[k] = *std::max_element(v.begin(), v.end());
  }
  o["pooled_percentiles"] = Json{{"mean", pooled_mean}, {"max", pooled_max}};
  return o;
}

Json build_run_summary(const SummaryHeader& h, const std::vector<Json>& options) {
  Json s = Json::object();
  s["schema_version"] = "1.0";
  s["run_datetime"] = h.run_datetime;
  s["npernode"] = h.npernode;
  s["host_count"] = h.host_count;
  s["total_ranks"] = h.total_ranks;
  s["trials_per_option"] = h.trials_per_option;
  Json opts = Json::object();
  bool partial = false;
  for (const auto& o : options) {
    opts[std::to_string(o.value("option", 0))] = o;
    partial = partial || o.value("partial_failure", false);
  }
  s["options"] = std::move(opts);
  s["partial_failure"] = partial;
  return s;
}

Json flat_metrics(const Json& summary) {
  Json m = Json::object();
  if (!summary.is_object()) return m;
  if (auto it = summary.find("total_ranks"); it != summary.end()) m["total_ranks"] = *it;
  if (auto it = summary.find("options"); it != summary.end() && it->is_object()) {
    for (auto o = it->begin(); o != it->end(); ++o) {
      for (auto k = o->begin(); k != o->end(); ++k) {
        if (k.key().rfind("aggregated_", 0) == 0 && (k->is_number() || k->is_null()))
          m["option_" + o.key() + "_" + k.key()] = *k;
      }
      m["option_" + o.key() + "_trial_count"] = o->value("trial_count", 0);
    }
  }
  m["partial_failure"] = summary.value("partial_failure", false);
  return m;
}

}  // namespace kv::orchestrator::submission
