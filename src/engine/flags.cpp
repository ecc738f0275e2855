#include "engine/flags.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include "core/error.hpp"
#include "core/version.hpp"
#include "engine/cache_dir.hpp"

namespace kv::engine {

namespace {

using C = EngineConfig;
constexpr auto R = FlagGroup::kReference;
constexpr auto O = FlagGroup::kOurs;
constexpr auto W = FlagGroup::kWorkloadMode;
constexpr auto X = FlagGroup::kOutOfScope;

FlagSpec flag(std::string_view name, FlagKind kind, std::string_view def, FlagGroup group,
              std::string_view help, FieldRef field, std::optional<double> min = std::nullopt,
              std::optional<double> max = std::nullopt, std::string_view choices = {},
              std::string_view unit = {}, bool min_exclusive = false) {
  FlagSpec s{name, kind, def, min, max, min_exclusive, choices, unit, group, help, field};
  return s;
}

std::vector<FlagSpec> build_table() {
  using K = FlagKind;
  std::vector<FlagSpec> t;
  // ---- reference flags (kv-cache-engine.md §2, limits §2.1) ----
  t.push_back(flag("--log-level", K::kChoice, "INFO", R, "Logging level.", &C::log_level, {}, {},
                   "DEBUG|INFO|WARNING|ERROR|CRITICAL"));
  t.push_back(flag("--model", K::kString, "llama3.1-8b", R,
                   "Model key (see the model table; --config model_configs may add models).", &C::model));
  t.push_back(flag("--num-users", K::kInt, "100", R,
                   "Simulated users (open-loop arrivals); workers = min(users, 500). Under MPI: users per "
                   "rank (MLPerf counts users per client).",
                   &C::num_users, 1,
                   100000));
  t.push_back(flag("--duration", K::kInt, "60", R, "Measured run length.", &C::duration, 1, 86400, {}, "s"));
  t.push_back(flag("--gpu-mem-gb", K::kFloat, "16", R,
                   "GPU tier budget per GPU (tier = num_gpus x this); see --gpu-backend.", &C::gpu_mem_gb, 0,
                   65536, {}, "GiB"));
  t.push_back(flag("--num-gpus", K::kInt, "1", R, "GPUs in the tensor-parallel group (capacity multiplier).",
                   &C::num_gpus, 1));
  t.push_back(flag("--tensor-parallel", K::kInt, "1", R,
                   "Tensor-parallel degree: each stored object is 1/TP of the KV entry (1..num-gpus).",
                   &C::tensor_parallel, 1));
  t.push_back(flag("--cpu-mem-gb", K::kFloat, "32", R, "CPU (DRAM) tier budget; 0 disables the tier.",
                   &C::cpu_mem_gb, 0, 131072, {}, "GiB"));
  t.push_back(flag("--cache-dir", K::kString, "", R,
                   "Storage tier directory (default: a temporary kv_cache_* directory). Only files this "
                   "engine created are ever deleted.",
                   &C::cache_dir));
  t.push_back(flag("--generation-mode", K::kChoice, "realistic", R,
                   "Simulated generation time per token: none 0, fast 2 ms, realistic 30 ms.",
                   &C::generation_mode, {}, {}, "none|fast|realistic"));
  t.push_back(flag("--performance-profile", K::kChoice, "latency", R,
                   "storage_health criteria and QoS console output.", &C::performance_profile, {}, {},
                   "latency|throughput"));
  t.push_back(flag("--disable-multi-turn", K::kBool, "false", R, "Make every request independent.",
                   &C::disable_multi_turn));
  t.push_back(flag("--disable-prefix-caching", K::kBool, "false", R, "Disable system-prompt prefix caching.",
                   &C::disable_prefix_caching));
  t.push_back(flag("--output", K::kString, "", R,
                   "Results JSON (default: benchmark_results_YYYYmmdd_HHMMSS.json).", &C::output));
  t.push_back(flag("--seed", K::kOptionalInt, "", R,
                   "Seed for users, requests, keys and payload bytes (default: random workload, payload 0).",
                   &C::seed));
  t.push_back(flag("--max-concurrent-allocs", K::kInt, "0", R,
                   "Limit on concurrent cache allocations (generation + eviction + write); 0 = unlimited.",
                   &C::max_concurrent_allocs, 0));
  t.push_back(flag("--max-requests", K::kInt, "0", R, "Stop after N completed requests (0 = use --duration).",
                   &C::max_requests, 0));
  t.push_back(flag("--config", K::kString, "", R, "YAML config (strict schema; see docs/engine.md).",
                   &C::config_path));
  t.push_back(flag("--storage-capacity-gb", K::kFloat, "0", R,
                   "Storage tier capacity; 0 = 95% of the free space at start.", &C::storage_capacity_gb, 0,
                   {}, {}, "GiB"));
  t.push_back(flag("--prefill-only", K::kBool, "false", R, "Skip the decode step (writes only).",
                   &C::prefill_only));
  t.push_back(flag("--decode-only", K::kBool, "false", R,
                   "Pre-populate num_users x 10 entries, then only read them (no writes).", &C::decode_only));
  // ---- workload modes (issue #5; engine/modes, docs/workload-modes.md) ----
  t.push_back(flag("--enable-rag", K::kBool, "false", W,
                   "RAG: background ingestion of chunked documents, top-k chunk reads (p = "
                   "rag.request_probability) and DECODE requests rag_<doc>.",
                   &C::enable_rag));
  t.push_back(flag("--rag-num-docs", K::kInt, "10", W, "RAG documents to ingest.", &C::rag_num_docs, 0));
  t.push_back(flag("--enable-autoscaling", K::kBool, "false", W,
                   "Autoscaler: samples every autoscaler.sample_interval_s (10 s) and really starts/stops "
                   "user producers.",
                   &C::enable_autoscaling));
  t.push_back(flag("--autoscaler-mode", K::kChoice, "qos", W,
                   "qos: hold saturation near the target; capacity: find the peak sustainable user count.",
                   &C::autoscaler_mode, {}, {}, "qos|capacity"));
  t.push_back(flag("--target-saturation", K::kFloat, "0.8", W, "Autoscaler target saturation.",
                   &C::target_saturation, 0, 1));
  t.push_back(flag("--use-burst-trace", K::kBool, "false", W, "BurstGPT CSV replay (streamed).",
                   &C::use_burst_trace));
  t.push_back(flag("--burst-trace-path", K::kString, "BurstGPT/data/BurstGPT_1.csv", W,
                   "BurstGPT file, directory (*.csv) or glob.", &C::burst_trace_path));
  t.push_back(flag("--validation-trace", K::kString, "", W,
                   "Validation trace JSON: compares the cache hit rate (results.validation).",
                   &C::validation_trace));
  t.push_back(flag("--dataset-path", K::kString, "", W,
                   "ShareGPT JSON dataset replay (turns become requests, with multi-turn history reads).",
                   &C::dataset_path));
  t.push_back(flag("--max-conversations", K::kInt, "500", W, "ShareGPT conversations to load.",
                   &C::max_conversations, 0, {}, {}, {}, true));
  t.push_back(flag("--request-rate", K::kFloat, "0", W, "Dataset replay request rate (req/s, 0 = no pacing).",
                   &C::request_rate, 0));
  t.push_back(flag("--replay-cycles", K::kInt, "0", W,
                   "Passes over the trace/dataset (0 = infinite); reaching N ends the run once its requests "
                   "completed.",
                   &C::replay_cycles, 0));
  t.push_back(flag("--trace-speedup", K::kFloat, "1.0", W,
                   "Trace (BurstGPT, Mooncake) inter-arrival divisor (0 = no delay).", &C::trace_speedup, 0));
  t.push_back(flag("--precondition", K::kBool, "false", W,
                   "Write-fill phase of 2048-token entries before the run, then reset the statistics.",
                   &C::precondition));
  t.push_back(flag("--precondition-size-gb", K::kFloat, "0", W, "Precondition volume (0 = 2 x capacity).",
                   &C::precondition_size_gb, 0, {}, {}, "GiB"));
  t.push_back(flag("--precondition-threads", K::kInt, "0", W, "Precondition threads (0 = CPU count).",
                   &C::precondition_threads, 0));
  t.push_back(flag("--io-trace-log", K::kString, "", W,
                   "I/O trace CSV (.zst: zstd). As the reference, no real I/O (null tiers) unless "
                   "--io-trace-real.",
                   &C::io_trace_log));
  t.push_back(flag("--xlsx-output", K::kString, "", W, "Summary export: .xlsx workbook, else CSV.",
                   &C::xlsx_output));
  t.push_back(flag("--mooncake-trace", K::kString, "", W,
                   "Mooncake JSON-lines trace replay: one 512-token object mc_<hash id> per block; shared "
                   "blocks are read, new ones written.",
                   &C::mooncake_trace));
  t.push_back(flag("--enable-latency-tracing", K::kBool, "false", X,
                   "bpftrace block-layer tracing (out of scope: refused).", &C::enable_latency_tracing));
  // ---- ours ----
  t.push_back(flag("--gpu-backend", K::kChoice, "auto", O,
                   "GPU tier: auto (cuda when a device is found, else absent as the reference), cuda "
                   "(device memory via the CUDA driver), simulated (sizes only, transfer time = bytes / "
                   "--gpu-bandwidth-gbps), none.",
                   &C::gpu_backend, {}, {}, "auto|simulated|cuda|none"));
  t.push_back(flag("--gpu-bandwidth-gbps", K::kFloat, "64", O, "Simulated GPU tier bandwidth.",
                   &C::gpu_bandwidth_gbps, 0, {}, {}, "GB/s", true));
  t.push_back(flag("--keep-cache", K::kBool, "false", O,
                   "Keep this run's .npy files at the end (the next run in the directory removes them).",
                   &C::keep_cache));
  t.push_back(flag("--quiet", K::kBool, "false", O, "No live status line.", &C::quiet));
  t.push_back(flag("--progress-interval", K::kFloat, "10", O,
                   "Seconds between progress records on stderr when it is not a terminal (one line "
                   "'kv-cache progress: phase=... elapsed_s=...', docs/engine.md); 0 = none.",
                   &C::progress_interval, 0, 86400, {}, "s"));
  t.push_back(flag("--html-report", K::kString, "", O,
                   "Also write a self-contained HTML report of the run (charts; docs/reports.md).",
                   &C::html_report));
  t.push_back(flag("--io-engine", K::kChoice, "posix", O,
                   "Storage I/O engine: posix (reference-comparable: buffered write + fsync, "
                   "fadvise(DONTNEED) + read) or io_uring.",
                   &C::io_engine, {}, {}, "posix|io_uring"));
  t.push_back(flag("--direct-io", K::kBool, "false", O, "O_DIRECT storage I/O (falls back with a warning).",
                   &C::direct_io));
  t.push_back(flag("--io-depth", K::kInt, "16", O, "Chunks of one object in flight (io_uring).", &C::io_depth,
                   1, 4096));
  t.push_back(flag("--io-chunk-mib", K::kInt, "8", O, "Storage I/O chunk size.", &C::io_chunk_mib, 1, 1024, {},
                   "MiB"));
  t.push_back(flag("--sync-mode", K::kChoice, "fsync", O, "Write durability: fsync (reference), fdatasync, none.",
                   &C::sync_mode, {}, {}, "fsync|fdatasync|none"));
  t.push_back(flag("--max-inflight-mib", K::kInt, "512", O,
                   "Budget of I/O buffer memory in flight, reads and writes together.", &C::max_inflight_mib, 1,
                   1048576, {}, "MiB"));
  t.push_back(flag("--probe", K::kBool, "false", O,
                   "Probe the cache directory's device before the run; results get device_probe.", &C::probe));
  t.push_back(flag("--probe-device", K::kBool, "false", O, "Only probe the cache directory's device, print, exit.",
                   &C::probe_device));
  t.push_back(flag("--list-users", K::kBool, "false", O,
                   "Print the synthetic user population the other flags would simulate (JSON array, "
                   "the reference's for the same --seed) and exit; touches no storage.",
                   &C::list_users));
  t.push_back(flag("--per-rank-output", K::kBool, "false", O,
                   "MPI runs: rank 0 also writes each rank's own results as <output stem>_rank<r>.json.",
                   &C::per_rank_output));
  t.push_back(flag("--rank-timeout", K::kFloat, "300", O,
                   "MPI runs: longest wait for the other ranks at start-up, set-up and the results gather.",
                   &C::rank_timeout, 1, 86400, {}, "s"));
  t.push_back(flag("--io-trace-real", K::kBool, "false", O,
                   "With --io-trace-log: do the real I/O and add a measured Latency_ms column.",
                   &C::io_trace_real));
  return t;
}

std::string lower(std::string_view s) {
  std::string r(s);
  for (auto& ch : r) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return r;
}

std::vector<std::string_view> split_choices(std::string_view c) {
  std::vector<std::string_view> out;
  while (!c.empty()) {
    auto p = c.find('|');
    out.push_back(c.substr(0, p));
    if (p == std::string_view::npos) break;
    c.remove_prefix(p + 1);
  }
  return out;
}

std::string fmt_num(double v) {
  if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 1e15) return fmt::format("{}", static_cast<long long>(v));
  return fmt::format("{}", v);
}

std::optional<std::int64_t> parse_int(std::string_view s) {
  std::string_view t = s;
  if (!t.empty() && t.front() == '+') t.remove_prefix(1);
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec != std::errc() || p != t.data() + t.size() || t.empty()) return std::nullopt;
  return v;
}

