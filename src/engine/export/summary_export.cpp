#include "engine/export/summary_export.hpp"

#include <fmt/format.h>
#include <unistd.h>
#include <xlsxwriter.h>

#include <cmath>
#include <initializer_list>
#include <system_error>
#include <thread>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/fs.hpp"

namespace kv::exporter {

using ojson = nlohmann::ordered_json;

namespace {

Cell to_cell(const ojson* v) {
  if (v == nullptr || v->is_null()) return std::monostate{};
  if (v->is_boolean()) return v->get<bool>();
  if (v->is_number_integer() && !v->is_number_unsigned()) return v->get<std::int64_t>();
  if (v->is_number_unsigned()) {
    const auto u = v->get<std::uint64_t>();
    if (u <= static_cast<std::uint64_t>(INT64_MAX)) return static_cast<std::int64_t>(u);
    return static_cast<double>(u);
  }
  if (v->is_number_float()) return v->get<double>();
  if (v->is_string()) return v->get<std::string>();
  return v->dump();  // object / array / binary
}

// Follows `path` through nested objects; nullptr if any step is missing or not an object.
const ojson* find_path(const ojson& root, std::initializer_list<const char*> path) {
  const ojson* cur = &root;
  for (const char* key : path) {
    if (!cur->is_object()) return nullptr;
    auto it = cur->find(key);
    if (it == cur->end()) return nullptr;
    cur = &*it;
  }
  return cur;
}

const ojson& summary_of(const ojson& results) {
  static const ojson kEmpty = ojson::object();
  const ojson* s = find_path(results, {"summary"});
  return s != nullptr && s->is_object() ? *s : kEmpty;
}

std::optional<double> as_number(const ojson* v) {
  if (v == nullptr || !v->is_number()) return std::nullopt;
  return v->get<double>();
}

}  // namespace

std::string cell_text(const Cell& c) {
  struct V {
    std::string operator()(std::monostate) const { return {}; }
    std::string operator()(bool b) const { return b ? "True" : "False"; }
    std::string operator()(std::int64_t i) const { return std::to_string(i); }
    std::string operator()(double d) const {
      if (std::isnan(d)) return "nan";
      if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
      std::string s = fmt::format("{}", d);
      if (s.find_first_of(".eE") == std::string::npos) s += ".0";
      return s;
    }
    std::string operator()(const std::string& s) const { return s; }
  };
  return std::visit(V{}, c);
}

std::vector<Column> summary_run_parameters(const ojson& params) {
  std::vector<Column> cols;
  auto get = [&](const char* key) -> const ojson* { return find_path(params, {key}); };
  auto add = [&](const char* name, const char* key) { cols.push_back({name, to_cell(get(key))}); };
  auto add_not = [&](const char* name, const char* key) {
    const ojson* v = get(key);
    cols.push_back({name, v != nullptr && v->is_boolean() ? Cell(!v->get<bool>()) : to_cell(v)});
  };
  auto add_default = [&](const char* name, const char* key, const char* dflt) {
    const ojson* v = get(key);
    const bool empty =
        v != nullptr && (v->is_null() || (v->is_string() && v->get<std::string>().empty()));
    cols.push_back({name, empty ? Cell(std::string(dflt)) : to_cell(v)});
  };

  const ojson* ts = get("timestamp");
  cols.push_back(
      {"Timestamp", ts != nullptr ? to_cell(ts) : Cell(local_time_string("%Y-%m-%d %H:%M:%S"))});
  add("Model", "model");
  add("Num Users", "num_users");
  add("Duration (s)", "duration");
  add("GPU Memory per Card (GiB)", "gpu_mem_gb");
  add("Num GPUs", "num_gpus");
  add("Tensor Parallel", "tensor_parallel");
  {
    auto mem = as_number(get("gpu_mem_gb"));
    auto n = as_number(get("num_gpus"));
    cols.push_back({"Total GPU Memory (GiB)", mem && n ? Cell(*mem * *n) : Cell(std::monostate{})});
  }
  add("CPU Memory (GiB)", "cpu_mem_gb");
  add("Generation Mode", "generation_mode");
  add("Performance Profile", "performance_profile");
  add_not("Multi-turn", "disable_multi_turn");
  add_not("Prefix Caching", "disable_prefix_caching");
  add("RAG Enabled", "enable_rag");
  add("Autoscaling", "enable_autoscaling");
  add("Seed", "seed");
  add("Max Concurrent Allocs", "max_concurrent_allocs");
  add("Request Rate", "request_rate");
  add("Max Requests", "max_requests");
  add_default("Dataset Path", "dataset_path", "N/A");
  add_default("Cache Dir", "cache_dir", "temp");
  add("Storage Capacity (GiB)", "storage_capacity_gb");
  add("Precondition", "precondition");
  add("Precondition Size (GiB)", "precondition_size_gb");
  {
    const ojson* v = get("precondition_threads");
    auto n = as_number(v);
    if (n && *n <= 0) {
      const unsigned hc = std::thread::hardware_concurrency();
      cols.push_back({"Precondition Threads", Cell(static_cast<std::int64_t>(hc > 0 ? hc : 4))});
    } else {
      cols.push_back({"Precondition Threads", to_cell(v)});
    }
  }
  add("Trace Speedup", "trace_speedup");
  add("Replay Cycles", "replay_cycles");
  if (const ojson* extra = get("extra"); extra != nullptr && extra->is_object()) {
    for (auto it = extra->begin(); it != extra->end(); ++it)
      cols.push_back({it.key(), to_cell(&it.value())});
  }
  return cols;
}

std::vector<Column> summary_metrics(const ojson& results) {
  const ojson& s = summary_of(results);
  std::vector<Column> cols;
  auto add = [&](std::string name, std::initializer_list<const char*> path) {
    cols.push_back({std::move(name), to_cell(find_path(s, path))});
  };
  add("Total Requests", {"total_requests"});
  add("Total Tokens", {"total_tokens"});
  add("Elapsed Time (s)", {"elapsed_time"});
  add("Avg Throughput (tok/s)", {"avg_throughput_tokens_per_sec"});
  add("Storage Throughput (tok/s)", {"storage_throughput_tokens_per_sec"});
  add("Requests/sec", {"requests_per_second"});

  struct Pct {
    const char* label;
    const char* key;
  };
  static constexpr Pct kAll[] = {{"Mean", "mean"}, {"P50", "p50"},    {"P95", "p95"},
                                 {"P99", "p99"},   {"P99.9", "p999"}, {"P99.99", "p9999"}};
  auto latency = [&](const char* label, const char* obj, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      add(fmt::format("{} Latency {} (ms)", label, kAll[i].label), {obj, kAll[i].key});
    }
  };
  latency("E2E", "end_to_end_latency_ms", 6);
  latency("Storage", "storage_io_latency_ms", 6);
  latency("Gen", "generation_latency_ms", 4);

