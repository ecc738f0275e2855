#include "report_html/report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iterator>

#include "core/fs.hpp"
#include "report_html/page.hpp"
#include "report_html/svg.hpp"

namespace kv::report_html {
namespace {

namespace stdfs = std::filesystem;

const char* const kTiers[] = {"storage", "cpu", "gpu"};
const char* const kQos[] = {"interactive", "responsive", "batch"};

using namespace parts;

std::string headline_table(const Run& run) {
  std::string o = "<table class=\"headline\"><tr><th>Metric</th><th>Value</th></tr>";
  for (const auto& m : headline_metrics(run.results)) {
    o += fmt::format("<tr><td>{}</td><td class=\"n\" data-key=\"{}\">{}{}</td></tr>",
                     escape(m.label), m.key, format_value(m.value),
                     m.value && !m.unit.empty() ? " " + escape(m.unit) : "");
  }
  return o + "</table>";
}

std::string status_banner(const Run& run) {
  const Json& r = run.results;
  std::string o;
  if (!measured(r)) {
    o += "<div class=\"banner bad\" id=\"not-measured\">Not measured: no request completed inside "
         "the window. Latencies are shown as — (no sample), not 0; this run passes nothing.</div>";
  } else {
    o += fmt::format("<div class=\"banner ok\">Measured: {} requests completed in {} s.</div>",
                     format_value(number_at(r, "summary.total_requests")),
                     format_value(number_at(r, "summary.elapsed_time")));
  }
  if (flag(r, "interrupted"))
    o +=
        "<div class=\"banner warn\">Interrupted: the run was stopped early (SIGINT/SIGTERM).</div>";
  if (flag(r, "partial_failure")) {
    std::string why;
    if (auto f = r.find("failed_ranks"); f != r.end() && f->is_array()) {
      for (const auto& x : *f)
        why += fmt::format(" rank {} ({}): {};", cell(at(x, "rank")), escape(str_at(x, "host")),
                           escape(str_at(x, "reason")));
    }
    o += "<div class=\"banner bad\">Partial failure:" + why + "</div>";
  }
  return o;
}

// One chart per tier with traffic: per-second read and write GiB/s.
std::vector<std::string> bandwidth_charts(const std::vector<Run>& runs) {
  std::vector<std::string> out;
  for (const char* tier : kTiers) {
    bool any = false;
    for (const auto& r : runs) any = any || tier_has_traffic(r.results, tier);
    if (!any && std::string(tier) != "storage") continue;
    LineChart c;
    c.title = std::string(tier) + " tier bandwidth per second";
    c.x.label = "time in window (s)";
    c.y.label = "GiB/s";
    for (std::size_t i = 0; i < runs.size(); ++i) {
      const std::string prefix = runs.size() > 1 ? runs[i].label + " " : "";
      for (int d = 0; d < 2; ++d) {
        Series s;
        s.name = prefix + (d == 0 ? "read" : "write");
        s.points = per_second_gibps(runs[i].results, tier, d == 0 ? "read" : "write");
        s.color = palette(static_cast<std::size_t>(d));
        s.dashed = i % 2 == 1;
        if (runs.size() > 2) s.color = palette(i * 2 + static_cast<std::size_t>(d));
        c.series.push_back(std::move(s));
      }
    }
    out.push_back(render(c));
  }
  return out;
}

// A CDF chart of several histograms (name, label) over all runs.
std::string cdf_chart(const std::vector<Run>& runs, const std::string& title,
                      const std::vector<std::pair<std::string, std::string>>& hists) {
  LineChart c;
  c.title = title;
  c.x.label = "latency (ms, log scale)";
  c.x.log = true;
  c.y.label = "fraction of operations ≤ x";
  c.y.min = 0;
  c.y.max = 1;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    for (std::size_t h = 0; h < hists.size(); ++h) {
      Series s;
      s.name = (runs.size() > 1 ? runs[i].label + " " : "") + hists[h].second +
               fmt::format(" (n={})", histogram_count(runs[i].results, hists[h].first));
      s.points = latency_cdf_ms(runs[i].results, hists[h].first);
      s.step = true;
      s.dashed = i % 2 == 1;
      s.color = palette(runs.size() > 2 ? i * hists.size() + h : h);
      if (!s.points.empty()) c.series.push_back(std::move(s));
    }
  }
  return render(c);
}

std::vector<std::string> latency_charts(const std::vector<Run>& runs) {
  std::vector<std::string> out;
  out.push_back(cdf_chart(
      runs, "Storage device latency per object",
      {{"storage_read_device", "read device"}, {"storage_write_device", "write device"}}));
  out.push_back(
      cdf_chart(runs, "Storage device latency per chunk",
                {{"storage_read_chunk", "read chunk"}, {"storage_write_chunk", "write chunk"}}));
  out.push_back(cdf_chart(runs, "Request latency",
                          {{"end_to_end", "end-to-end"},
                           {"storage_io", "storage I/O"},
                           {"ttft_proxy", "TTFT proxy"},
                           {"queue_wait", "queue wait"}}));
  std::vector<std::pair<std::string, std::string>> qos;
  for (const char* q : kQos) qos.emplace_back(std::string("qos_") + q, q);
  out.push_back(cdf_chart(runs, "End-to-end latency per QoS class", qos));
  return out;
}

// Queue depth and tier occupancy over time: drawn when the time series carries the gauges
// (sampled at the end of each second, so plotted at t + 1).
std::vector<std::string> gauge_charts(const std::vector<Run>& runs) {
  const std::pair<const char*, const char*> queue_gauges[] = {
      {"queue_depth", "queued requests"},
      {"requests_in_service", "requests in service"},
      {"storage_ops_in_flight", "storage ops in flight"}};
  std::vector<std::string> out;
  LineChart q;
  q.title = "Queue depth and work in flight";
  q.x.label = "time in window (s)";
  q.x.min = 0;  // aligned with the bandwidth charts (the first sample is at 1 s)
  q.y.label = "requests / operations";
  LineChart occ;
  occ.title = "Tier occupancy";
  occ.x.label = "time in window (s)";
  occ.x.min = 0;
  occ.y.label = "GiB used";
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const std::string prefix = runs.size() > 1 ? runs[i].label + " " : "";
    for (std::size_t k = 0; k < std::size(queue_gauges); ++k) {
      Series s{prefix + queue_gauges[k].second,
               gauge_column(runs[i].results, queue_gauges[k].first),
               palette(runs.size() > 2 ? i * std::size(queue_gauges) + k : k), i % 2 == 1, false};
      if (!s.points.empty()) q.series.push_back(std::move(s));
    }
    for (std::size_t t = 0; t < 3; ++t) {
      Series o{prefix + kTiers[t],
               gauge_column(runs[i].results, std::string(kTiers[t]) + "_used_bytes"),
               palette(runs.size() > 2 ? i * 3 + t : t), i % 2 == 1, false};
      for (auto& p : o.points) p.second /= 1024.0 * 1024.0 * 1024.0;
      if (!o.points.empty()) occ.series.push_back(std::move(o));
    }
  }
  if (!q.series.empty()) out.push_back(render(q));
  if (!occ.series.empty()) out.push_back(render(occ));
  return out;
}

