#include "report_html/sequence.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "report_html/page.hpp"

namespace kv::report_html {
namespace {

using namespace parts;

// Where each column's values are in the run summary's option record (docs/mlpstorage.md, "Run
// summary"): the trial's value in per_trial[], the option's aggregate, its spread over the trials.
struct ColumnSource {
  SequenceColumn column;
  std::string per_trial;  // dotted path in a per_trial entry
  std::string aggregate;  // dotted path in the option record
  std::string spread;     // dotted path of the CV in the option record ("" = none)
  bool latency = false;   // not measured when the trial completed no request
};

const std::vector<ColumnSource>& column_sources() {
  static const std::vector<ColumnSource> kColumns = {
      {{"read_bandwidth_gbps", "Storage read", "GiB/s"},
       "read_bandwidth_gbps",
       "aggregated_read_bandwidth_gbps",
       "trial_spread.read_bandwidth_gbps.cv"},
      {{"write_bandwidth_gbps", "Storage write", "GiB/s"},
       "write_bandwidth_gbps",
       "aggregated_write_bandwidth_gbps",
       "trial_spread.write_bandwidth_gbps.cv"},
      {{"device_read_p95_ms", "Device read P95", "ms"},
       "device_read_p95_ms",
       "aggregated_device_read_p95_ms",
       "trial_spread.device_read_p95_ms.cv",
       true},
      {{"device_write_p95_ms", "Device write P95", "ms"},
       "device_write_p95_ms",
       "aggregated_device_write_p95_ms",
       "trial_spread.device_write_p95_ms.cv",
       true},
      {{"avg_throughput_tokens_per_sec", "Throughput", "tokens/s"},
       "avg_throughput_tokens_per_sec",
       "aggregated_avg_throughput_tokens_per_sec",
       "trial_spread.avg_throughput_tokens_per_sec.cv"},
      {{"storage_throughput_tokens_per_sec", "Storage throughput", "tokens/s"},
       "storage_throughput_tokens_per_sec",
       "aggregated_storage_throughput_tokens_per_sec",
       "trial_spread.storage_throughput_tokens_per_sec.cv"},
      {{"end_to_end_p95_ms", "End-to-end P95 (pooled)", "ms"},
       "pooled.end_to_end_latency_ms_p95",
       "pooled_percentiles.mean.end_to_end_latency_ms_p95",
       "",
       true},
  };
  return kColumns;
}

constexpr const char* kCss = R"(
h3{font-size:15px;margin:18px 0 6px}
tr.aggregate td{font-weight:600;background:#f3f6f9}tr.spread td{color:#57606a}
td.st-failed,td.st-error{color:#b42318;font-weight:600}td.st-interrupted,td.st-running{color:#9a6700}
td.st-pending{color:#8a939c}
)";

const Json& option_record(const Sequence& s, int option) {
  return at(at(s.summary, "options"), std::to_string(option).c_str());
}

// The run summary's per_trial entry of (option, trial), or null.
const Json& per_trial_entry(const Sequence& s, int option, int trial) {
  static const Json kNull;
  const Json& pt = at(option_record(s, option), "per_trial");
  if (!pt.is_array()) return kNull;
  for (const auto& e : pt)
    if (number_at(e, "trial") == static_cast<double>(trial)) return e;
  return kNull;
}

std::string trial_name(int trial) {
  return fmt::format("trial {}", trial + 1);
}

std::string option_name(const Sequence& s, int option) {
  const Json& o = at(at(at(s.metadata, "parameters"), "options"), std::to_string(option).c_str());
  const std::string name = str_at(o, "name");
  return fmt::format("Option {}", option) + (name.empty() ? "" : " — " + name);
}

std::vector<const SequenceTrial*> trials_of(const Sequence& s, int option) {
  std::vector<const SequenceTrial*> out;
  for (const auto& t : s.trials)
    if (t.option == option) out.push_back(&t);
  return out;
}

LineChart cdf_frame(const std::string& title) {
  return LineChart{title,
                   Axis{"latency (ms, log scale)", true},
                   Axis{"fraction of operations ≤ x", false, 0, 1},
                   {}};
}

Series cdf_series(const SequenceTrial& t, const std::string& hist, const std::string& what,
                  bool dashed) {
  const Json& r = t.run->results;
  return Series{trial_name(t.trial) + what + fmt::format(" (n={})", histogram_count(r, hist)),
                latency_cdf_ms(r, hist), palette(static_cast<std::size_t>(t.trial)), dashed, true};
}

std::string value_cell(const std::string& key, const std::optional<double>& v,
                       const std::string& suffix) {
  return fmt::format("<td class=\"n\" data-key=\"{}\">{}</td>", key,
                     v ? format_value(v) + suffix : std::string("—"));
}

std::string rows_table(const Sequence& s) {
  std::string o =
      "<table class=\"sequence\" id=\"trials\"><tr><th>Option</th><th>Trial</th><th>Status</th>";
  for (const auto& c : sequence_columns())
    o += "<th>" + escape(c.label) + "<br><span class=\"info\">" + escape(c.unit) + "</span></th>";
  o += "<th>Run report</th></tr>";
  for (const auto& row : sequence_rows(s)) {
    switch (row.kind) {
      case SequenceRow::Kind::kTrial:
        o += fmt::format(
            "<tr class=\"trial\" data-option=\"{0}\" data-trial=\"{1}\"><td>{0}</td>"
            "<td>{2}</td><td class=\"st-{3}\">{3}{4}</td>",
            row.option, row.trial, row.trial + 1, escape(row.status),
            row.counted ? "" : " <span class=\"info\">(not in the aggregate)</span>");
        break;
      case SequenceRow::Kind::kAggregate:
        o += fmt::format(
            "<tr class=\"aggregate\" data-option=\"{}\"><td>{}</td><td colspan=\"2\">aggregate "
            "<span class=\"info\">(mean over trials; P95: max)</span></td>",
            row.option, row.option);
        break;
      case SequenceRow::Kind::kSpread:
        o += fmt::format(
            "<tr class=\"spread\" data-option=\"{}\"><td>{}</td><td colspan=\"2\">spread "
            "<span class=\"info\">(CV over trials)</span></td>",
            row.option, row.option);
        break;
    }
    for (std::size_t i = 0; i < row.values.size(); ++i) {
      std::optional<double> v = row.values[i];
      if (row.kind == SequenceRow::Kind::kSpread && v) v = *v * 100;
      o += value_cell(sequence_columns()[i].key, v,
                      row.kind == SequenceRow::Kind::kSpread ? " %" : "");
    }
    o += "<td>" +
         (row.report_href.empty() ? std::string(row.kind == SequenceRow::Kind::kTrial ? "—" : "")
                                  : "<a href=\"" + escape(row.report_href) + "\" title=\"" +
                                        escape(row.report_href) + "\">report</a>") +
         "</td></tr>";
  }
  return o + "</table>";
}

// Bars of one per_trial value, grouped by option, one bar per trial.
BarChart per_trial_bars(const Sequence& s, const std::string& title, std::size_t column) {
  BarChart c;
  c.title = title;
  c.y_label = sequence_columns()[column].unit;
  int most = 0;
  for (int o : sequence_options(s)) most = std::max(most, static_cast<int>(trials_of(s, o).size()));
  for (int t = 0; t < most; ++t) c.series_names.push_back(trial_name(t));
  for (const auto& row : sequence_rows(s)) {
    if (row.kind != SequenceRow::Kind::kTrial || !row.counted) continue;
    const std::string cat = fmt::format("option {}", row.option);
    if (c.groups.empty() || c.groups.back().category != cat)
      c.groups.push_back({cat, std::vector<double>(static_cast<std::size_t>(most), NAN)});
    if (row.trial >= 0 && row.trial < most)
      c.groups.back().values[static_cast<std::size_t>(row.trial)] =
          row.values[column].value_or(NAN);
  }
  return c;
}

std::string status_banners(const Sequence& s) {
  const Json& md = s.metadata;
  const Json& seq = at(md, "sequence");
  const std::string status = str_at(md, "status");
  const std::string done = fmt::format("{} of {} trials finished", cell(at(seq, "trials_done")),
                                       cell(at(seq, "trials_total")));
  std::string o;
  if (status == "success") {
    o += "<div class=\"banner ok\" id=\"status\">Sequence complete: " + done + ".</div>";
  } else if (status == "running") {
    o += "<div class=\"banner warn\" id=\"status\">In progress: " + done +
         " (this page is rewritten after every trial).</div>";
  } else {
    o += fmt::format("<div class=\"banner {}\" id=\"status\">Sequence {}: {}.{}</div>",
                     status == "interrupted" ? "warn" : "bad", escape(status), done,
                     md.contains("error") && !at(md, "error").is_null()
                         ? " " + escape(str_at(md, "error"))
                         : std::string());
  }
  std::string unmeasured;
  for (const auto& t : s.trials) {
    if (t.run && !measured(t.run->results))
      unmeasured += fmt::format(" option {} {};", t.option, trial_name(t.trial));
  }
  if (!unmeasured.empty())
    o += "<div class=\"banner bad\">Not measured (no request completed inside the window):" +
         escape(unmeasured) + " their latencies are —, not 0.</div>";
  if (flag(s.summary, "partial_failure"))
    o += "<div class=\"banner bad\">Partial failure: some client results are missing (see "
         "missing_files in the run summary).</div>";
  return o;
}

const Json& verification_reasons(const Sequence& s) {
  const Json& r = at(s.metadata, "verification_issues");
  return r.is_array() ? r : at(s.summary, "verification_reasons");
}

std::string verdict_banner(const Sequence& s) {
  const Json& md = s.metadata;
  const std::string v = str_at(md, "verification");
  const Json& reasons = verification_reasons(s);
  return fmt::format(
      "<div class=\"banner {}\" id=\"verdict\">Verification: {}{}{}</div>",
      v == "CLOSED" ? "ok"
      : v == "OPEN" ? "warn"
                    : "bad",
      v.empty() ? "—" : escape(v),
      str_at(md, "status") == "running"
          ? " <span class=\"info\">(of the configuration; what ran is judged when the sequence "
            "ends)</span>"
          : "",
      reasons.is_array() && !reasons.empty()
          ? fmt::format(" — <a href=\"#verification\">{} reason(s)</a>", reasons.size())
          : std::string());
}

std::string reasons_table(const Sequence& s) {
  const Json& reasons = verification_reasons(s);
  if (!reasons.is_array() || reasons.empty())
    return "<p class=\"note\">No reasons: every trial matched its option.</p>";
  std::string o =
      "<table id=\"reasons\"><tr><th>Category</th><th>Option</th><th>Trial</th>"
      "<th>Parameter</th><th>Reason</th></tr>";
  for (const auto& r : reasons) {
    const auto trial = number_at(r, "trial");
    o += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                     escape(str_at(r, "validation")), cell(at(r, "option")),
                     trial ? std::to_string(static_cast<int>(*trial) + 1) : std::string("—"),
                     escape(str_at(r, "parameter")), escape(str_at(r, "message")));
  }
  return o + "</table>";
}

std::string configuration_section(const Sequence& s) {
  const Json& md = s.metadata;
  std::string o;
  const Json& opts = at(at(md, "parameters"), "options");
  if (opts.is_object() && !opts.empty() && opts.begin()->is_object()) {
    o += "<table id=\"options\"><tr><th>Option</th>";
    for (auto k = opts.begin()->begin(); k != opts.begin()->end(); ++k)
      o += "<th>" + escape(k.key()) + "</th>";
    o += "</tr>";
    for (auto it = opts.begin(); it != opts.end(); ++it) {
      o += "<tr><td>" + escape(it.key()) + "</td>";
      for (auto k = opts.begin()->begin(); k != opts.begin()->end(); ++k)
        o += "<td>" + cell(at(*it, k.key().c_str())) + "</td>";
      o += "</tr>";
    }
    o += "</table>";
  }
  Json settings = Json::object();
  const Json& seq = at(md, "sequence");
  if (seq.is_object()) {
    for (auto it = seq.begin(); it != seq.end(); ++it)
      if (!it->is_structured() && it.key() != "summary_file") settings[it.key()] = *it;
  }
  for (const char* k : {"engine", "resolved_cache_dir", "executed_command", "start_time",
                        "end_time", "runtime", "status", "exit_code", "error"}) {
    if (md.is_object() && md.contains(k)) settings[k] = md[k];
  }
  return o + kv_table(settings);
}

}  // namespace

const std::vector<SequenceColumn>& sequence_columns() {
  static const std::vector<SequenceColumn> kCols = [] {
    std::vector<SequenceColumn> v;
    for (const auto& c : column_sources()) v.push_back(c.column);
    return v;
  }();
  return kCols;
}

std::vector<int> sequence_options(const Sequence& s) {
  std::vector<int> out;
  for (const auto& t : s.trials)
    if (std::find(out.begin(), out.end(), t.option) == out.end()) out.push_back(t.option);
  const Json& opts = at(s.summary, "options");
  if (opts.is_object()) {
    for (auto it = opts.begin(); it != opts.end(); ++it) {
      const auto o = number_at(*it, "option");
      if (o && std::find(out.begin(), out.end(), static_cast<int>(*o)) == out.end())
        out.push_back(static_cast<int>(*o));
    }
  }
  return out;
}

std::vector<SequenceRow> sequence_rows(const Sequence& s) {
  std::vector<SequenceRow> rows;
  const auto& cols = column_sources();
  for (int option : sequence_options(s)) {
    bool any_read = false;
    for (const SequenceTrial* t : trials_of(s, option)) {
      SequenceRow row;
      row.option = option;
      row.trial = t->trial;
      row.status = t->status;
      row.report_href = t->report_href;
      const Json& e = per_trial_entry(s, option, t->trial);
      // A trial whose clients' files were all missing summed nothing: not a measured 0.
      const bool read = !e.is_null() && number_at(e, "ranks_read").value_or(1) > 0;
      const bool unmeasured = t->run && !measured(t->run->results);
      // Summaries before failed trials were left out of the reductions have no `counted`.
      row.counted = e.is_null() ||
                    (at(e, "counted").is_boolean() ? flag(e, "counted") : t->status == "success");
      any_read = any_read || (read && row.counted);
      for (const auto& c : cols) {
        std::optional<double> v = read ? number_at(e, c.per_trial) : std::nullopt;
        if (c.latency && unmeasured) v.reset();
        row.values.push_back(v);
      }
      rows.push_back(std::move(row));
    }
    const Json& rec = option_record(s, option);
    if (!rec.is_object()) continue;
    SequenceRow agg, spread;
    agg.kind = SequenceRow::Kind::kAggregate;
    spread.kind = SequenceRow::Kind::kSpread;
    agg.option = spread.option = option;
    for (const auto& c : cols) {
      agg.values.push_back(any_read ? number_at(rec, c.aggregate) : std::nullopt);
      spread.values.push_back(c.spread.empty() ? std::nullopt : number_at(rec, c.spread));
    }
    rows.push_back(std::move(agg));
    rows.push_back(std::move(spread));
  }
  return rows;
}

LineChart trial_bandwidth_chart(const Sequence& s, int option, const std::string& dir) {
  LineChart c;
  c.title = fmt::format("Option {}: storage {} bandwidth per second", option, dir);
  c.x.label = "time in window (s)";
  c.y.label = "GiB/s";
  for (const SequenceTrial* t : trials_of(s, option)) {
    if (!t->run) continue;
    Series ser{trial_name(t->trial), per_second_gibps(t->run->results, "storage", dir),
               palette(static_cast<std::size_t>(t->trial))};
    if (!ser.points.empty()) c.series.push_back(std::move(ser));
  }
  return c;
}

LineChart trial_device_latency_chart(const Sequence& s, int option) {
  LineChart c = cdf_frame(fmt::format("Option {}: storage device latency per object", option));
  for (const SequenceTrial* t : trials_of(s, option)) {
    if (!t->run) continue;
    for (const auto& ser : {cdf_series(*t, "storage_read_device", " read", false),
                            cdf_series(*t, "storage_write_device", " write", true)})
      if (!ser.points.empty()) c.series.push_back(ser);
  }
  return c;
}

LineChart trial_end_to_end_chart(const Sequence& s, int option) {
  LineChart c = cdf_frame(fmt::format("Option {}: end-to-end latency", option));
  for (const SequenceTrial* t : trials_of(s, option)) {
    if (!t->run) continue;
    Series ser = cdf_series(*t, "end_to_end", "", false);
    if (!ser.points.empty()) c.series.push_back(std::move(ser));
  }
  return c;
}

std::string render_sequence(const Sequence& s, const std::string& title_in) {
  const Json& md = s.metadata;
  const Json& seq = at(md, "sequence");
  std::string division = str_at(seq, "division");
  std::transform(division.begin(), division.end(), division.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::toupper(ch)); });
  const std::string title =
      title_in.empty() ? fmt::format("MLPerf Storage KV-cache sequence: {} {} {}", division,
                                     str_at(seq, "systemname"), str_at(md, "run_datetime"))
                       : title_in;
  std::string b = "<h1>" + escape(title) + "</h1>";
  b += fmt::format(
      "<p class=\"sub\">organisation {} · system {} · model {} · {} client(s) on {} host(s), {} "
      "per host · {} trial(s) per option · started {}</p>",
      escape(str_at(seq, "orgname")), escape(str_at(seq, "systemname")),
      escape(str_at(md, "model")), cell(at(seq, "total_ranks")), cell(at(seq, "host_count")),
      cell(at(seq, "npernode")), cell(at(seq, "trials_per_option")),
      escape(str_at(md, "start_time")));
  b += status_banners(s) + verdict_banner(s);