  // Storage tier percentiles: Total, Device, Host x Read, Write x P50..P99.99 (cache_stats).
  struct Part {
    const char* label;
    const char* infix;
  };
  static constexpr Part kParts[] = {{"Total", ""}, {"Device", "device_"}, {"Host", "host_"}};
  for (const auto& part : kParts) {
    for (const char* op : {"Read", "Write"}) {
      const std::string opk = op[0] == 'R' ? "read" : "write";
      for (std::size_t i = 1; i < 6; ++i) {
        const std::string key = fmt::format("storage_{}_{}{}_ms", opk, part.infix, kAll[i].key);
        cols.push_back({fmt::format("Storage Tier {} {} {} (ms)", op, part.label, kAll[i].label),
                        to_cell(find_path(s, {"cache_stats", key.c_str()}))});
      }
    }
  }

  add("Cache Hit Rate", {"cache_stats", "cache_hit_rate"});
  add("Read/Write Ratio", {"cache_stats", "read_write_ratio"});
  add("Total Read (GiB)", {"cache_stats", "total_read_gb"});
  add("Total Write (GiB)", {"cache_stats", "total_write_gb"});

  struct TierName {
    const char* label;
    const char* key;
  };
  static constexpr TierName kTiers[] = {{"GPU", "gpu"}, {"CPU", "cpu"}, {"Storage", "storage"}};
  for (const char* dir : {"Written", "Read"}) {
    for (const auto& t : kTiers) {
      const std::string key =
          fmt::format("tier_{}_kv_bytes_{}_gb", t.key, dir[0] == 'W' ? "written" : "read");
      cols.push_back({fmt::format("Tier {} KV Bytes {} (GiB)", t.label, dir),
                      to_cell(find_path(s, {"cache_stats", key.c_str()}))});
    }
  }
  for (const auto& t : kTiers) {
    for (const char* op : {"Read", "Write"}) {
      const std::string key =
          fmt::format("tier_{}_{}_bandwidth_gbps", t.key, op[0] == 'R' ? "read" : "write");
      cols.push_back({fmt::format("Tier {} {} Bandwidth (GiB/s)", t.label, op),
                      to_cell(find_path(s, {"cache_stats", key.c_str()}))});
    }
  }
  add("GPU Entries", {"cache_stats", "gpu_entries"});
  add("CPU Entries", {"cache_stats", "cpu_entries"});
  add("Storage Entries", {"cache_stats", "storage_entries"});
  add("Multi-turn Hit Rate", {"multi_turn_stats", "hit_rate"});
  return cols;
}

