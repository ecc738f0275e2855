#include "orchestrator/verify.hpp"

#include <fmt/format.h>

#include "model/model.hpp"

namespace kv::orchestrator {

const char* category_name(Category c) {
  switch (c) {
    case Category::kClosed: return "CLOSED";
    case Category::kOpen: return "OPEN";
    case Category::kInvalid: return "INVALID";
  }
  return "INVALID";
}

Json Issue::to_json() const {
  return Json{{"validation", category_name(validation)},
              {"message", message},
              {"parameter", parameter},
              {"expected", expected},
              {"actual", actual}};
}

const std::array<OfficialOption, 3>& official_options() {
  static const std::array<OfficialOption, 3> opts = {{
      {1, "Max Storage Stress", "llama3.1-8b", 200, 0.0, 16},
      {2, "Storage Throughput", "llama3.1-8b", 100, 4.0, 16},
      {3, "Large Model (70B)", "llama3.1-70b-instruct", 70, 0.0, 4},
  }};
  return opts;
}

Workload Workload::from_options(const KvcacheOptions& kv, const std::string& effective_cache_dir) {
  Workload w;
  w.model = kv.model;
  w.num_users = kv.num_users;
  w.duration = kv.duration;
  w.gpu_mem_gb = kv.gpu_mem_gb;
  w.cpu_mem_gb = kv.cpu_mem_gb;
  w.cache_dir = effective_cache_dir;
  w.generation_mode = kv.generation_mode;
  w.performance_profile = kv.performance_profile;
  w.seed = kv.seed;
  w.max_concurrent_allocs = kv.max_concurrent_allocs.value_or(0);
  w.disable_multi_turn = kv.disable_multi_turn;
  w.disable_prefix_caching = kv.disable_prefix_caching;
  w.enable_rag = kv.enable_rag;
  w.rag_num_docs = kv.rag_num_docs;
  w.enable_autoscaling = kv.enable_autoscaling;
  w.autoscaler_mode = kv.autoscaler_mode;
  w.io_engine = kv.io_engine;
  w.direct_io = kv.direct_io;
  w.kvcache_params = kv.kvcache_params;
  return w;
}

Workload Workload::from_parameters(const Json& p) {
  Workload w;
  if (!p.is_object()) return w;
  auto str = [&](const char* k, std::string& out) {
    if (auto it = p.find(k); it != p.end() && it->is_string()) out = it->get<std::string>();
  };
  auto integer = [&](const char* k, int& out) {
    if (auto it = p.find(k); it != p.end() && it->is_number())
      out = static_cast<int>(it->get<double>());
  };
  auto dbl = [&](const char* k, double& out) {
    if (auto it = p.find(k); it != p.end() && it->is_number()) out = it->get<double>();
  };
  auto boolean = [&](const char* k, bool& out) {
    if (auto it = p.find(k); it != p.end() && it->is_boolean()) out = it->get<bool>();
  };
  str("benchmark_type", w.benchmark_type);
  str("model", w.model);
  integer("num_users", w.num_users);
  integer("duration", w.duration);
  dbl("gpu_mem_gb", w.gpu_mem_gb);
  dbl("cpu_mem_gb", w.cpu_mem_gb);
  str("cache_dir", w.cache_dir);
  str("generation_mode", w.generation_mode);
  str("performance_profile", w.performance_profile);
  if (auto it = p.find("seed"); it != p.end() && it->is_number_integer())
    w.seed = it->get<std::int64_t>();
  integer("max_concurrent_allocs", w.max_concurrent_allocs);
  boolean("disable_multi_turn", w.disable_multi_turn);
  boolean("disable_prefix_caching", w.disable_prefix_caching);
  boolean("enable_rag", w.enable_rag);
  integer("rag_num_docs", w.rag_num_docs);
  boolean("enable_autoscaling", w.enable_autoscaling);
  str("autoscaler_mode", w.autoscaler_mode);
  str("io_engine", w.io_engine);
  boolean("direct_io", w.direct_io);
  if (auto it = p.find("kvcache_params"); it != p.end() && it->is_array()) {
    for (const auto& t : *it) {
      if (t.is_string()) w.kvcache_params.push_back(t.get<std::string>());
    }
  }
  return w;
}

Json Workload::to_parameters() const {
  Json p = Json::object();
  p["benchmark_type"] = benchmark_type;
  p["model"] = model;
  p["num_users"] = num_users;
  p["duration"] = duration;
  p["gpu_mem_gb"] = gpu_mem_gb;
  p["cpu_mem_gb"] = cpu_mem_gb;
  p["cache_dir"] = cache_dir;
  p["generation_mode"] = generation_mode;
  p["performance_profile"] = performance_profile;
  p["seed"] = seed ? Json(*seed) : Json(nullptr);
  p["max_concurrent_allocs"] = max_concurrent_allocs;
  p["disable_multi_turn"] = disable_multi_turn;
  p["disable_prefix_caching"] = disable_prefix_caching;
  p["enable_rag"] = enable_rag;
  p["rag_num_docs"] = rag_num_docs;
  p["enable_autoscaling"] = enable_autoscaling;
  p["autoscaler_mode"] = autoscaler_mode;
  p["io_engine"] = io_engine.empty() ? Json("posix") : Json(io_engine);
  p["direct_io"] = direct_io;
  p["kvcache_params"] = kvcache_params;
  return p;
}

Json Verification::issues_json() const {
  Json a = Json::array();
  for (const auto& i : issues) a.push_back(i.to_json());
  return a;
}

namespace {

// Differences between `w` and official option `o` as (parameter, expected, actual) triples.
std::vector<Issue> option_differences(const Workload& w, const OfficialOption& o) {
  std::vector<Issue> d;
  auto add = [&](const char* param, Json expected, Json actual) {
    Issue i;
    i.validation = Category::kOpen;
    i.parameter = param;
    i.expected = std::move(expected);
    i.actual = std::move(actual);
    d.push_back(std::move(i));
  };
  if (w.model != o.model) add("model", o.model, w.model);
  if (w.num_users != o.num_users) add("num_users", o.num_users, w.num_users);
  if (w.cpu_mem_gb != o.cpu_mem_gb) add("cpu_mem_gb", o.cpu_mem_gb, w.cpu_mem_gb);
  if (w.max_concurrent_allocs != o.max_concurrent_allocs) {
    add("max_concurrent_allocs", o.max_concurrent_allocs, w.max_concurrent_allocs);
  }
  if (w.duration != kClosedDuration) add("duration", kClosedDuration, w.duration);
  if (w.gpu_mem_gb != kClosedGpuMemGb) add("gpu_mem_gb", kClosedGpuMemGb, w.gpu_mem_gb);
  if (w.generation_mode != kClosedGenerationMode)
    add("generation_mode", kClosedGenerationMode, w.generation_mode);
  if (w.seed != std::optional<std::int64_t>(kClosedSeed)) {
    add("seed", kClosedSeed, w.seed ? Json(*w.seed) : Json(nullptr));
  }
  if (w.disable_multi_turn) add("disable_multi_turn", false, true);
  if (w.disable_prefix_caching) add("disable_prefix_caching", false, true);
  if (w.enable_rag) add("enable_rag", false, true);
  if (w.enable_autoscaling) add("enable_autoscaling", false, true);
  if (!w.io_engine.empty() && w.io_engine != "posix") add("io_engine", "posix", w.io_engine);
  if (w.direct_io) add("direct_io", false, true);
  if (!w.kvcache_params.empty()) add("kvcache_params", Json::array(), w.kvcache_params);
  return d;
}

std::string describe(const Issue& i) {
  auto show = [](const Json& j) { return j.is_string() ? j.get<std::string>() : j.dump(); };
  return fmt::format("{} (expected {}, got {})", i.parameter, show(i.expected), show(i.actual));
}

}  // namespace

Verification verify(const Workload& w) {
  Verification v;
  auto add = [&](Category c, std::string param, std::string msg, Json expected = nullptr,
                 Json actual = nullptr) {
    Issue i;
    i.validation = c;
    i.parameter = std::move(param);
    i.message = std::move(msg);
    i.expected = std::move(expected);
    i.actual = std::move(actual);
    v.issues.push_back(std::move(i));
  };
  // Checks in alphabetical order, like the reference checker.
  if (w.benchmark_type != "kv_cache") {
    add(Category::kInvalid, "benchmark_type", "Benchmark type must be kv_cache", "kv_cache",
        w.benchmark_type);
  }
  if (w.gpu_mem_gb < 0)
    add(Category::kInvalid, "gpu_mem_gb", "GPU memory must not be negative", ">= 0", w.gpu_mem_gb);
  if (w.cpu_mem_gb < 0)
    add(Category::kInvalid, "cpu_mem_gb", "CPU memory must not be negative", ">= 0", w.cpu_mem_gb);
  if (w.duration < 30) {
    add(Category::kInvalid, "duration", "Duration must be at least 30 seconds", ">= 30",
        w.duration);
  } else if (w.duration < 60) {
    add(Category::kOpen, "duration", "Duration is below the recommended minimum of 60s", ">= 60",
        w.duration);
  }
  if (w.generation_mode != "none" && w.generation_mode != "fast" &&
      w.generation_mode != "realistic") {
    add(Category::kInvalid, "generation_mode", "Unknown generation mode", "none|fast|realistic",
        w.generation_mode);
  }
  if (w.model.empty()) {
    add(Category::kInvalid, "model", "Missing model parameter");
  } else if (kv::model::ModelTable::builtin().find(w.model) == nullptr) {
    add(Category::kInvalid, "model", "Model is not in the engine's model table", nullptr, w.model);
  }
  if (w.num_users < 1) {
    add(Category::kInvalid, "num_users", "Number of users must be at least 1", ">= 1", w.num_users);
  } else if (w.num_users < 10) {
    add(Category::kOpen, "num_users", "Fewer than the recommended minimum of 10 users", ">= 10",
        w.num_users);
  }
  // Official option match.
  const OfficialOption* best = nullptr;
  std::vector<Issue> best_diff;
  for (const auto& o : official_options()) {
    auto d = option_differences(w, o);
    if (d.empty()) {
      v.matched_option = o.number;
      add(Category::kClosed, "official_option",
          fmt::format("Parameters match MLPerf v3.0 Option {} ({})", o.number, o.name), o.number,
          o.number);
      best = nullptr;
      break;
    }
    if (best == nullptr || d.size() < best_diff.size()) {
      best = &o;
      best_diff = std::move(d);
    }
  }
  if (!v.matched_option && best != nullptr) {
    std::string diffs;
    for (const auto& i : best_diff) diffs += (diffs.empty() ? "" : ", ") + describe(i);
    add(Category::kOpen, "official_option",
        fmt::format("Parameters match none of the official CLOSED options; closest is Option {} "
                    "({}), differing in: {}",
                    best->number, best->name, diffs),
        best->number, nullptr);
  }
  if (w.performance_profile != "latency" && w.performance_profile != "throughput") {
    add(Category::kInvalid, "performance_profile", "Unknown performance profile",
        "latency|throughput", w.performance_profile);
  }
  v.category = Category::kClosed;
  for (const auto& i : v.issues) {
    if (i.validation == Category::kInvalid)
      v.category = Category::kInvalid;
    else if (i.validation == Category::kOpen && v.category == Category::kClosed)
      v.category = Category::kOpen;
  }
  return v;
}

GateDecision gate(const Verification& v, bool open, bool closed, bool allow_invalid_params) {
  GateDecision d;
  if (!open && !closed) {
    d.proceed = true;
    d.warn = v.category == Category::kInvalid;
    d.message = d.warn ? "Verification says INVALID; running anyway because neither --open nor "
                         "--closed was given"
                       : std::string("Running without a submission mode (verification: ") +
                             category_name(v.category) + "). Use --open or --closed to enforce it.";
    return d;
  }
  switch (v.category) {
    case Category::kClosed: d.message = "Running as CLOSED configuration"; return d;
    case Category::kInvalid:
      if (allow_invalid_params) {
        d.warn = true;
        d.message = "Invalid configuration found; continuing because of --allow-invalid-params";
        return d;
      }
      d.proceed = false;
      d.message =
          "Invalid configuration found. Aborting benchmark run (use --allow-invalid-params to run "
          "anyway).";
      return d;
    case Category::kOpen:
      if (closed) {
        d.proceed = false;
        d.message =
            "Parameters allowed for open but not closed. Use --open and rerun the benchmark.";
        return d;
      }
      d.message = "Running as allowed open configuration";
      return d;
  }
  return d;
}

}  // namespace kv::orchestrator