std::string spread_table(const Json& r) {
  std::string o =
      "<table><tr><th>Tier</th><th>Direction</th><th>min GiB/s</th><th>median GiB/s</th>"
      "<th>max GiB/s</th></tr>";
  bool any = false;
  for (const char* tier : kTiers) {
    if (!tier_has_traffic(r, tier)) continue;
    for (const char* dir : {"read", "write"}) {
      auto s = per_second_spread(r, tier, dir);
      if (!s) continue;
      any = true;
      o += fmt::format(
          "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td "
          "class=\"n\">{}</td></tr>",
          tier, dir, format_value(s->min), format_value(s->median), format_value(s->max));
    }
  }
  return any ? o + "</table>" : std::string("<p class=\"note\">no per-second time series</p>");
}

std::string qos_table(const Json& r) {
  const Json* q = nullptr;
  if (auto s = r.find("summary"); s != r.end() && s->is_object()) {
    if (auto it = s->find("qos_metrics"); it != s->end() && it->is_object()) q = &*it;
  }
  if (!q) return "<p class=\"note\">no QoS metrics</p>";
  std::string o =
      "<table><tr><th>Class</th><th>Requests</th><th>P95 ms</th><th>Target P95 ms</th>"
      "<th>Compliance</th><th>Verdict <span class=\"info\">(informational)</span></th></tr>";
  for (auto it = q->begin(); it != q->end(); ++it) {
    const Json& c = *it;
    if (flag(c, "no_data") || number_at(c, "total_requests").value_or(0) == 0) {
      o += "<tr><td>" + escape(it.key()) +
           "</td><td class=\"n\">0</td><td class=\"n\">—</td>"
           "<td class=\"n\">" +
           format_value(number_at(c, "sla.target_p95_ms")) +
           "</td><td class=\"n\">—</td><td>no data</td></tr>";
      continue;
    }
    const auto comp = number_at(c, "sla.compliance");
    const bool met = flag(at(c, "sla"), "met");
    o += fmt::format(
        "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>"
        "<td class=\"n\">{}</td><td>{}</td></tr>",
        escape(it.key()), format_value(number_at(c, "total_requests")),
        format_value(number_at(c, "latency_ms.p95")),
        format_value(number_at(c, "sla.target_p95_ms")),
        comp ? format_value(*comp * 100) + " %" : "—", met ? "met" : "not met");
  }
  return o + "</table>";
}