std::vector<QosRow> summary_qos_rows(const ojson& results, bool throughput_profile) {
  std::vector<QosRow> rows;
  const ojson* q = find_path(summary_of(results), {"qos_metrics"});
  if (q == nullptr || !q->is_object()) return rows;
  const Cell na = std::string("N/A (throughput mode)");
  for (auto it = q->begin(); it != q->end(); ++it) {
    const ojson& d = it.value();
    if (!d.is_object()) continue;
    if (const ojson* nd = find_path(d, {"no_data"});
        nd != nullptr && nd->is_boolean() && nd->get<bool>())
      continue;
    QosRow r;
    r.level = it.key();
    r.total_requests = to_cell(find_path(d, {"total_requests"}));
    r.latency_p95_ms = to_cell(find_path(d, {"latency_ms", "p95"}));
    r.latency_p99_ms = to_cell(find_path(d, {"latency_ms", "p99"}));
    r.sla_met = throughput_profile ? na : to_cell(find_path(d, {"sla", "met"}));
    r.sla_compliance = throughput_profile ? na : to_cell(find_path(d, {"sla", "compliance"}));
    rows.push_back(std::move(r));
  }
  return rows;
}

namespace {
void csv_field(std::string& out, const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) {
    out += s;
    return;
  }
  out += '"';
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

// ---- xlsx ----
class Workbook {
 public:
  Workbook(const std::string& path, const std::string& flag) : flag_(flag), path_(path) {
    wb_ = workbook_new(path.c_str());
    if (wb_ == nullptr) throw Error(ExitCode::kFailure, flag + ": cannot create workbook " + path);
    bold_ = workbook_add_format(wb_);
    format_set_bold(bold_);
  }
  ~Workbook() {
    if (wb_ != nullptr) workbook_close(wb_);
  }
  Workbook(const Workbook&) = delete;
  Workbook& operator=(const Workbook&) = delete;

  lxw_worksheet* sheet(const char* name) {
    lxw_worksheet* ws = workbook_add_worksheet(wb_, name);
    if (ws == nullptr) throw Error(ExitCode::kFailure, flag_ + ": cannot add sheet " + name);
    return ws;
  }
  void header(lxw_worksheet* ws, lxw_row_t row, lxw_col_t col, const std::string& text) {
    worksheet_write_string(ws, row, col, text.c_str(), bold_);
  }
  static void cell(lxw_worksheet* ws, lxw_row_t row, lxw_col_t col, const Cell& c) {
    if (std::holds_alternative<std::monostate>(c)) return;
    if (const bool* b = std::get_if<bool>(&c)) {
      worksheet_write_boolean(ws, row, col, *b ? 1 : 0, nullptr);
    } else if (const auto* i = std::get_if<std::int64_t>(&c)) {
      worksheet_write_number(ws, row, col, static_cast<double>(*i), nullptr);
    } else if (const double* d = std::get_if<double>(&c); d != nullptr && std::isfinite(*d)) {
      worksheet_write_number(ws, row, col, *d, nullptr);
    } else {
      std::string s = cell_text(c);
      if (s.size() > 32767) s.resize(32767);  // Excel's cell limit
      worksheet_write_string(ws, row, col, s.c_str(), nullptr);
    }
  }
  void close() {
    const lxw_error err = workbook_close(wb_);
    wb_ = nullptr;
    if (err != LXW_NO_ERROR) {
      throw Error(ExitCode::kFailure, flag_ + ": cannot write " + path_ + ": " + lxw_strerror(err));
    }
  }

