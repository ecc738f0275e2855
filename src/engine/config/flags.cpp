#include "engine/config/flags.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <type_traits>

#include "core/error.hpp"
#include "core/version.hpp"
#include "engine/cache_dir.hpp"
#include "engine/config/mode_rules.hpp"

namespace kv::engine {

namespace {

namespace cli = engine_cli;
using C = EngineConfig;
using K = engine_cli::Kind;
constexpr auto R = FlagGroup::kReference;
constexpr auto O = FlagGroup::kOurs;
constexpr auto W = FlagGroup::kWorkloadMode;
constexpr auto X = FlagGroup::kOutOfScope;

const FlagSpec kTable[] = {
    // ---- reference flags ----
    {.flag = cli::kLogLevel, .group = R, .help = "Logging level.", .field = &C::log_level},
    {.flag = cli::kModel,
     .group = R,
     .help = "Model key (see the model table; --config model_configs may add models).",
     .field = &C::model},
    {.flag = cli::kNumUsers,
     .group = R,
     .help =
         "Simulated users (open-loop arrivals); workers = min(users, 500). Under MPI: users per "
         "rank (MLPerf counts users per client).",
     .field = &C::num_users},
    {.flag = cli::kDuration, .group = R, .help = "Measured run length.", .field = &C::duration},
    {.flag = cli::kGpuMemGb,
     .group = R,
     .help = "GPU tier budget per GPU (tier = num_gpus x this); see --gpu-backend.",
     .field = &C::gpu_mem_gb},
    {.flag = cli::kNumGpus,
     .group = R,
     .help = "GPUs in the tensor-parallel group (capacity multiplier).",
     .field = &C::num_gpus},
    {.flag = cli::kTensorParallel,
     .group = R,
     .help = "Tensor-parallel degree: each stored object is 1/TP of the KV entry (1..num-gpus).",
     .field = &C::tensor_parallel},
    {.flag = cli::kCpuMemGb,
     .group = R,
     .help = "CPU (DRAM) tier budget; 0 disables the tier.",
     .field = &C::cpu_mem_gb},
    {.flag = cli::kCacheDir,
     .group = R,
     .help = "Storage tier directory (default: a temporary kv_cache_* directory). Only files this "
             "engine created are ever deleted.",
     .field = &C::cache_dir},
    {.flag = cli::kGenerationMode,
     .group = R,
     .help = "Simulated generation time per token: none 0, fast 2 ms, realistic 30 ms.",
     .field = &C::generation_mode},
    {.flag = cli::kPerformanceProfile,
     .group = R,
     .help = "storage_health criteria and QoS console output.",
     .field = &C::performance_profile},
    {.flag = cli::kDisableMultiTurn,
     .group = R,
     .help = "Make every request independent.",
     .field = &C::disable_multi_turn},
    {.flag = cli::kDisablePrefixCaching,
     .group = R,
     .help = "Disable system-prompt prefix caching.",
     .field = &C::disable_prefix_caching},
    {.flag = cli::kOutput,
     .group = R,
     .help = "Results JSON (default: benchmark_results_YYYYmmdd_HHMMSS.json).",
     .field = &C::output},
    {.flag = cli::kSeed,
     .group = R,
     .help =
         "Seed for users, requests, keys and payload bytes (default: random workload, payload 0).",
     .field = &C::seed},
    {.flag = cli::kMaxConcurrentAllocs,
     .group = R,
     .help =
         "Limit on concurrent cache allocations (generation + eviction + write); 0 = unlimited.",
     .field = &C::max_concurrent_allocs},
    {.flag = cli::kMaxRequests,
     .group = R,
     .help = "Stop after N completed requests (0 = use --duration).",
     .field = &C::max_requests},
    {.flag = cli::kConfig,
     .group = R,
     .help = "YAML config (strict schema; see docs/engine.md).",
     .field = &C::config_path},
    {.flag = cli::kStorageCapacityGb,
     .group = R,
     .help = "Storage tier capacity; 0 = 95% of the free space at start.",
     .field = &C::storage_capacity_gb},
    {.flag = cli::kPrefillOnly,
     .group = R,
     .help = "Skip the decode step (writes only).",
     .field = &C::prefill_only},
    {.flag = cli::kDecodeOnly,
     .group = R,
     .help = "Pre-populate num_users x 10 entries, then only read them (no writes).",
     .field = &C::decode_only},
    // ---- workload modes (engine/modes, docs/workload-modes.md) ----
    {.flag = cli::kEnableRag,
     .group = W,
     .help = "RAG: background ingestion of chunked documents, top-k chunk reads (p = "
             "rag.request_probability) and DECODE requests rag_<doc>.",
     .field = &C::enable_rag},
    {.flag = cli::kRagNumDocs,
     .group = W,
     .help = "RAG documents to ingest.",
     .field = &C::rag_num_docs},
    {.flag = cli::kEnableAutoscaling,
     .group = W,
     .help =
         "Autoscaler: samples every autoscaler.sample_interval_s (10 s) and really starts/stops "
         "user producers.",
     .field = &C::enable_autoscaling},
    {.flag = cli::kAutoscalerMode,
     .group = W,
     .help =
         "qos: hold saturation near the target; capacity: find the peak sustainable user count.",
     .field = &C::autoscaler_mode},
    {.flag = cli::kTargetSaturation,
     .group = W,
     .help = "Autoscaler target saturation.",
     .field = &C::target_saturation},
    {.flag = cli::kUseBurstTrace,
     .group = W,
     .help = "BurstGPT CSV replay (streamed).",
     .field = &C::use_burst_trace},
    {.flag = cli::kBurstTracePath,
     .group = W,
     .help = "BurstGPT file, directory (*.csv) or glob.",
     .field = &C::burst_trace_path},
    {.flag = cli::kValidationTrace,
     .group = W,
     .help = "Validation trace JSON: compares the cache hit rate (results.validation).",
     .field = &C::validation_trace},
    {.flag = cli::kDatasetPath,
     .group = W,
     .help = "ShareGPT JSON dataset replay (turns become requests, with multi-turn history reads).",
     .field = &C::dataset_path},
    {.flag = cli::kMaxConversations,
     .group = W,
     .help = "ShareGPT conversations to load.",
     .field = &C::max_conversations},
    {.flag = cli::kRequestRate,
     .group = W,
     .help = "Dataset replay request rate (req/s, 0 = no pacing).",
     .field = &C::request_rate},
    {.flag = cli::kReplayCycles,
     .group = W,
     .help =
         "Passes over the trace/dataset (0 = infinite); reaching N ends the run once its requests "
         "completed.",
     .field = &C::replay_cycles},
    {.flag = cli::kTraceSpeedup,
     .group = W,
     .help = "Trace (BurstGPT, Mooncake) inter-arrival divisor (0 = no delay).",
     .field = &C::trace_speedup},
    {.flag = cli::kPrecondition,
     .group = W,
     .help = "Write-fill phase of 2048-token entries before the run, then reset the statistics.",
     .field = &C::precondition},
    {.flag = cli::kPreconditionSizeGb,
     .group = W,
     .help = "Precondition volume (0 = 2 x capacity).",
     .field = &C::precondition_size_gb},
    {.flag = cli::kPreconditionThreads,
     .group = W,
     .help = "Precondition threads (0 = CPU count).",
     .field = &C::precondition_threads},
    {.flag = cli::kIoTraceLog,
     .group = W,
     .help = "I/O trace CSV (.zst: zstd). As the reference, no real I/O (null tiers) unless "
             "--io-trace-real.",
     .field = &C::io_trace_log},
    {.flag = cli::kXlsxOutput,
     .group = W,
     .help = "Summary export: .xlsx workbook, else CSV.",
     .field = &C::xlsx_output},
    {.flag = cli::kMooncakeTrace,
     .group = W,
     .help =
         "Mooncake JSON-lines trace replay: one 512-token object mc_<hash id> per block; shared "
         "blocks are read, new ones written.",
     .field = &C::mooncake_trace},
    {.flag = cli::kEnableLatencyTracing,
     .group = X,
     .help = "bpftrace block-layer tracing (out of scope: refused).",
     .field = &C::enable_latency_tracing},
    // ---- ours ----
    {.flag = cli::kGpuBackend,
     .group = O,
     .help = "GPU tier: auto (cuda when a device is found, else absent as the reference), cuda "
             "(device memory via the CUDA driver), simulated (sizes only, transfer time = bytes / "
             "--gpu-bandwidth-gbps), none.",
     .field = &C::gpu_backend},
    {.flag = cli::kGpuBandwidthGbps,
     .group = O,
     .help = "Simulated GPU tier bandwidth.",
     .field = &C::gpu_bandwidth_gbps},
    {.flag = cli::kKeepCache,
     .group = O,
     .help = "Keep this run's .npy files at the end (the next run in the directory removes them).",
     .field = &C::keep_cache},
    {.flag = cli::kQuiet, .group = O, .help = "No live status line.", .field = &C::quiet},
    {.flag = cli::kHtmlReport,
     .group = O,
     .help = "Also write a self-contained HTML report of the run (charts; docs/reports.md).",
     .field = &C::html_report},
    {.flag = cli::kProgressInterval,
     .group = O,
     .help = "Seconds between progress records on stderr when it is not a terminal (one line "
             "'kv-cache progress: phase=... elapsed_s=...', docs/engine.md); 0 = none.",
     .field = &C::progress_interval},
    {.flag = cli::kIoEngine,
     .group = O,
     .help = "Storage I/O engine: posix (reference-comparable: buffered write + fsync, "
             "fadvise(DONTNEED) + read) or io_uring.",
     .field = &C::io_engine},
    {.flag = cli::kDirectIo,
     .group = O,
     .help = "O_DIRECT storage I/O (falls back with a warning).",
     .field = &C::direct_io},
    {.flag = cli::kIoDepth,
     .group = O,
     .help = "Chunks of one object in flight (io_uring).",
     .field = &C::io_depth},
    {.flag = cli::kIoChunkMib,
     .group = O,
     .help = "Storage I/O chunk size.",
     .field = &C::io_chunk_mib},
    {.flag = cli::kSyncMode,
     .group = O,
     .help = "Write durability: fsync (reference), fdatasync, none.",
     .field = &C::sync_mode},
    {.flag = cli::kPayload,
     .group = O,
     .help = "Payload bytes: full (every byte generated for each object, ~0.06 CPU s per GiB "
             "written) or stamped (like fio's data: a fixed random 8 MiB base, repeated, with a "
             "unique 64-byte stamp per 4 KiB block; no duplicate or compressible 4 KiB block, "
             "little CPU; docs/performance.md).",
     .field = &C::payload},
    {.flag = cli::kMaxInflightMib,
     .group = O,
     .help = "Budget of I/O buffer memory in flight, reads and writes together.",
     .field = &C::max_inflight_mib},
    {.flag = cli::kProbe,
     .group = O,
     .help = "Probe the cache directory's device before the run; results get device_probe.",
     .field = &C::probe},
    {.flag = cli::kProbeDevice,
     .group = O,
     .help = "Only probe the cache directory's device, print, exit.",
     .field = &C::probe_device},
    {.flag = cli::kListUsers,
     .group = O,
     .help = "Print the synthetic user population the other flags would simulate (JSON array, "
             "the reference's for the same --seed) and exit; touches no storage.",
     .field = &C::list_users},
    {.flag = cli::kPerRankOutput,
     .group = O,
     .help = "MPI runs: rank 0 also writes each rank's own results as <output stem>_rank<r>.json.",
     .field = &C::per_rank_output},
    {.flag = cli::kRankTimeout,
     .group = O,
     .help =
         "MPI runs: longest wait for the other ranks at start-up, set-up and the results gather.",
     .field = &C::rank_timeout},
    {.flag = cli::kIoTraceReal,
     .group = O,
     .help = "With --io-trace-log: do the real I/O and add a measured Latency_ms column.",
     .field = &C::io_trace_real},
};

std::string lower(std::string_view s) {
  std::string r(s);
  for (auto& ch : r) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return r;
}

std::string join_choices(const engine_cli::Flag& f, std::string_view sep) {
  std::string out;
  for (auto c : f.choices) out += (out.empty() ? "" : std::string(sep)) + std::string(c);
  return out;
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

// Sets the enum field of a choice flag from its text (case-insensitive).
std::string assign_choice(const FlagSpec& spec, std::string_view text, EngineConfig& cfg) {
  return std::visit(
      [&](auto member) -> std::string {
        using T = std::remove_cvref_t<decltype(cfg.*member)>;
        if constexpr (std::is_enum_v<T>) {
          if (auto v = from_text<T>(text)) {
            cfg.*member = *v;
            return {};
          }
          return fmt::format("must be one of {} (got '{}')", join_choices(spec.flag, ", "), text);
        } else {
          throw Error(
              ExitCode::kGeneralError,
              fmt::format("flag table: {} is a choice without an enum field", spec.flag.name));
        }
      },
      spec.field);
}

// Converts `text` for `spec` into `cfg`; returns an error message (without the flag name) or "".
std::string assign(const FlagSpec& spec, std::string_view text, EngineConfig& cfg) {
  switch (spec.flag.kind) {
    case K::kBool: {
      const std::string l = lower(text);
      bool v;
      if (l == "true" || l == "1" || l == "yes")
        v = true;
      else if (l == "false" || l == "0" || l == "no")
        v = false;
      else
        return fmt::format("expected no value or true/false (got '{}')", text);
      cfg.*std::get<bool C::*>(spec.field) = v;
      return {};
    }
    case K::kInt: {
      auto v = parse_int(text);
      if (!v) return fmt::format("expected an integer (got '{}')", text);
      if (*v < std::numeric_limits<int>::min() || *v > std::numeric_limits<int>::max())
        return fmt::format("value out of range (got {})", text);
      cfg.*std::get<int C::*>(spec.field) = static_cast<int>(*v);
      return {};
    }
    case K::kOptionalInt: {
      if (text.empty()) {
        cfg.*std::get<std::optional<std::int64_t> C::*>(spec.field) = std::nullopt;
        return {};
      }
      auto v = parse_int(text);
      if (!v) return fmt::format("expected an integer (got '{}')", text);
      cfg.*std::get<std::optional<std::int64_t> C::*>(spec.field) = *v;
      return {};
    }
    case K::kFloat: {
      auto v = parse_float(text);
      if (!v || !std::isfinite(*v)) return fmt::format("expected a finite number (got '{}')", text);
      cfg.*std::get<double C::*>(spec.field) = *v;
      return {};
    }
    case K::kChoice: return assign_choice(spec, text, cfg);
    case K::kString: cfg.*std::get<std::string C::*>(spec.field) = std::string(text); return {};
  }
  return {};
}

std::optional<double> numeric_value(const FlagSpec& s, const EngineConfig& c) {
  if (s.flag.kind == K::kInt) return static_cast<double>(c.*std::get<int C::*>(s.field));
  if (s.flag.kind == K::kFloat) return c.*std::get<double C::*>(s.field);
  return std::nullopt;
}

bool equal_field(const FlagSpec& s, const EngineConfig& a, const EngineConfig& b) {
  return std::visit([&](auto member) { return a.*member == b.*member; }, s.field);
}

const EngineConfig& defaults_config() {
  static const EngineConfig d = [] {
    EngineConfig c;
    for (const auto& s : flag_table()) {
      const std::string err = assign(s, s.flag.default_text, c);
      if (!err.empty())
        throw Error(ExitCode::kGeneralError,
                    "flag table default of " + std::string(s.flag.name) + ": " + err);
    }
    return c;
  }();
  return d;
}

}  // namespace

std::span<const FlagSpec> flag_table() {
  return kTable;
}

const FlagSpec* find_flag(std::string_view name) {
  for (const auto& s : flag_table())
    if (s.flag.name == name) return &s;
  return nullptr;
}

std::vector<std::string> validate(const EngineConfig& c) {
  std::vector<std::string> errors;
  for (const auto& s : flag_table()) {
    auto v = numeric_value(s, c);
    if (!v) continue;
    if (!engine_cli::in_range(s.flag, *v))
      errors.push_back(fmt::format("{}: must be {} (got {})", s.flag.name,
                                   engine_cli::range_text(s.flag), engine_cli::number_text(*v)));
  }
  if (c.tensor_parallel < 1 || c.tensor_parallel > std::max(c.num_gpus, 1))
    errors.push_back(
        fmt::format("--tensor-parallel: must be between 1 and --num-gpus ({}) (got {})", c.num_gpus,
                    c.tensor_parallel));
  if (c.prefill_only && c.decode_only)
    errors.push_back("--prefill-only/--decode-only: the two flags are mutually exclusive");
  if (c.max_inflight_mib < c.io_chunk_mib)
    errors.push_back(fmt::format("--max-inflight-mib: must be >= --io-chunk-mib ({}) (got {})",
                                 c.io_chunk_mib, c.max_inflight_mib));
  // Products of flags: each factor is bounded by its own limit, the product by the tier bound.
  if (c.gpu_mem_gb * std::max(c.num_gpus, 1) > engine_cli::kMaxTierGib)
    errors.push_back(
        fmt::format("--gpu-mem-gb: --num-gpus x --gpu-mem-gb must be <= {} GiB (got {} x {})",
                    engine_cli::number_text(engine_cli::kMaxTierGib), c.num_gpus,
                    engine_cli::number_text(c.gpu_mem_gb)));
  // A rate or speed-up of 0 means none; a positive one below 1e-6 would stretch a 1 s gap past 11
  // days (the producers clamp every wait, core/wait_ns.hpp, but such a run measures nothing).
  for (const auto& [flag, v] : {std::pair{&engine_cli::kTraceSpeedup, c.trace_speedup},
                                std::pair{&engine_cli::kRequestRate, c.request_rate}})
    if (v > 0 && v < 1e-6)
      errors.push_back(fmt::format("{}: must be 0 or >= 0.000001 (got {})", flag->name,
                                   engine_cli::number_text(v)));
  // The workload-mode combinations refused (engine/config/mode_rules.hpp): usage errors too.
  for (auto& e : check_mode_flags(c).errors) errors.push_back(std::move(e));
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
    out.push_back(
        fmt::format("{}: out of scope (block-layer tracing is not part of this engine; use "
                    "the per-second time series and the device/host latency split)",
                    s.flag.name));
  }
  return out;
}

std::string help_text() {
  std::string h = fmt::format(
      "kv-cache {}: MLPerf Storage KV-cache benchmark engine (C++; flags compatible with "
      "kv-cache.py)\n\n"
      "Usage: kv-cache [flags]\n"
      "GB in flag names means GiB (1024^3 bytes). A repeated flag takes its last value; "
      "unambiguous\n"
      "prefixes of flag names are accepted (as argparse).\n",
      kVersion);
  const std::pair<FlagGroup, const char*> groups[] = {
      {FlagGroup::kReference, "Reference flags (kv-cache.py)"},
      {FlagGroup::kOurs, "Engine extensions (ours)"},
      {FlagGroup::kWorkloadMode, "Workload modes (docs/workload-modes.md)"},
      {FlagGroup::kOutOfScope, "Refused (out of scope)"}};
  for (const auto& [g, title] : groups) {
    h += fmt::format("\n{}:\n", title);
    if (g == FlagGroup::kReference)
      h += "  -h, --help                  Print this help and exit.\n  --version                   "
           "Print the version and exit.\n";
    for (const auto& s : flag_table()) {
      if (s.group != g) continue;
      const engine_cli::Flag& f = s.flag;
      std::string left(f.name);
      switch (f.kind) {
        case K::kInt: left += " INT"; break;
        case K::kOptionalInt: left += " INT"; break;
        case K::kFloat: left += " FLOAT"; break;
        case K::kString: left += " TEXT"; break;
        case K::kChoice: left += " {" + join_choices(f, "|") + "}"; break;
        case K::kBool: break;
      }
      std::string extra;
      if (f.kind != K::kBool)
        extra = fmt::format("default: {}{}",
                            f.default_text.empty() ? "none" : std::string(f.default_text),
                            f.unit.empty() ? "" : " " + std::string(f.unit));
      if (auto r = engine_cli::range_text(f); !r.empty()) extra += "; " + r;
      if (&f == &engine_cli::kTensorParallel) extra += "; <= --num-gpus";
      std::string line = fmt::format("  {:<28}{}", left, s.help);
      if (!extra.empty()) line += " (" + extra + ")";
      if (left.size() >= 28)
        line = fmt::format("  {}\n  {:<28}{}{}", left, "", s.help,
                           extra.empty() ? "" : " (" + extra + ")");
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
      errors.push_back(
          fmt::format("{}: unrecognized argument (flags start with --; see --help)", arg));
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
        if (s.flag.name.substr(0, name.size()) == name) matches.push_back(&s);
      if (matches.size() == 1) {
        spec = matches[0];
      } else if (matches.size() > 1) {
        std::string list;
        for (auto* m : matches) list += (list.empty() ? "" : ", ") + std::string(m->flag.name);
        errors.push_back(fmt::format("{}: ambiguous flag (could be {})", name, list));
        if (!inline_value && i + 1 < argc && std::string_view(argv[i + 1]).substr(0, 2) != "--")
          ++i;
        continue;
      } else {
        errors.push_back(fmt::format("{}: unrecognized flag (see --help)", name));
        continue;
      }
    }
    std::string_view value;
    if (spec->flag.kind == K::kBool) {
      value = inline_value.value_or("true");
    } else if (inline_value) {
      value = *inline_value;
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      errors.push_back(fmt::format("{}: expected a value", spec->flag.name));
      continue;
    }
    if (std::string err = assign(*spec, value, res.config); !err.empty()) {
      errors.push_back(fmt::format("{}: {}", spec->flag.name, err));
      continue;
    }
    res.config.given.insert(std::string(spec->flag.name));
  }

  // Range and cross-flag checks only for flags that parsed (a bad value is reported once).
  for (auto& e : validate(res.config)) {
    const std::string flag = e.substr(0, e.find(':'));
    const bool already = std::any_of(errors.begin(), errors.end(), [&](const std::string& x) {
      return x.rfind(flag + ":", 0) == 0;
    });
    if (!already) errors.push_back(std::move(e));
  }
  for (auto& r : refusals(res.config)) errors.push_back(std::move(r));
  if (!errors.empty()) {
    std::string msg = errors.size() == 1 ? errors[0] : "invalid arguments:";
    if (errors.size() > 1)
      for (const auto& e : errors) msg += "\n  " + e;
    throw Error(ExitCode::kInvalidArguments, msg, "see kv-cache --help");
  }
  if (res.config.tensor_parallel > 1 &&
      (res.config.tensor_parallel & (res.config.tensor_parallel - 1)) != 0)
    res.warnings.push_back(
        fmt::format("--tensor-parallel {} is not a power of 2", res.config.tensor_parallel));
  return res;
}

}  // namespace kv::engine