std::string health_table(const Json& r) {
  const Json* h = nullptr;
  if (auto s = r.find("summary"); s != r.end() && s->is_object()) {
    if (auto cs = s->find("cache_stats"); cs != s->end() && cs->is_object()) {
      if (auto it = cs->find("storage_health"); it != cs->end() && it->is_object()) h = &*it;
    }
  }
  if (!h) return "<p class=\"note\">no storage_health block</p>";
  std::string o = fmt::format(
      "<p>Storage health <span class=\"info\">(informational only, not an MLPerf verdict)</span>: "
      "<b>{}</b> ({} of {} criteria){}</p>",
      measured(r) ? escape(str_at(*h, "overall_status")) : std::string("not measured"),
      cell(at(*h, "passed_count")), cell(at(*h, "total_count")),
      h->contains("note") ? " — " + escape(str_at(*h, "note")) : "");
  if (auto c = h->find("criteria"); c != h->end() && c->is_array() && !c->empty()) {
    o += "<table><tr><th>Criterion</th><th>Target</th><th>Actual</th><th>Passed</th></tr>";
    for (const auto& x : *c) {
      o += fmt::format(
          "<tr><td>{}</td><td class=\"n\">{} {}</td><td class=\"n\">{}</td><td>{}</td></tr>",
          escape(str_at(x, "name")), cell(at(x, "target")), escape(str_at(x, "unit")),
          cell(at(x, "actual")), cell(at(x, "passed")));
    }
    o += "</table>";
  }
  return o;
}