 private:
  std::string flag_, path_;
  lxw_workbook* wb_ = nullptr;
  lxw_format* bold_ = nullptr;
};

void write_two_columns(Workbook& wb, const char* sheet, const char* key_header,
                       const std::vector<Column>& cols) {
  lxw_worksheet* ws = wb.sheet(sheet);
  wb.header(ws, 0, 0, key_header);
  wb.header(ws, 0, 1, "Value");
  lxw_row_t r = 1;
  for (const auto& c : cols) {
    worksheet_write_string(ws, r, 0, c.name.c_str(), nullptr);
    Workbook::cell(ws, r, 1, c.value);
    ++r;
  }
  worksheet_set_column(ws, 0, 0, 36, nullptr);
  worksheet_set_column(ws, 1, 1, 18, nullptr);
}

void check_parent(const std::filesystem::path& path, const std::string& flag) {
  const auto parent = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  std::error_code ec;
  if (!std::filesystem::is_directory(parent, ec)) {
    throw Error(ExitCode::kFileNotFound,
                flag + ": directory " + parent.string() + " does not exist");
  }
}
}  // namespace

std::string summary_csv(const std::vector<Column>& columns) {
  std::string out;
  for (std::size_t i = 0; i < columns.size(); ++i) {
    if (i > 0) out += ',';
    csv_field(out, columns[i].name);
  }
  out += '\n';
  for (std::size_t i = 0; i < columns.size(); ++i) {
    if (i > 0) out += ',';
    csv_field(out, cell_text(columns[i].value));
  }
  out += '\n';
  return out;
}

std::filesystem::path write_summary(const std::filesystem::path& path, const ojson& results,
                                    const ojson& run_params, const std::string& flag) {
  const std::vector<Column> params = summary_run_parameters(run_params);
  const std::vector<Column> metrics = summary_metrics(results);
  std::vector<Column> row = params;
  row.insert(row.end(), metrics.begin(), metrics.end());

  const std::string name = path.string();
  if (!name.ends_with(".xlsx")) {
    const std::filesystem::path csv =
        name.ends_with(".csv") ? path : std::filesystem::path(name + ".csv");
    check_parent(csv, flag);
    try {
      fs::atomic_write(csv, summary_csv(row));
    } catch (const Error& e) {
      throw Error(e.code(), flag + ": " + e.what());
    }
    return csv;
  }

  check_parent(path, flag);
  const std::string tmp = name + ".tmp." + std::to_string(::getpid());
  try {
    Workbook wb(tmp, flag);
    {
      lxw_worksheet* ws = wb.sheet("Summary");
      for (std::size_t i = 0; i < row.size(); ++i) {
        wb.header(ws, 0, static_cast<lxw_col_t>(i), row[i].name);
        Workbook::cell(ws, 1, static_cast<lxw_col_t>(i), row[i].value);
      }
    }
    write_two_columns(wb, "Run Parameters", "Parameter", params);
    write_two_columns(wb, "Performance Metrics", "Metric", metrics);
    {
      const ojson* profile = find_path(run_params, {"performance_profile"});
      const bool throughput =
          profile != nullptr && profile->is_string() && profile->get<std::string>() == "throughput";
      lxw_worksheet* ws = wb.sheet("QoS Metrics");
      const char* headers[] = {"QoS Level",        "Total Requests", "Latency P95 (ms)",
                               "Latency P99 (ms)", "SLA Met",        "SLA Compliance"};
      for (lxw_col_t c = 0; c < 6; ++c) wb.header(ws, 0, c, headers[c]);
      lxw_row_t r = 1;
      for (const auto& q : summary_qos_rows(results, throughput)) {
        worksheet_write_string(ws, r, 0, q.level.c_str(), nullptr);
        Workbook::cell(ws, r, 1, q.total_requests);
        Workbook::cell(ws, r, 2, q.latency_p95_ms);
        Workbook::cell(ws, r, 3, q.latency_p99_ms);
        Workbook::cell(ws, r, 4, q.sla_met);
        Workbook::cell(ws, r, 5, q.sla_compliance);
        ++r;
      }
    }
    wb.close();
  } catch (...) {
    std::error_code ec;
    std::filesystem::remove(tmp, ec);
    throw;
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    throw Error(ExitCode::kFailure, flag + ": cannot rename into " + name + ": " + ec.message());
  }
  return path;
}

}  // namespace kv::exporter