std::optional<double> parse_float(std::string_view s) {
  std::string tmp(s);
  if (tmp.empty()) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(tmp.c_str(), &end);
  if (end != tmp.c_str() + tmp.size() || errno == ERANGE) return std::nullopt;
  return v;
}

// Converts `text` for `spec` into `cfg`; returns an error message (without the flag name) or "".
std::string assign(const FlagSpec& spec, std::string_view text, EngineConfig& cfg) {
  switch (spec.kind) {
    case FlagKind::kBool: {
      const std::string l = lower(text);
      bool v;
      if (l == "true" || l == "1" || l == "yes") v = true;
      else if (l == "false" || l == "0" || l == "no") v = false;
      else return fmt::format("expected no value or true/false (got '{}')", text);
      cfg.*std::get<bool C::*>(spec.field) = v;
      return {};
    }
    case FlagKind::kInt: {
      auto v = parse_int(text);
      if (!v) return fmt::format("expected an integer (got '{}')", text);
      if (*v < std::numeric_limits<int>::min() || *v > std::numeric_limits<int>::max())
        return fmt::format("value out of range (got {})", text);
      cfg.*std::get<int C::*>(spec.field) = static_cast<int>(*v);
      return {};
    }
    case FlagKind::kOptionalInt: {
      if (text.empty()) {
        cfg.*std::get<std::optional<std::int64_t> C::*>(spec.field) = std::nullopt;
        return {};
      }
      auto v = parse_int(text);
      if (!v) return fmt::format("expected an integer (got '{}')", text);
      cfg.*std::get<std::optional<std::int64_t> C::*>(spec.field) = *v;
      return {};
    }
    case FlagKind::kFloat: {
      auto v = parse_float(text);
      if (!v || !std::isfinite(*v)) return fmt::format("expected a finite number (got '{}')", text);
      cfg.*std::get<double C::*>(spec.field) = *v;
      return {};
    }
    case FlagKind::kChoice: {
      for (auto c : split_choices(spec.choices)) {
        if (lower(c) == lower(text)) {
          cfg.*std::get<std::string C::*>(spec.field) = std::string(c);
          return {};
        }
      }
      std::string list;
      for (auto c : split_choices(spec.choices)) list += (list.empty() ? "" : ", ") + std::string(c);
      return fmt::format("must be one of {} (got '{}')", list, text);
    }
    case FlagKind::kString:
      cfg.*std::get<std::string C::*>(spec.field) = std::string(text);
      return {};
  }
  return {};
}