std::string ranks_section(const Json& r) {
  auto ranks = r.find("ranks");
  if (ranks == r.end() || !ranks->is_array() || ranks->empty()) return {};
  const std::string cs = "summary.cache_stats.";
  BarChart bw;
  bw.title = "Storage bandwidth per rank";
  bw.y_label = "GiB/s";
  bw.series_names = {"read", "write"};
  BarChart lat;
  lat.title = "Storage device P95 per rank";
  lat.y_label = "ms";
  lat.series_names = {"read", "write"};
  std::string table =
      "<table><tr><th>Rank</th><th>Host</th><th>Status</th><th>Requests</th><th>Read GiB/s</th>"
      "<th>Write GiB/s</th><th>Read device P95 ms</th><th>Write device P95 ms</th>"
      "<th>End-to-end P95 ms</th></tr>";
  for (const auto& k : *ranks) {
    const std::string name = "rank " + cell(at(k, "rank"));
    const bool has = number_at(k, "summary.total_requests").value_or(0) > 0;
    auto val = [&](const std::string& p) { return number_at(k, p); };
    // A rank's summary has no histograms; a latency of exactly 0 ms is what older engines wrote
    // for "no sample", never a measurement.
    auto lat_v = [&](const std::string& p) {
      auto v = has ? val(p) : std::nullopt;
      return v && *v > 0 ? v : std::nullopt;
    };
    bw.groups.push_back({name,
                         {val(cs + "tier_storage_read_bandwidth_gbps").value_or(NAN),
                          val(cs + "tier_storage_write_bandwidth_gbps").value_or(NAN)}});
    lat.groups.push_back({name,
                          {lat_v(cs + "storage_read_device_p95_ms").value_or(NAN),
                           lat_v(cs + "storage_write_device_p95_ms").value_or(NAN)}});
    table += fmt::format(
        "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>"
        "<td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td "
        "class=\"n\">{}</td></tr>",
        name, escape(str_at(k, "host")), escape(str_at(k, "status")),
        format_value(val("summary.total_requests")),
        format_value(val(cs + "tier_storage_read_bandwidth_gbps")),
        format_value(val(cs + "tier_storage_write_bandwidth_gbps")),
        format_value(lat_v(cs + "storage_read_device_p95_ms")),
        format_value(lat_v(cs + "storage_write_device_p95_ms")),
        format_value(lat_v("summary.end_to_end_latency_ms.p95")));
  }
  std::string o = "<h2 id=\"ranks\">Per-rank comparison (MPI)</h2>" +
                  charts_div({render(bw), render(lat)}) + table + "</table>";
  if (auto a = r.find("mlperf_aggregates"); a != r.end() && a->is_object()) {
    o += "<p class=\"note\">MLPerf aggregates: " + escape(str_at(*a, "rule")) + "</p>" +
         kv_table(*a);
  }
  return o;
}

std::string verification_section(const Run& run) {
  const Json& md = run.metadata;
  if (!md.is_object())
    return "<p class=\"note\">No mlpstorage metadata next to this results file: the run was not "
           "made by mlpstorage, so there is no verification (CLOSED/OPEN/INVALID).</p>";
  std::string o = "<table>";
  for (const char* k : {"verification", "matched_option", "status", "exit_code", "run_datetime",
                        "executed_command", "num_ranks"}) {
    if (md.contains(k)) o += "<tr><th>" + std::string(k) + "</th><td>" + cell(md[k]) + "</td></tr>";
  }
  o += "</table>";
  if (auto is = md.find("verification_issues"); is != md.end() && is->is_array() && !is->empty()) {
    o += "<ul>";
    for (const auto& i : *is) o += "<li>" + cell(i) + "</li>";
    o += "</ul>";
  }
  return o;
}

std::string source_line(const Run& run) {
  const Json& r = run.results;
  const Json& c = at(r, "config");
  return fmt::format(
      "<p class=\"sub\">kv-cache {} · model {} · {} users · duration {} s · stop: {}{}{}</p>",
      escape(str_at(r, "engine_version")), escape(str_at(c, "model")), cell(at(c, "num_users")),
      cell(at(c, "duration")), escape(str_at(r, "stop_reason")),
      r.contains("rank_count")
          ? fmt::format(" · {} ranks on {} hosts", cell(r["rank_count"]), cell(at(r, "host_count")))
          : std::string(),
      run.source.empty() ? std::string() : " · " + escape(run.source));
}

}  // namespace

std::string format_value(const std::optional<double>& v) {
  if (!v) return "—";
  const double a = std::abs(*v);
  if (a == 0) return "0";
  if (a >= 1e7) return fmt::format("{:.3g}", *v);
  if (std::trunc(*v) == *v) return fmt::format("{:.0f}", *v);
  if (a >= 100) return fmt::format("{:.1f}", *v);
  if (a >= 10) return fmt::format("{:.2f}", *v);
  if (a >= 1) return fmt::format("{:.3f}", *v);
  return fmt::format("{:.3g}", *v);
}

