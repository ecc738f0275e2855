#include "engine/results_merge.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>

#include "engine/metrics/latency.hpp"
#include "engine/metrics/reference_accounting.hpp"
#include "engine/metrics/timeseries.hpp"
#include "engine/replay/validation_trace.hpp"
#include "engine/report/health.hpp"
#include "engine/report/latency_blocks.hpp"
#include "engine/results.hpp"
#include "engine/workload/request.hpp"

namespace kv::engine {

using ojson = nlohmann::ordered_json;

namespace {

using report::kCacheStatsFamilies;
using report::kPercentiles;
using report::kSummaryBlocks;

constexpr const char* kRawLists[] = {"end_to_end_latencies", "storage_latencies",
                                     "generation_latencies", "prefill_latencies",
                                     "decode_latencies",     "throughput_timeline"};

using Histograms = std::map<std::string, metrics::Histogram>;
using Docs = std::vector<const ojson*>;

// How one key of the ranks' results combines into the merged document. docs/metrics.md ("MPI
// merge") has the same table in words; keep the two together.
enum class Rule {
  kSum,        // numbers added over the ranks (the default for numbers; objects descend)
  kMax,        // the largest rank's number
  kMin,        // the smallest rank's number
  kSame,       // the same on every rank (a setting, an input file): rank 0's, and a rank that
               // differs is named in merge_notes
  kFirst,      // rank 0's on purpose (documented); other ranks' are in their own files
  kRecompute,  // rebuilt after the sum from merged counts, pooled histograms or per-rank values
  kAll,        // booleans: true when true on every rank
  kAny,        // booleans: true when true on any rank
};

// Keys by JSON pointer; "<block>/*" is the rule of every key of the block without its own entry.
// Keys without a rule: numbers summed, other values rank 0's, objects descended into.
std::map<std::string, Rule> make_rules() {
  using enum Rule;
  std::map<std::string, Rule> r = {
      // top level
      {"/engine_version", kSame},
      {"/stop_reason", kSame},
      {"/interrupted", kAny},
      {"/seed", kRecompute},
      {"/config", kFirst},
      {"/distributed", kRecompute},
      {"/io/*", kSame},
      {"/io/peak_inflight_bytes", kMax},
      {"/io/window_chunk_bytes", kSum},
      {"/io/chunk_latency_ms", kRecompute},
      {"/device_probe", kFirst},
      {"/resources/peak_rss_bytes", kMax},
      {"/resources/cpu_seconds_per_gib", kRecompute},
      {"/resources/note", kRecompute},
      {"/workload/users", kFirst},
      {"/workload/queue_max_depth", kMax},
      {"/workload/failure_examples", kRecompute},
      {"/cache_dir/path", kRecompute},
      {"/cache_dir/temporary", kSame},
      {"/cache_dir/kept", kSame},
      {"/timeseries", kRecompute},
      {"/latency_histograms", kRecompute},
      {"/workload_mode", kSame},
      // summary
      {"/summary/elapsed_time", kMax},
      {"/summary/qos_metrics", kRecompute},
      {"/summary/autoscaling_stats", kFirst},
      {"/summary/multi_turn_stats/hit_rate", kRecompute},
      {"/summary/cache_stats/cache_hit_rate", kRecompute},
      {"/summary/cache_stats/read_write_ratio", kRecompute},
      {"/summary/cache_stats/storage_health", kRecompute},
      {"/summary/autoscaling_summary/mode", kSame},
      {"/summary/autoscaling_summary/offered_load_scaled", kSame},
      {"/summary/autoscaling_summary/sample_interval_s", kSame},
      {"/summary/autoscaling_summary/target_saturation", kSame},
      {"/summary/autoscaling_summary/min_users", kSame},
      {"/summary/autoscaling_summary/max_users", kSame},
      {"/summary/autoscaling_summary/stopped_at_capacity", kAny},
      {"/summary/autoscaling_summary/samples", kMax},
      // RAG: planned and done work is summed (every rank plans its own documents)
      {"/rag_stats/chunk_tokens", kSame},
      {"/rag_stats/max_documents", kSame},
      {"/rag_stats/request_probability", kSame},
      {"/rag_stats/top_k_chunks", kSame},
      {"/rag_stats/retrieval_distribution", kSame},
      {"/rag_stats/ingestion_complete", kAll},
      // ShareGPT: every rank loads the whole dataset and replays it on its own
      {"/dataset_stats/records_read", kSame},
      {"/dataset_stats/conversations", kSame},
      {"/dataset_stats/empty_conversations", kSame},
      {"/dataset_stats/turns", kSame},
      {"/dataset_stats/skipped_pairs", kSame},
      {"/dataset_stats/capped_context", kSame},
      {"/dataset_stats/capped_generation", kSame},
      {"/dataset_stats/context_tokens", kSame},
      {"/dataset_stats/generation_tokens", kSame},
      {"/dataset_stats/sessions_max", kSame},
      {"/dataset_stats/multi_turn", kSame},
      {"/dataset_stats/request_rate", kSame},
      {"/dataset_stats/replay_cycles", kSame},
      {"/dataset_stats/passes_started", kMax},
      {"/dataset_stats/replay_complete", kAll},
      // BurstGPT / Mooncake traces: every rank reads the whole trace on its own
      {"/trace_stats/files", kSame},
      {"/trace_stats/format", kSame},
      {"/trace_stats/bad_lines_skipped", kMax},
      {"/trace_stats/bad_line_samples", kFirst},
      {"/trace_stats/cycles_completed", kMin},
      {"/trace_stats/block_count_mismatches", kMax},
      {"/trace_stats/replay_complete", kAll},
      {"/trace_stats/error", kRecompute},
      {"/mooncake_stats/block_hit_rate", kRecompute},
      {"/mooncake_stats/block_tokens", kSame},
      {"/validation", kRecompute},
      {"/io_trace/path", kRecompute},
      {"/io_trace/compressed", kSame},
      {"/io_trace/real_io", kSame},
      {"/io_trace/latency_column", kSame},
      {"/io_trace/error", kRecompute},
      {"/precondition/threads", kSame},
      {"/precondition/stopped_on_consecutive_failures", kAny},
      {"/precondition/interrupted", kAny},
      {"/precondition/seconds", kMax},
      {"/reference_accounting/window_s", kMax},
      {"/reference_accounting/drain_s", kMax},
      {"/reference_accounting/requests_per_second", kRecompute},
      {"/reference_accounting/avg_throughput_tokens_per_sec", kRecompute},
  };
  for (const char* t : {"gpu", "cpu", "storage"})
    for (const char* dir : {"read", "write"})
      r[std::string("/reference_accounting/tier_") + t + "_" + dir + "_bandwidth_gbps"] =
          kRecompute;
  for (const char* k : kRawLists) r[std::string("/") + k] = kRecompute;
  for (const auto& b : kSummaryBlocks) r[std::string("/summary/") + b.key] = kRecompute;
  return r;
}

const std::map<std::string, Rule>& rules() {
  static const std::map<std::string, Rule> r = make_rules();
  return r;
}

std::optional<Rule> rule_for(const std::string& path) {
  const auto& r = rules();
  if (auto it = r.find(path); it != r.end()) return it->second;
  const auto slash = path.rfind('/');
  if (slash != std::string::npos && slash > 0)
    if (auto it = r.find(path.substr(0, slash) + "/*"); it != r.end()) return it->second;
  return std::nullopt;
}

// A path whose value the sum leaves alone (rank 0's until a later step rebuilds it).
bool not_summed(const std::string& path) {
  const auto rule = rule_for(path);
  return rule && *rule != Rule::kSum;
}

// Paths of kSame keys on which some rank differs from rank 0 (reported in merge_notes).
using Differing = std::set<std::string>;

// Combines one more rank's value `add` into `acc` (rank 0's value, then the running result) by
// the rule of `path`; keys missing in acc are copied.
void sum_into(ojson& acc, const ojson& add, const std::string& path, Differing& differing) {
  if (const auto rule = rule_for(path)) {
    switch (*rule) {
      case Rule::kFirst:
      case Rule::kRecompute: return;
      case Rule::kSame:
        if (acc != add) differing.insert(path);
        return;
      case Rule::kAll:
      case Rule::kAny:
        if (acc.is_boolean() && add.is_boolean())
          acc = *rule == Rule::kAll ? acc.get<bool>() && add.get<bool>()
                                    : acc.get<bool>() || add.get<bool>();
        return;
      case Rule::kMax:
      case Rule::kMin:
        if (acc.is_number() && add.is_number() &&
            (*rule == Rule::kMax ? add.get<double>() > acc.get<double>()
                                 : add.get<double>() < acc.get<double>()))
          acc = add;
        return;
      case Rule::kSum: break;
    }
  }
  if (acc.is_object() && add.is_object()) {
    for (auto it = add.begin(); it != add.end(); ++it) {
      if (!acc.contains(it.key())) {
        acc[it.key()] = it.value();
        continue;
      }
      sum_into(acc[it.key()], it.value(), path + "/" + it.key(), differing);
    }
    return;
  }
  if (!acc.is_number() || !add.is_number()) return;
  if (acc.is_number_unsigned() && add.is_number_unsigned()) {
    acc = acc.get<std::uint64_t>() + add.get<std::uint64_t>();
  } else if (acc.is_number_integer() && add.is_number_integer()) {
    acc = acc.get<std::int64_t>() + add.get<std::int64_t>();
  } else {
    acc = acc.get<double>() + add.get<double>();
  }
}

const ojson* at_ptr(const ojson& j, const std::string& ptr) {
  const ojson::json_pointer p(ptr);
  if (!j.contains(p)) return nullptr;
  return &j.at(p);
}

double num_at(const ojson& j, const std::string& ptr, double dflt = 0.0) {
  const ojson* v = at_ptr(j, ptr);
  return v && v->is_number() ? v->get<double>() : dflt;
}

std::optional<metrics::Histogram> histogram_of(const ojson& results, const char* name,
                                               const char* raw_list) {
  if (const ojson* h = at_ptr(results, std::string("/latency_histograms/") + name);
      h && h->is_object())
    return metrics::Histogram::from_json(nlohmann::json(*h));
  if (raw_list != nullptr) {
    if (const ojson* raw = at_ptr(results, std::string("/") + raw_list); raw && raw->is_array()) {
      metrics::Histogram h;
      for (const auto& v : *raw)
        if (v.is_number()) h.add(v.get<double>());
      return h;
    }
  }
  return std::nullopt;
}

// {mean, percentiles[, max]} in ms; every value null when no rank had a sample (never measured).
ojson block_ms(const metrics::Histogram& h, bool with_max = false) {
  ojson o;
  if (h.count() == 0) {
    o["mean"] = nullptr;
    if (with_max) {
      for (const char* k : {"p50", "p95", "p99", "max"}) o[k] = nullptr;
    } else {
      for (const auto& p : kPercentiles) o[p.name] = nullptr;
    }
    return o;
  }
  o["mean"] = h.sum() / static_cast<double>(h.count()) * 1e3;
  if (with_max) {
    o["p50"] = h.percentile(50) * 1e3;
    o["p95"] = h.percentile(95) * 1e3;
    o["p99"] = h.percentile(99) * 1e3;
    o["max"] = h.max() * 1e3;
    return o;
  }
  for (const auto& p : kPercentiles) o[p.name] = h.percentile(p.p) * 1e3;
  return o;
}

// Max over ranks of a numeric value at `ptr` (nullopt when no rank has it).
std::optional<double> max_over(const std::vector<const ojson*>& docs, const std::string& ptr) {
  std::optional<double> m;
  for (const ojson* d : docs) {
    const ojson* v = at_ptr(*d, ptr);
    if (v && v->is_number()) m = m ? std::max(*m, v->get<double>()) : v->get<double>();
  }
  return m;
}

double sum_over(const std::vector<const ojson*>& docs, const std::string& ptr) {
  double s = 0;
  for (const ojson* d : docs) s += num_at(*d, ptr);
  return s;
}

// The health rules (report/health.hpp) over the cluster: summed volumes and bandwidths, P95s of the
// pooled histograms.
ojson storage_health(const ojson& cs, const Histograms& hist, PerformanceProfile profile) {
  auto count = [&](const char* n) { return hist.count(n) ? hist.at(n).count() : 0; };
  auto p95 = [&](const char* n) { return hist.count(n) ? hist.at(n).percentile(95) * 1e3 : 0.0; };
  // Device time when it was measured, else the tier's.
  auto device_or_tier_p95 = [&](const char* device,
                                const char* tier) -> std::optional<report::StorageP95> {
    if (!count(device) && !count(tier)) return std::nullopt;
    return report::StorageP95{p95(count(device) ? device : tier), count(device) > 0};
  };
  report::HealthInputs in;
  in.profile = profile;
  in.storage_read_gib = cs.value("tier_storage_kv_bytes_read_gb", 0.0);
  in.storage_write_gib = cs.value("tier_storage_kv_bytes_written_gb", 0.0);
  in.storage_read_gibps = cs.value("tier_storage_read_bandwidth_gbps", 0.0);
  in.storage_write_gibps = cs.value("tier_storage_write_bandwidth_gbps", 0.0);
  in.storage_write_p95 = device_or_tier_p95("storage_write_device", "storage_write");
  in.storage_read_p95 = device_or_tier_p95("storage_read_device", "storage_read");
  if (count("cpu_read") || count("cpu_write")) {
    metrics::Histogram both;
    if (hist.count("cpu_read")) both.merge(hist.at("cpu_read"));
    if (hist.count("cpu_write")) both.merge(hist.at("cpu_write"));
    in.cpu_p95_ms = both.percentile(95) * 1e3;
  }
  in.cache_hits = cs.value("cache_hits", 0.0);
  in.cache_misses = cs.value("cache_misses", 0.0);
  return report::storage_health(
      in,
      "informational only (not used by MLPerf v3.0); recomputed from the cluster "
      "totals and pooled percentiles");
}

ojson qos_metrics(const Docs& docs, const Histograms& hist, std::vector<std::string>& notes) {
  ojson q;
  for (int i = 0; i < workload::kNumQos; ++i) {
    const char* name = workload::qos_name(static_cast<workload::QosLevel>(i));
    const std::string base = std::string("/summary/qos_metrics/") + name;
    std::uint64_t total = 0;
    double compliant = 0;
    std::optional<double> target;
    for (const ojson* d : docs) {
      const ojson* c = at_ptr(*d, base);
      if (!c || !c->is_object() || c->value("no_data", false)) continue;
      const auto n = c->value("total_requests", std::uint64_t{0});
      total += n;
      if (const ojson* sla = at_ptr(*c, "/sla"); sla && sla->is_object()) {
        compliant += sla->value("compliance", 0.0) * static_cast<double>(n);
        if (!target) target = sla->value("target_p95_ms", 0.0);
      }
    }
    if (total == 0) {
      q[name] = ojson{{"no_data", true}};
      continue;
    }
    ojson c;
    c["total_requests"] = total;
    const std::string hname = std::string("qos_") + name;
    double p95 = 0;
    if (hist.count(hname) && hist.at(hname).count() == total) {
      c["latency_ms"] = block_ms(hist.at(hname), /*with_max=*/true);
      p95 = c["latency_ms"]["p95"].get<double>();
    } else {  // no histogram for this class: the worst rank's values (documented, noted)
      ojson l;
      for (const char* k : {"mean", "p50", "p95", "p99", "max"})
        l[k] = max_over(docs, base + "/latency_ms/" + k).value_or(0.0);
      c["latency_ms"] = std::move(l);
      p95 = c["latency_ms"]["p95"].get<double>();
      notes.push_back(std::string("summary.qos_metrics.") + name +
                      ".latency_ms: max over ranks (no histogram)");
    }
    c["sla"] = report::qos_sla(target.value_or(0.0), p95, compliant / static_cast<double>(total));
    q[name] = std::move(c);
  }
  return q;
}

// Objects in `node` that look like percentile blocks (have p50 and p95) and were not pooled:
// replaced by the max over ranks of each field.
void max_unknown_blocks(ojson& node, const std::string& ptr, const std::vector<const ojson*>& docs,
                        const std::set<std::string>& done, std::vector<std::string>& notes) {
  if (!node.is_object() || done.count(ptr) || not_summed(ptr)) return;
  if (node.contains("p50") && node.contains("p95")) {
    for (auto it = node.begin(); it != node.end(); ++it)  // null: that rank measured nothing
      if (it.value().is_number() || it.value().is_null())
        if (auto m = max_over(docs, ptr + "/" + it.key())) it.value() = *m;
    notes.push_back(ptr + ": max over ranks (no histogram to pool)");
    return;
  }
  for (auto it = node.begin(); it != node.end(); ++it)
    max_unknown_blocks(it.value(), ptr + "/" + it.key(), docs, done, notes);
}

}  // namespace

std::string per_rank_output_path(const std::string& output, int rank) {
  const std::filesystem::path p(output);
  std::filesystem::path name = p.stem();
  name += "_rank" + std::to_string(rank);
  name += p.extension();
  return (p.parent_path() / name).string();
}

namespace {

// The first rank's results with every other rank's combined in by the rules (make_rules()).
ojson summed_skeleton(const Docs& docs, const MergeContext& mc, std::vector<std::string>& notes) {
  ojson merged;
  if (!docs.empty()) {
    merged = *docs.front();
    Differing differing;
    for (std::size_t i = 1; i < docs.size(); ++i) sum_into(merged, *docs[i], "", differing);
    for (const auto& path : differing)
      notes.push_back(path.substr(1) + ": differs between ranks (the first rank's value is kept)");
  } else if (mc.empty_results) {
    merged = *mc.empty_results;
  } else {
    merged = ojson::object();
  }
  merged.erase("distributed");
  return merged;
}

// Raw per-request lists: concatenated in rank order.
void concat_raw_lists(ojson& merged, const Docs& docs) {
  for (const char* key : kRawLists) {
    if (!merged.contains(key)) continue;
    ojson all = ojson::array();
    for (const ojson* d : docs)
      if (const ojson* v = at_ptr(*d, std::string("/") + key); v && v->is_array())
        for (const auto& x : *v) all.push_back(x);
    merged[key] = std::move(all);
  }
}

// The ranks' latency histograms merged by name, plus histograms of the raw lists for the summary
// blocks without a histogram of their own (same bucketing, so merging them is exactly the histogram
// of the union).
Histograms pooled_histograms(const Docs& docs) {
  Histograms hist;
  for (const ojson* d : docs) {
    if (const ojson* hs = at_ptr(*d, "/latency_histograms"); hs && hs->is_object())
      for (auto it = hs->begin(); it != hs->end(); ++it)
        if (it.value().is_object())
          hist[it.key()].merge(metrics::Histogram::from_json(nlohmann::json(it.value())));
  }
  for (const auto& b : kSummaryBlocks) {
    if (hist.count(b.histogram) || b.raw_list == nullptr) continue;
    metrics::Histogram h;
    bool any = false;
    for (const ojson* d : docs)
      if (auto one = histogram_of(*d, b.histogram, b.raw_list)) {
        h.merge(*one);
        any = true;
      }
    if (any) hist[b.histogram] = h;
  }
  return hist;
}

// cache_stats: ratios recomputed from the summed counts; every percentile key of the table pooled
// from the histogram of its family, the max over ranks when no rank exported that histogram, gone
// when the pooled histogram has no samples; the health verdict recomputed.
void merge_cache_stats(ojson& cs, const Histograms& hist, const Docs& docs,
                       PerformanceProfile profile, std::vector<std::string>& notes) {
  const double hits = cs.value("cache_hits", 0.0), misses = cs.value("cache_misses", 0.0);
  cs["cache_hit_rate"] = hits + misses > 0 ? hits / (hits + misses) : 0.0;
  cs["read_write_ratio"] =
      cs.value("total_read_bytes", 0.0) / std::max(cs.value("total_write_bytes", 0.0), 1.0);
  for (const char* family : kCacheStatsFamilies) {
    const auto it = hist.find(family);
    for (const auto& p : kPercentiles) {
      const std::string k = report::percentile_key(family, p);
      if (!cs.contains(k)) continue;
      if (it != hist.end() && it->second.count() > 0) {
        cs[k] = it->second.percentile(p.p) * 1e3;
      } else if (it == hist.end()) {
        if (auto m = max_over(docs, "/summary/cache_stats/" + k)) cs[k] = *m;
        notes.push_back("summary.cache_stats." + k + ": max over ranks (no histogram)");
      } else {
        cs.erase(k);
      }
    }
  }
  cs["storage_health"] = storage_health(cs, hist, profile);
}

// The run's performance profile (every rank runs with the same flags).
PerformanceProfile profile_of(const Docs& docs) {
  if (docs.empty()) return PerformanceProfile::kLatency;
  const std::string text = docs.front()
                               ->value("config", ojson::object())
                               .value("performance_profile", std::string("latency"));
  return from_text<PerformanceProfile>(text).value_or(PerformanceProfile::kLatency);
}

// summary: elapsed_time is the longest window; latency blocks pooled; cache_stats, qos_metrics and
// multi_turn_stats recomputed; other percentile blocks max over ranks.
void merge_summary(ojson& s, const Histograms& hist, const Docs& docs,
                   std::vector<std::string>& notes) {
  std::set<std::string> pooled;
  if (auto m = max_over(docs, "/summary/elapsed_time")) s["elapsed_time"] = *m;
  for (const auto& b : kSummaryBlocks) {
    if (!s.contains(b.key)) continue;
    pooled.insert(std::string("/summary/") + b.key);
    auto it = hist.find(b.histogram);
    s[b.key] = block_ms(it != hist.end() ? it->second : metrics::Histogram{});
  }
  if (s.contains("cache_stats") && s["cache_stats"].is_object())
    merge_cache_stats(s["cache_stats"], hist, docs, profile_of(docs), notes);
  if (s.contains("qos_metrics")) s["qos_metrics"] = qos_metrics(docs, hist, notes);
  if (s.contains("multi_turn_stats") && s["multi_turn_stats"].is_object()) {
    ojson& mt = s["multi_turn_stats"];
    const double h = mt.value("cache_hits", 0.0), m = mt.value("cache_misses", 0.0);
    mt["hit_rate"] = h / std::max(h + m, 1.0);
  }
  max_unknown_blocks(s, "/summary", docs, pooled, notes);
}

// Our top-level blocks: interrupted, resources, workload, cache_dir, config.
void merge_top_level(ojson& merged, const Docs& docs, const MergeContext& mc) {
  bool any_interrupted = mc.interrupted;
  for (const ojson* d : docs) any_interrupted = any_interrupted || d->value("interrupted", false);
  merged["interrupted"] = any_interrupted;
  if (any_interrupted) merged["stop_reason"] = to_text(StopReason::kSignal);
  if (merged.contains("resources") && merged["resources"].is_object()) {
    ojson& r = merged["resources"];
    if (auto m = max_over(docs, "/resources/peak_rss_bytes"))
      r["peak_rss_bytes"] = static_cast<std::uint64_t>(*m);
    const double moved = num_at(merged, "/summary/cache_stats/total_read_gb") +
                         num_at(merged, "/summary/cache_stats/total_write_gb");
    r["cpu_seconds_per_gib"] =
        moved > 0 ? ojson(r.value("cpu_seconds", 0.0) / moved) : ojson(nullptr);
    r["note"] =
        "cpu seconds and cpu_utilization summed over ranks; peak_rss_bytes is the largest rank's";
  }
  if (merged.contains("workload") && merged["workload"].is_object()) {
    ojson& w = merged["workload"];
    if (auto m = max_over(docs, "/workload/queue_max_depth"))
      w["queue_max_depth"] = static_cast<std::uint64_t>(*m);
    ojson ex = ojson::array();
    for (const ojson* d : docs)
      if (const ojson* v = at_ptr(*d, "/workload/failure_examples"); v && v->is_array())
        for (const auto& x : *v)
          if (ex.size() < 5) ex.push_back(x);
    w["failure_examples"] = std::move(ex);
  }
  if (merged.contains("cache_dir") && merged["cache_dir"].is_object()) {
    merged["cache_dir"]["path"] = mc.cache_dir.empty() ? ojson(nullptr) : ojson(mc.cache_dir);
    merged["cache_dir"]["per_rank_subdirectories"] = !mc.cache_dir.empty();
  }
  if (merged.contains("config") && merged["config"].is_object()) {
    ojson& c = merged["config"];
    c["workload_seed"] = nullptr;  // per rank (base + rank): see ranks[].seed
    c["payload_seed"] = nullptr;
    c["num_users_per_rank"] = c.value("num_users", 0);
    c["num_users_total"] = c.value("num_users", 0) * static_cast<long long>(docs.size());
  }
}

// Time series second by second (the windows start together); the pooled histograms.
void merge_series(ojson& merged, const Docs& docs, const Histograms& hist) {
  // Time series: second by second (the windows start together).
  if (!docs.empty()) {
    std::uint32_t rows = 0;
    for (const ojson* d : docs)
      if (const ojson* t = at_ptr(*d, "/timeseries"); t && t->is_array())
        rows = std::max<std::uint32_t>(rows, static_cast<std::uint32_t>(t->size()));
    metrics::TimeSeries ts(rows + 1);
    for (const ojson* d : docs)
      if (const ojson* t = at_ptr(*d, "/timeseries"); t && t->is_array())
        ts.merge_json(nlohmann::json(*t));
    merged["timeseries"] = ojson(ts.to_json(rows));
  }
  if (!hist.empty() || merged.contains("latency_histograms")) {
    ojson h;
    h["unit"] = "seconds";
    for (auto& [name, hh] : hist) h[name] = ojson(hh.to_json());
    merged["latency_histograms"] = std::move(h);
  }
}

std::optional<double> min_elapsed(const Docs& docs) {
  std::optional<double> m;
  for (const ojson* d : docs) {
    const double v = num_at(*d, "/summary/elapsed_time");
    m = m ? std::min(*m, v) : v;
  }
  return m;
}

ojson or_null(std::optional<double> v) {
  return v ? ojson(*v) : ojson(nullptr);
}

// The MLPerf v3.0 aggregation (the rules' kv_cache summary names) beside the pooled values.
ojson mlperf_aggregates(const Docs& docs, const Histograms& hist,
                        const std::vector<RankOutcome>& ranks) {
  ojson agg;
  agg["rule"] =
      "MLPerf Storage v3.0 kv_cache: bandwidth and tokens/s summed over ranks; device P95 = max "
      "over ranks of "
      "each rank's own P95 (not a pooled percentile)";
  agg["total_ranks"] = docs.size();
  agg["aggregated_read_bandwidth_gbps"] =
      sum_over(docs, "/summary/cache_stats/tier_storage_read_bandwidth_gbps");
  agg["aggregated_write_bandwidth_gbps"] =
      sum_over(docs, "/summary/cache_stats/tier_storage_write_bandwidth_gbps");
  agg["aggregated_storage_throughput_tokens_per_sec"] =
      sum_over(docs, "/summary/storage_throughput_tokens_per_sec");
  agg["aggregated_avg_throughput_tokens_per_sec"] =
      sum_over(docs, "/summary/avg_throughput_tokens_per_sec");
  agg["aggregated_device_read_p95_ms"] =
      or_null(max_over(docs, "/summary/cache_stats/storage_read_device_p95_ms"));
  agg["aggregated_device_write_p95_ms"] =
      or_null(max_over(docs, "/summary/cache_stats/storage_write_device_p95_ms"));
  auto pooled95 = [&](const char* n) {
    auto it = hist.find(n);
    return it != hist.end() && it->second.count() > 0 ? ojson(it->second.percentile(95) * 1e3)
                                                      : ojson(nullptr);
  };
  agg["pooled_device_read_p95_ms"] = pooled95("storage_read_device");
  agg["pooled_device_write_p95_ms"] = pooled95("storage_write_device");
  ojson cpu_tier_ranks = ojson::array();
  for (const auto& r : ranks)
    if (r.results && num_at(*r.results, "/summary/cache_stats/storage_entries", 1.0) == 0.0)
      cpu_tier_ranks.push_back(r.rank);
  agg["cpu_tier_ranks"] = std::move(cpu_tier_ranks);
  return agg;
}

// "rank R: <message>" of the first rank whose value at `ptr` is a string (an error), else null.
ojson first_error(const std::vector<RankOutcome>& ranks, const std::string& ptr) {
  for (const auto& r : ranks)
    if (r.results && r.results->is_object())
      if (const ojson* v = at_ptr(*r.results, ptr); v && v->is_string())
        return "rank " + std::to_string(r.rank) + ": " + v->get<std::string>();
  return nullptr;
}

ojson* block(ojson& merged, const char* key) {
  const auto it = merged.find(key);
  return it != merged.end() && it->is_object() ? &*it : nullptr;
}

// validation: the trace's hit rate (the same file on every rank) against the cluster's.
void merge_validation(ojson& v, double cluster_hit_rate) {
  const ojson* trace = at_ptr(v, "/comparison/cache_hit_rate/trace");
  if (!trace || !trace->is_number()) return;
  replay::ValidationTraceStats t;
  t.cache_hit_rate = trace->get<double>();
  const replay::ValidationResult r = replay::compare_validation(cluster_hit_rate, t);
  v["passed"] = r.passed;
  v["avg_error_pct"] = r.avg_error_pct;
  v["comparison"] = r.comparison;
}

// The blocks the sum leaves to be rebuilt (Rule::kRecompute) outside summary: reference-style
// rates, the Mooncake block hit rate, validation, the I/O trace files, errors, chunk latencies.
void recompute_blocks(ojson& m, const std::vector<RankOutcome>& ranks, const Histograms& hist) {
  if (ojson* ra = block(m, "reference_accounting")) metrics::set_reference_rates(*ra);
  if (ojson* mc = block(m, "mooncake_stats")) {
    const double h = mc->value("block_hits", 0.0), miss = mc->value("block_misses", 0.0);
    (*mc)["block_hit_rate"] = h + miss > 0 ? h / (h + miss) : 0.0;
  }
  if (ojson* ts = block(m, "trace_stats"); ts && ts->contains("error"))
    (*ts)["error"] = first_error(ranks, "/trace_stats/error");
  if (ojson* v = block(m, "validation"))
    merge_validation(*v, num_at(m, "/summary/cache_stats/cache_hit_rate"));
  if (ojson* io = block(m, "io_trace")) {
    ojson paths = ojson::array();  // one trace file per rank (`_rank<r>`), in rank order
    for (const auto& r : ranks)
      if (r.results && r.results->is_object())
        if (const ojson* p = at_ptr(*r.results, "/io_trace/path"); p && p->is_string())
          paths.push_back(*p);
    io->erase("path");
    (*io)["paths"] = std::move(paths);
    (*io)["error"] = first_error(ranks, "/io_trace/error");
  }
  if (const ojson* c = at_ptr(m, "/io/chunk_latency_ms"); c && c->is_object()) {
    auto pooled = [&](const char* name) {
      const auto it = hist.find(name);
      return chunk_latency_ms(it != hist.end() ? it->second : metrics::Histogram{});
    };
    m["io"]["chunk_latency_ms"] =
        ojson{{"read", pooled("storage_read_chunk")}, {"write", pooled("storage_write_chunk")}};
  }
}

// ranks[], rank_count, host_count, partial_failure, failed_ranks, window.
void merge_rank_list(ojson& merged, const std::vector<RankOutcome>& ranks, const Docs& docs) {
  ojson rank_list = ojson::array();
  ojson failed = ojson::array();
  std::set<std::string> hosts;
  std::optional<double> start_min, start_max;
  for (const auto& r : ranks) {
    ojson e;
    e["rank"] = r.rank;
    e["host"] = r.host;
    e["pid"] = r.pid;
    e["status"] = to_text(r.status);
    e["exit_code"] = r.exit_code;
    if (!r.reason.empty()) e["reason"] = r.reason;
    if (!r.host.empty()) hosts.insert(r.host);
    if (r.results) {
      const ojson dist = r.results->value("distributed", ojson::object());
      e["seed"] = dist.value("seed", ojson(nullptr));
      e["cache_dir"] = r.results->value("cache_dir", ojson::object()).value("path", ojson(nullptr));
      e["capacity_sharers"] = dist.value("capacity_sharers", 1);
      const double start = dist.value("window_start_unix_s", 0.0);
      const double elapsed = num_at(*r.results, "/summary/elapsed_time");
      e["window"] = ojson{{"start_unix_s", start}, {"elapsed_s", elapsed}};
      if (start > 0) {
        start_min = start_min ? std::min(*start_min, start) : start;
        start_max = start_max ? std::max(*start_max, start) : start;
      }
      e["summary"] = r.results->value("summary", ojson::object());
    } else if (!r.last_heartbeat.is_null()) {
      e["last_heartbeat"] = r.last_heartbeat;
    }
    if (r.status == RankStatus::kFailed)
      failed.push_back(ojson{{"rank", r.rank}, {"host", r.host}, {"reason", r.reason}});
    rank_list.push_back(std::move(e));
  }
  merged["rank_count"] = ranks.size();
  merged["host_count"] = hosts.size();
  merged["partial_failure"] = !failed.empty();
  merged["failed_ranks"] = std::move(failed);
  merged["window"] =
      ojson{{"aligned_start", true},
            {"start_skew_s", start_min ? ojson(*start_max - *start_min) : ojson(nullptr)},
            {"elapsed_s", num_at(merged, "/summary/elapsed_time")},
            {"elapsed_s_min", or_null(min_elapsed(docs))}};
  merged["ranks"] = std::move(rank_list);
}

}  // namespace

ojson merge_rank_results(const std::vector<RankOutcome>& ranks, const MergeContext& mc) {
  Docs docs;  // ranks with results, in rank order
  for (const auto& r : ranks)
    if (r.results && r.results->is_object()) docs.push_back(&*r.results);
  std::vector<std::string> notes;
  ojson merged = summed_skeleton(docs, mc, notes);
  concat_raw_lists(merged, docs);
  merged["seed"] = mc.base_seed ? ojson(*mc.base_seed) : ojson(nullptr);
  const Histograms hist = pooled_histograms(docs);
  if (merged.contains("summary") && merged["summary"].is_object())
    merge_summary(merged["summary"], hist, docs, notes);
  merge_top_level(merged, docs, mc);
  merge_series(merged, docs, hist);
  recompute_blocks(merged, ranks, hist);
  merged["mlperf_aggregates"] = mlperf_aggregates(docs, hist, ranks);
  merge_rank_list(merged, ranks, docs);
  merged["cluster_info"] = mc.cluster_info;
  if (!notes.empty()) merged["merge_notes"] = notes;
  return merged;
}

}  // namespace kv::engine