std::string range_text(const FlagSpec& s) {
  if (s.min && s.max) return fmt::format("between {} and {}", fmt_num(*s.min), fmt_num(*s.max));
  if (s.min) return fmt::format("{} {}", s.min_exclusive ? ">" : ">=", fmt_num(*s.min));
  if (s.max) return fmt::format("<= {}", fmt_num(*s.max));
  return {};
}

std::optional<double> numeric_value(const FlagSpec& s, const EngineConfig& c) {
  if (s.kind == FlagKind::kInt) return static_cast<double>(c.*std::get<int C::*>(s.field));
  if (s.kind == FlagKind::kFloat) return c.*std::get<double C::*>(s.field);
  return std::nullopt;
}

bool equal_field(const FlagSpec& s, const EngineConfig& a, const EngineConfig& b) {
  return std::visit([&](auto member) { return a.*member == b.*member; }, s.field);
}

const EngineConfig& defaults_config() {
  static const EngineConfig d = [] {
    EngineConfig c;
    for (const auto& s : flag_table()) {
      const std::string err = assign(s, s.default_text, c);
      if (!err.empty()) throw Error(ExitCode::kGeneralError, "flag table default of " + std::string(s.name) + ": " + err);
    }
    return c;
  }();
  return d;
}

}  // namespace