Run load_run(const stdfs::path& path, std::string label) {
  Run run;
  stdfs::path file;
  run.results = load_results(path, &file);
  run.metadata = load_metadata_near(file);
  run.source = file.string();
  run.label = label.empty() ? path.filename().string() : std::move(label);
  if (run.label.empty()) run.label = path.parent_path().filename().string();
  return run;
}

std::string render_report(const Run& run, const std::string& title_in) {
  const Json& r = run.results;
  const std::string title =
      title_in.empty() ? "kv-cache run report" + (run.label.empty() ? "" : ": " + run.label)
                       : title_in;
  std::string b = "<h1>" + escape(title) + "</h1>" + source_line(run) + status_banner(run);
  // Headline table first, then the per-second bandwidth charts in the same flowing row.
  std::vector<std::string> top = bandwidth_charts({run});
  b += "<h2 id=\"headline\">Headline metrics and bandwidth per second</h2><div class=\"charts\">" +
       headline_table(run);
  for (const auto& c : top) b += "<div class=\"card\">" + c + "</div>";
  b += "</div>";
  b += "<p class=\"note\">Bytes that completed in each second of the window, per tier; the last, "
       "partial second is scaled to its length.</p>" +
       spread_table(r);
  b += "<h2 id=\"latency\">Latency distributions</h2>" + charts_div(latency_charts({run}));
  b += "<p class=\"note\">Empirical CDFs from the results' latency histograms (each value within "
       "0.39 % of the exact one; docs/metrics-internals.md). Device = the time inside the storage "
       "system calls; per chunk = one I/O of --io-chunk-mib.</p>";
  const auto gauges = gauge_charts({run});
  b += "<h2 id=\"occupancy\">Queue depth and tier occupancy</h2>";
  b += gauges.empty() ? "<p class=\"note\">Not recorded: this results file's time series has no "
                        "queue_depth or *_used_bytes columns.</p>"
                      : charts_div(gauges) +
                            "<p class=\"note\">Values sampled at the end of each second (the "
                            "last point: at the stop), not averages. Queued = waiting in the "
                            "request queue; in service = held by a worker; storage ops = object "
                            "reads and writes inside the storage backend. Occupancy = bytes the "
                            "cache accounts to the tier (entries + reservations).</p>";
  b += "<h2 id=\"qos\">QoS and storage health</h2>" + qos_table(r) + health_table(r);
  b += ranks_section(r);
  b += "<h2 id=\"config\">Configuration</h2><div class=\"charts\"><div>" +
       kv_table(at(r, "config")) + "</div><div>" + kv_table(at(r, "io")) + "<br>" +
       kv_table(at(r, "workload_mode")) + "</div></div>";
  b += "<h2 id=\"verification\">Verification</h2>" + verification_section(run);
  return page(title, b);
}

std::vector<ComparisonRow> compare_metrics(const std::vector<Run>& runs) {
  std::vector<ComparisonRow> rows;
  std::vector<std::vector<Metric>> per_run;
  for (const auto& r : runs) per_run.push_back(headline_metrics(r.results));
  for (std::size_t i = 0; i < per_run.size(); ++i) {
    for (const auto& m : per_run[i]) {
      if (std::any_of(rows.begin(), rows.end(),
                      [&](const ComparisonRow& x) { return x.first.key == m.key; }))
        continue;
      ComparisonRow row;
      row.first = m;
      for (const auto& ms : per_run) {
        auto it =
            std::find_if(ms.begin(), ms.end(), [&](const Metric& x) { return x.key == m.key; });
        row.values.push_back(it == ms.end() ? std::nullopt : it->value);
      }
      const auto& a = row.values.front();
      const auto& z = row.values.back();
      if (row.values.size() > 1 && a && z) {
        row.diff = *z - *a;
        if (*a != 0) row.ratio = *z / *a;
      }
      rows.push_back(std::move(row));
    }
  }
  return rows;
}