  b += "<h2 id=\"results\">Options × trials</h2>" + rows_table(s);
  b += "<p class=\"note\">Per trial, the run summary's MLPerf values: storage bandwidth and "
       "throughputs summed over the clients, device P95 the largest client P95 (a client's "
       "missing P95 reads 0, as in the reference); end-to-end P95 pooled over the clients. "
       "Aggregate: the mean of the trials' sums and the maximum of their P95s (the submission's "
       "numbers), over the successful trials only: a failed trial is shown with its own values "
       "but left out. Spread: standard deviation / mean over those trials. — = not "
       "measured.</p>";
  b += charts_div({render(per_trial_bars(s, "Storage read bandwidth per trial", 0)),
                   render(per_trial_bars(s, "Storage device read P95 per trial", 2))});
  for (int option : sequence_options(s)) {
    b += fmt::format("<h2 id=\"option-{}\">{}: trials overlaid</h2>", option,
                     escape(option_name(s, option)));
    b += charts_div({render(trial_bandwidth_chart(s, option, "read")),
                     render(trial_bandwidth_chart(s, option, "write")),
                     render(trial_device_latency_chart(s, option)),
                     render(trial_end_to_end_chart(s, option))});
  }
  b += "<p class=\"note\">One colour per trial. Bandwidth: bytes that completed in each second of "
       "the window (the last, partial second scaled to its length), all clients together. "
       "Latency: empirical CDFs of the trial's merged latency histograms (pooled over the "
       "clients; docs/metrics-internals.md); device read solid, write dashed.</p>";
  b += "<h2 id=\"verification\">Verification</h2>" + reasons_table(s);
  b += "<h2 id=\"config\">Configuration</h2>" + configuration_section(s);
  std::string files;
  auto link = [&](const std::string& label, const std::string& href) {
    files +=
        "<li>" + escape(label) + ": <a href=\"" + escape(href) + "\">" + escape(href) + "</a></li>";
  };
  for (const auto& [label, href] : s.files) link(label, href);
  for (const auto& t : s.trials)
    if (!t.results_href.empty())
      link(fmt::format("option {} {} results", t.option, trial_name(t.trial)), t.results_href);
  if (!files.empty()) b += "<h2 id=\"files\">Files</h2><ul>" + files + "</ul>";
  return page(title, b, kCss);
}

}  // namespace kv::report_html