const std::vector<FlagSpec>& flag_table() {
  static const std::vector<FlagSpec> t = build_table();
  return t;
}

const FlagSpec* find_flag(std::string_view name) {
  for (const auto& s : flag_table())
    if (s.name == name) return &s;
  return nullptr;
}

std::vector<std::string> validate(const EngineConfig& c) {
  std::vector<std::string> errors;
  for (const auto& s : flag_table()) {
    auto v = numeric_value(s, c);
    if (!v) continue;
    const bool low = s.min && (s.min_exclusive ? !(*v > *s.min) : !(*v >= *s.min));
    const bool high = s.max && !(*v <= *s.max);
    if (low || high)
      errors.push_back(fmt::format("{}: must be {} (got {})", s.name, range_text(s), fmt_num(*v)));
  }
  if (c.tensor_parallel < 1 || c.tensor_parallel > std::max(c.num_gpus, 1))
    errors.push_back(fmt::format("--tensor-parallel: must be between 1 and --num-gpus ({}) (got {})",
                                 c.num_gpus, c.tensor_parallel));
  if (c.prefill_only && c.decode_only)
    errors.push_back("--prefill-only/--decode-only: the two flags are mutually exclusive");
  if (c.max_inflight_mib < c.io_chunk_mib)
    errors.push_back(fmt::format("--max-inflight-mib: must be >= --io-chunk-mib ({}) (got {})", c.io_chunk_mib,
                                 c.max_inflight_mib));
  if (!c.cache_dir.empty()) {
    if (auto problem = cache_dir_problem(c.cache_dir)) errors.push_back("--cache-dir: " + *problem);
  }
  return errors;
}