std::string comparison_text(const std::vector<Run>& runs) {
  std::vector<std::vector<std::string>> cells;
  std::vector<std::string> head = {"Metric"};
  for (const auto& r : runs) head.push_back(r.label);
  head.push_back("Diff");
  head.push_back("Ratio");
  cells.push_back(head);
  for (const auto& row : compare_metrics(runs)) {
    std::vector<std::string> line = {row.first.label +
                                     (row.first.unit.empty() ? "" : " (" + row.first.unit + ")")};
    for (const auto& v : row.values) line.push_back(format_value(v));
    line.push_back(row.diff ? (*row.diff > 0 ? "+" : "") + format_value(row.diff) : "—");
    line.push_back(row.ratio ? fmt::format("{:.3f}x", *row.ratio) : "—");
    cells.push_back(std::move(line));
  }
  std::vector<std::size_t> w(head.size(), 0);
  auto width = [](const std::string& s) {  // code points, so "—" counts as one column
    std::size_t n = 0;
    for (unsigned char c : s) n += (c & 0xC0) != 0x80;
    return n;
  };
  for (const auto& l : cells)
    for (std::size_t c = 0; c < l.size(); ++c) w[c] = std::max(w[c], width(l[c]));
  std::string out;
  for (const auto& l : cells) {
    std::string s;
    for (std::size_t c = 0; c < l.size(); ++c) {
      const std::string pad(w[c] - width(l[c]), ' ');
      s += c == 0 ? l[c] + pad : pad + l[c];
      if (c + 1 < l.size()) s += "  ";
    }
    out += s + "\n";
  }
  return out;
}

std::string render_comparison(const std::vector<Run>& runs, const std::string& title_in) {
  std::string labels;
  for (const auto& r : runs) labels += (labels.empty() ? "" : " vs ") + r.label;
  const std::string title = title_in.empty() ? "kv-cache run comparison: " + labels : title_in;
  std::string b = "<h1>" + escape(title) + "</h1>";
  for (const auto& r : runs) {
    b += "<p class=\"sub\"><b>" + escape(r.label) + "</b>: " + escape(r.source) +
         (measured(r.results) ? "" : " — <b>not measured (no request completed)</b>") + "</p>";
  }
  b += "<h2 id=\"headline\">Headline metrics</h2><table class=\"headline\"><tr><th>Metric</th>";
  for (const auto& r : runs) b += "<th>" + escape(r.label) + "</th>";
  b += fmt::format("<th>Difference ({} − {})</th><th>Ratio</th></tr>", escape(runs.back().label),
                   escape(runs.front().label));
  for (const auto& row : compare_metrics(runs)) {
    b += "<tr><td>" + escape(row.first.label) +
         (row.first.unit.empty() ? "" : " (" + escape(row.first.unit) + ")") + "</td>";
    for (const auto& v : row.values) b += "<td class=\"n\">" + format_value(v) + "</td>";
    b += fmt::format("<td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                     row.diff ? format_value(row.diff) : "—",
                     row.ratio ? fmt::format("{:.3f}×", *row.ratio) : "—");
  }
  b += "</table>";
  b += "<p class=\"note\">Solid lines: " + escape(runs.front().label) +
       (runs.size() > 1 ? "; dashed: " + escape(runs[1].label) : "") + ".</p>";
  b += "<h2 id=\"bandwidth\">Bandwidth per second</h2>" + charts_div(bandwidth_charts(runs));
  b += "<h2 id=\"latency\">Latency distributions</h2>" + charts_div(latency_charts(runs));
  const auto gauges = gauge_charts(runs);
  if (!gauges.empty())
    b += "<h2 id=\"occupancy\">Queue depth and tier occupancy</h2>" + charts_div(gauges);
  return page(title, b);
}

void write_html(const stdfs::path& path, const std::string& html) {
  kv::fs::atomic_write(path, html);
}

}  // namespace kv::report_html