std::vector<std::string> refusals(const EngineConfig& c) {
  std::vector<std::string> out;
  const EngineConfig& d = defaults_config();
  for (const auto& s : flag_table()) {
    if (s.group != FlagGroup::kOutOfScope) continue;
    if (equal_field(s, c, d)) continue;
    out.push_back(fmt::format("{}: out of scope (block-layer tracing is not part of this engine; use "
                              "the per-second time series and the device/host latency split)",
                              s.name));
  }
  return out;
}

std::string help_text() {
  std::string h = fmt::format(
      "kv-cache {}: MLPerf Storage KV-cache benchmark engine (C++; flags compatible with kv-cache.py)\n\n"
      "Usage: kv-cache [flags]\n"
      "GB in flag names means GiB (1024^3 bytes). A repeated flag takes its last value; unambiguous\n"
      "prefixes of flag names are accepted (as argparse).\n",
      kVersion);
  const std::pair<FlagGroup, const char*> groups[] = {
      {FlagGroup::kReference, "Reference flags (kv-cache.py)"},
      {FlagGroup::kOurs, "Engine extensions (ours)"},
      {FlagGroup::kWorkloadMode, "Workload modes (docs/workload-modes.md)"},
      {FlagGroup::kOutOfScope, "Refused (out of scope)"}};
  for (const auto& [g, title] : groups) {
    h += fmt::format("\n{}:\n", title);
    if (g == FlagGroup::kReference) h += "  -h, --help                  Print this help and exit.\n  --version                   Print the version and exit.\n";
    for (const auto& s : flag_table()) {
      if (s.group != g) continue;
      std::string left(s.name);
      switch (s.kind) {
        case FlagKind::kInt: left += " INT"; break;
        case FlagKind::kOptionalInt: left += " INT"; break;
        case FlagKind::kFloat: left += " FLOAT"; break;
        case FlagKind::kString: left += " TEXT"; break;
        case FlagKind::kChoice: left += " {" + std::string(s.choices) + "}"; break;
        case FlagKind::kBool: break;
      }
      std::string extra;
      if (s.kind != FlagKind::kBool)
        extra = fmt::format("default: {}{}", s.default_text.empty() ? "none" : std::string(s.default_text),
                            s.unit.empty() ? "" : " " + std::string(s.unit));
      if (auto r = range_text(s); !r.empty()) extra += "; " + r;
      if (s.name == "--tensor-parallel") extra += "; <= --num-gpus";
      std::string line = fmt::format("  {:<28}{}", left, s.help);
      if (!extra.empty()) line += " (" + extra + ")";
      if (left.size() >= 28) line = fmt::format("  {}\n  {:<28}{}{}", left, "", s.help, extra.empty() ? "" : " (" + extra + ")");
      h += line + "\n";
    }
  }
  return h;
}

ParseResult parse_flags(int argc, const char* const* argv) {
  ParseResult res;
  res.config = defaults_config();
  std::vector<std::string> errors;
  const auto& table = flag_table();

  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::fputs(help_text().c_str(), stdout);
      res.exit_now = 0;
      return res;
    }
    if (arg == "--version") {
      std::printf("kv-cache %s\n", kVersion);
      res.exit_now = 0;
      return res;
    }
    if (arg.size() < 3 || arg.substr(0, 2) != "--") {
      errors.push_back(fmt::format("{}: unrecognized argument (flags start with --; see --help)", arg));
      continue;
    }
    std::string_view name = arg;
    std::optional<std::string_view> inline_value;
    if (auto eq = arg.find('='); eq != std::string_view::npos) {
      name = arg.substr(0, eq);
      inline_value = arg.substr(eq + 1);
    }
    const FlagSpec* spec = find_flag(name);
    if (!spec) {  // argparse-style unambiguous prefix
      std::vector<const FlagSpec*> matches;
      for (const auto& s : table)
        if (s.name.substr(0, name.size()) == name) matches.push_back(&s);
      if (matches.size() == 1) {
        spec = matches[0];
      } else if (matches.size() > 1) {
        std::string list;
        for (auto* m : matches) list += (list.empty() ? "" : ", ") + std::string(m->name);
        errors.push_back(fmt::format("{}: ambiguous flag (could be {})", name, list));
        if (!inline_value && i + 1 < argc && std::string_view(argv[i + 1]).substr(0, 2) != "--") ++i;
        continue;
      } else {
        errors.push_back(fmt::format("{}: unrecognized flag (see --help)", name));
        continue;
      }
    }
    std::string_view value;
    if (spec->kind == FlagKind::kBool) {
      value = inline_value.value_or("true");
    } else if (inline_value) {
      value = *inline_value;
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      errors.push_back(fmt::format("{}: expected a value", spec->name));
      continue;
    }
    if (std::string err = assign(*spec, value, res.config); !err.empty()) {
      errors.push_back(fmt::format("{}: {}", spec->name, err));
      continue;
    }
    res.config.given.insert(std::string(spec->name));
  }

  // Range and cross-flag checks only for flags that parsed (a bad value is reported once).
  for (auto& e : validate(res.config)) {
    const std::string flag = e.substr(0, e.find(':'));
    const bool already = std::any_of(errors.begin(), errors.end(),
                                     [&](const std::string& x) { return x.rfind(flag + ":", 0) == 0; });
    if (!already) errors.push_back(std::move(e));
  }
  for (auto& r : refusals(res.config)) errors.push_back(std::move(r));
  if (!errors.empty()) {
    std::string msg = errors.size() == 1 ? errors[0] : "invalid arguments:";
    if (errors.size() > 1)
      for (const auto& e : errors) msg += "\n  " + e;
    throw Error(ExitCode::kInvalidArguments, msg, "see kv-cache --help");
  }
  if (res.config.tensor_parallel > 1 && (res.config.tensor_parallel & (res.config.tensor_parallel - 1)) != 0)
    res.warnings.push_back(fmt::format("--tensor-parallel {} is not a power of 2", res.config.tensor_parallel));
  return res;
}

}  // namespace kv::engine
