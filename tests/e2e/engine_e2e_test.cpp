// kv-cache end to end on tiny-1b in temp dirs: the JSON against the files and bytes really written;
// the ownership rules across runs; same seed ⇒ same keys and bytes; --payload stamped;
// --max-requests; SIGINT ⇒ exit 8 with valid JSON marked interrupted; usage errors exit 2 naming
// the flag or key.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "support/argv.hpp"
#include "support/json_file.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

using namespace kv::testsupport;

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> base_args(const fs::path& cache, const fs::path& out, int duration = 4,
                                   const std::string& seed = "7") {
  return engine_argv(
      {.cache = cache, .output = out, .users = 6, .duration = duration, .seed = seed});
}

struct NpyFile {
  std::uint64_t header = 0, payload = 0, shape_elems = 0;
  bool valid = false;
};

NpyFile inspect(const fs::path& p) {
  NpyFile f;
  std::ifstream in(p, std::ios::binary);
  char head[10];
  if (!in.read(head, 10) || std::string(head, 6) != "\x93NUMPY") return f;
  const auto hlen = static_cast<std::uint8_t>(head[8]) | (static_cast<std::uint8_t>(head[9]) << 8);
  std::string dict(hlen, '\0');
  in.read(dict.data(), hlen);
  f.header = 10 + hlen;
  f.payload = fs::file_size(p) - f.header;
  if (dict.find("'descr': '<f2'") == std::string::npos ||
      dict.find("'fortran_order': False") == std::string::npos)
    return f;
  auto s = dict.find("'shape': (");
  if (s == std::string::npos) return f;
  std::uint64_t prod = 1;
  std::string nums = dict.substr(s + 10, dict.find(')', s) - s - 10);
  std::stringstream ss(nums);
  std::string tok;
  while (std::getline(ss, tok, ','))
    if (tok.find_first_of("0123456789") != std::string::npos) prod *= std::stoull(tok);
  f.shape_elems = prod;
  f.valid = f.header % 64 == 0 && prod * 2 == f.payload;
  return f;
}

std::vector<fs::path> npy_files(const fs::path& dir) {
  std::vector<fs::path> v;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".npy") v.push_back(e.path());
  return v;
}

// The gauges of the per-second rows (docs/metrics.md, "timeseries"): every row carries the
// columns of the tiers in `tiers`, a non-null value wherever the second was sampled (always the
// last row: sampled at the stop), counts of requests and storage operations bounded by the
// workers (each worker does one request, and one storage operation of it, at a time). Returns the
// largest `<tier>_used_bytes` per tier.
std::map<std::string, std::uint64_t> expect_gauges(const json& j,
                                                   const std::vector<std::string>& tiers) {
  std::map<std::string, std::uint64_t> max_used;
  const auto& rows = j["timeseries"];
  const auto workers = j["workload"]["workers"].get<std::uint64_t>();
  EXPECT_FALSE(rows.empty());
  for (const char* t : {"gpu", "cpu", "storage"}) {
    const bool present = std::find(tiers.begin(), tiers.end(), t) != tiers.end();
    for (const auto& row : rows)
      EXPECT_EQ(row.contains(std::string(t) + "_used_bytes"), present) << t << " " << row;
  }
  std::vector<std::string> columns = {"queue_depth", "requests_in_service",
                                      "storage_ops_in_flight"};
  for (const auto& t : tiers) columns.push_back(t + "_used_bytes");
  for (const auto& row : rows) {
    for (const auto& c : columns) {
      EXPECT_TRUE(row.contains(c)) << c << " " << row;
      if (!row.contains(c) || row[c].is_null()) continue;
      EXPECT_TRUE(row[c].is_number_unsigned()) << c << " " << row;
      if (!row[c].is_number_unsigned()) continue;
      const auto v = row[c].get<std::uint64_t>();
      if (c == "requests_in_service" || c == "storage_ops_in_flight") {
        EXPECT_LE(v, workers) << c;
      }
      if (c.ends_with("_used_bytes")) {
        auto& m = max_used[c.substr(0, c.size() - std::string("_used_bytes").size())];
        m = std::max(m, v);
      }
    }
  }
  if (!rows.empty()) {
    for (const auto& c : columns) EXPECT_FALSE(rows.back()[c].is_null()) << c << " at the stop";
  }
  return max_used;
}

}  // namespace

TEST(EngineE2E, JsonMatchesTheFilesReallyWrittenAndOwnershipHoldsAcrossRuns) {
  TempDir t;
  const fs::path cache = t.path / "cache", out = t.path / "r1.json";
  fs::create_directories(cache);
  { std::ofstream(cache / "foreign.npy") << "not ours"; }

  // Enough work in the window whatever the load: the run stops after 10 requests (60 s at most).
  auto args = base_args(cache, out, 60);
  args.insert(args.end(), {"--keep-cache", "--max-requests", "10"});
  auto r = run(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("BENCHMARK RESULTS"), std::string::npos);
  const json j = load_json(out);
  const auto& s = j["summary"];
  const auto& cs = s["cache_stats"];
  EXPECT_GT(s["total_requests"].get<int>(), 0);
  EXPECT_EQ(s["total_requests"], j["requests_completed"]);
  EXPECT_GT(cs["total_read_bytes"].get<double>(), 0);
  EXPECT_GT(cs["total_write_bytes"].get<double>(), 0);
  EXPECT_GT(cs["tier_storage_read_bandwidth_gbps"].get<double>(), 0);
  EXPECT_GT(cs["tier_storage_write_bandwidth_gbps"].get<double>(), 0);
  EXPECT_TRUE(cs.contains("storage_read_device_p95_ms"));
  EXPECT_TRUE(cs.contains("storage_write_device_p95_ms"));
  EXPECT_EQ(cs["gpu_entries"], 0);
  EXPECT_EQ(cs["cpu_entries"], 0);
  EXPECT_FALSE(j["interrupted"].get<bool>());
  EXPECT_EQ(j["end_to_end_latencies"].size(), s["total_requests"].get<std::size_t>());
  // Per-chunk device latency (issue #6): every chunk of every object write/read is observed, so
  // there are at least as many chunk samples as storage operations, and they are positive.
  const auto& chunk = j["io"]["chunk_latency_ms"];
  EXPECT_GE(chunk["write"]["count"].get<std::uint64_t>(),
            cs["offloads_storage"].get<std::uint64_t>());
  EXPECT_GT(chunk["read"]["count"].get<std::uint64_t>(), 0u);
  EXPECT_GT(chunk["write"]["p95"].get<double>(), 0.0);
  EXPECT_TRUE(j["latency_histograms"].contains("storage_write_chunk"));
  // The chunk bytes completed in the window hold every object counted in the window (headers and
  // padding make them larger), plus the parts of objects still in flight at the stop.
  const auto& wcb = j["io"]["window_chunk_bytes"];
  EXPECT_GE(wcb["write"].get<double>(),
            cs["tier_storage_kv_bytes_written_gb"].get<double>() * 0.999 * (1 << 30));
  EXPECT_GE(wcb["read"].get<double>(),
            cs["tier_storage_kv_bytes_read_gb"].get<double>() * 0.999 * (1 << 30));
  EXPECT_GT(wcb["write"].get<double>(), 0.0);
  EXPECT_EQ(j["io"]["payload"], "full");  // the default: every byte generated per object
  // Storage only: the gauges without GPU/CPU columns; the run wrote to storage before its stop.
  EXPECT_GT(expect_gauges(j, {"storage"})["storage"], 0u);

  // Files on disk == what the JSON says is stored. A worker abandoned at the stop (a slow disk:
  // still in fsync after the drain and the grace; workers_abandoned_at_stop, docs/metrics.md) may
  // leave the object it was writing, whole or in part and not counted: at most one file each.
  const auto abandoned = j["workers_abandoned_at_stop"].get<std::uint64_t>();
  const auto entries = cs["storage_entries"].get<std::uint64_t>();
  const double used = cs["storage_used_gb"].get<double>() * 1073741824.0;
  std::uint64_t payload = 0, ours = 0, partial = 0;
  for (const auto& p : npy_files(cache)) {
    if (p.filename() == "foreign.npy") continue;
    const NpyFile f = inspect(p);
    if (!f.valid) {
      ++partial;
      continue;
    }
    EXPECT_EQ(f.header, 128u) << p;  // the reference layout for these shapes
    payload += f.payload;
    ++ours;
  }
  if (abandoned == 0) {
    EXPECT_EQ(partial, 0u);
    EXPECT_EQ(ours, entries) << r.err;
    EXPECT_NEAR(static_cast<double>(payload), used, 4096.0);
  } else {
    std::printf(
        "[ note ] %llu worker(s) abandoned at the stop: %llu whole + %llu partial files "
        "for %llu entries\n",
        static_cast<unsigned long long>(abandoned), static_cast<unsigned long long>(ours),
        static_cast<unsigned long long>(partial), static_cast<unsigned long long>(entries));
    EXPECT_NE(r.err.find(std::to_string(abandoned) + " worker(s) still in an I/O operation"),
              std::string::npos)
        << r.err;
    EXPECT_GE(ours, entries);
    EXPECT_LE(ours + partial, entries + abandoned) << r.err;
    EXPECT_GE(static_cast<double>(payload) + 4096.0, used);
  }
  // Everything stored was written (nothing evicted here: unlimited capacity in practice).
  EXPECT_EQ(cs["storage_evictions"].get<int>(), 0);
  EXPECT_GT(payload, 0u);
  EXPECT_EQ(slurp(cache / "foreign.npy"), "not ours");
  EXPECT_TRUE(fs::exists(cache / ".kv-cache-manifest"));

  // Second run without --keep-cache: removes the first run's files at start, its own at the end,
  // and never touches the foreign file.
  const fs::path out2 = t.path / "r2.json";
  auto r2 = run(until_requests(base_args(cache, out2), 2));
  ASSERT_EQ(r2.exit_code, 0) << r2.err;
  const json j2 = load_json(out2);
  EXPECT_EQ(j2["cache_dir"]["stale_files_removed_at_start"].get<std::uint64_t>(), ours + partial);
  EXPECT_EQ(j2["cache_dir"]["foreign_npy_files_left_untouched"].get<int>(), 1);
  EXPECT_FALSE(j2["cache_dir"]["kept"].get<bool>());
  const auto left = npy_files(cache);
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].filename(), "foreign.npy");
  EXPECT_EQ(slurp(cache / "foreign.npy"), "not ours");
  EXPECT_FALSE(fs::exists(cache / ".kv-cache-manifest"));
}

TEST(EngineE2E, SameSeedSameKeysAndBytes) {
  TempDir t;
  std::vector<std::set<std::string>> names(3);
  for (int i = 0; i < 3; ++i) {
    auto args = until_requests(
        base_args(t.path / ("c" + std::to_string(i)), t.path / ("r" + std::to_string(i) + ".json"),
                  3, i == 2 ? "8" : "7"),
        6);
    args.push_back("--keep-cache");
    auto r = run(args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    for (const auto& p : npy_files(t.path / ("c" + std::to_string(i))))
      names[static_cast<std::size_t>(i)].insert(p.filename());
  }
  // Every user's first request is conversation 0, turn 1, whatever the timing.
  std::string common;
  for (const auto& n : names[0])
    if (names[1].count(n) && n.rfind("conv_user_", 0) == 0) common = n;
  ASSERT_FALSE(common.empty());
  EXPECT_EQ(slurp(t.path / "c0" / common), slurp(t.path / "c1" / common));
  if (names[2].count(common)) {
    EXPECT_NE(slurp(t.path / "c0" / common), slurp(t.path / "c2" / common));
  }
}

// --payload stamped (docs/performance.md "Payload generator"): the run says so in its banner and
// results, and writes the same objects (names, sizes) with other bytes than the default payload.
TEST(EngineE2E, StampedPayloadSameObjectsOtherBytes) {
  TempDir t;
  std::vector<std::set<std::string>> names(2);
  for (int i = 0; i < 2; ++i) {
    const std::string c = "c" + std::to_string(i);
    auto args = base_args(t.path / c, t.path / (c + ".json"), 60);
    args.insert(args.end(), {"--keep-cache", "--max-requests", "2"});
    if (i == 1) args.insert(args.end(), {"--payload", "stamped"});
    auto r = run(args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out.find("Payload:          stamped") != std::string::npos, i == 1) << r.out;
    EXPECT_EQ(load_json(t.path / (c + ".json"))["io"]["payload"], i == 1 ? "stamped" : "full");
    for (const auto& p : npy_files(t.path / c))
      names[static_cast<std::size_t>(i)].insert(p.filename());
  }
  std::string common;  // every user's first request is conversation 0, turn 1
  for (const auto& n : names[0])
    if (names[1].count(n) && n.rfind("conv_user_", 0) == 0) common = n;
  ASSERT_FALSE(common.empty());
  const std::string full = slurp(t.path / "c0" / common), stamped = slurp(t.path / "c1" / common);
  ASSERT_EQ(full.size(), stamped.size());
  EXPECT_NE(full, stamped);
  EXPECT_TRUE(inspect(t.path / "c1" / common).valid);
}

TEST(EngineE2E, MaxRequestsStopsEarlyWithExactlyThatMany) {
  TempDir t;
  auto args = base_args(t.path / "c", t.path / "r.json", 60);
  args.insert(args.end(), {"--max-requests", "3"});
  const auto t0 = std::chrono::steady_clock::now();
  auto r = run(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(40));
  const json j = load_json(t.path / "r.json");
  EXPECT_EQ(j["summary"]["total_requests"].get<int>(), 3);
  EXPECT_EQ(j["stop_reason"], "max_requests");
}

TEST(EngineE2E, SimulatedGpuAndCpuTiersCascadeIntoStorage) {
  TempDir t;
  auto args = until_requests(base_args(t.path / "c", t.path / "r.json"), 4);
  args.insert(args.end(),
              {"--gpu-backend", "simulated", "--gpu-mem-gb", "0.1", "--cpu-mem-gb", "0.2"});
  // later flags win: replaces the earlier --gpu-mem-gb 0 / --cpu-mem-gb 0
  auto r = run(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = load_json(t.path / "r.json");
  const auto& cs = j["summary"]["cache_stats"];
  EXPECT_GT(cs["tier_gpu_kv_bytes_written_gb"].get<double>(), 0);
  EXPECT_GT(cs["tier_cpu_kv_bytes_written_gb"].get<double>() +
                cs["tier_storage_kv_bytes_written_gb"].get<double>(),
            0);
  EXPECT_TRUE(j["config"]["gpu_tier"].get<bool>());
  EXPECT_EQ(j["config"]["gpu_backend"], "simulated");
  // An entry admitted to the GPU tier stays there until a newer one takes its place.
  EXPECT_GT(expect_gauges(j, {"gpu", "cpu", "storage"})["gpu"], 0u);
}

TEST(EngineE2E, DecodeOnlyReadsWithoutWritesAndPrefillOnlyWritesWithoutReads) {
  TempDir t;
  auto d = until_requests(base_args(t.path / "d", t.path / "d.json"), 2);
  d.insert(d.end(), {"--num-users", "1", "--decode-only"});
  auto r = run(d);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json j = load_json(t.path / "d.json");
  const auto& dc = j["summary"]["cache_stats"];
  EXPECT_EQ(dc["total_write_bytes"].get<double>(),
            0);  // pre-population is before the measured window
  EXPECT_EQ(dc["write_iops"].get<int>(), 0);
  EXPECT_GT(dc["total_read_bytes"].get<double>(), 0);
  EXPECT_GE(dc["storage_entries"].get<int>(), 10);  // 1 user × 10 pre-populated entries

  auto p = until_requests(base_args(t.path / "p", t.path / "p.json"), 2);
  p.insert(p.end(), {"--prefill-only", "--disable-multi-turn", "--disable-prefix-caching"});
  r = run(p);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  j = load_json(t.path / "p.json");
  const auto& pc = j["summary"]["cache_stats"];
  EXPECT_EQ(pc["total_read_bytes"].get<double>(), 0);
  EXPECT_EQ(pc["cache_hits"].get<int>() + pc["cache_misses"].get<int>(), 0);
  EXPECT_GT(pc["total_write_bytes"].get<double>(), 0);
}

TEST(EngineE2E, SigintStopsWritesInterruptedResultsAndExits8) {
  TempDir t;
  const fs::path out = t.path / "r.json";
  auto args = base_args(t.path / "c", out, 60);
  Background engine(args, t.path);
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  engine.signal(SIGINT);
  const auto code = engine.wait(15);
  ASSERT_TRUE(code.has_value()) << "still running 15 s after SIGINT";
  EXPECT_EQ(*code, 8) << slurp(engine.err);
  const json j = load_json(out);  // valid JSON
  EXPECT_TRUE(j["interrupted"].get<bool>());
  EXPECT_EQ(j["stop_reason"], "signal");
  EXPECT_LT(j["summary"]["elapsed_time"].get<double>(), 10.0);
  EXPECT_TRUE(j["summary"].contains("cache_stats"));
}

TEST(EngineE2E, UsageErrorsExitTwoNamingTheProblem) {
  TempDir t;
  struct Case {
    std::vector<std::string> args;
    std::string needle;
  };
  { std::ofstream(t.path / "bad.yaml") << "eviction:\n  target_usage_ratio: high\n"; }
  const std::vector<Case> cases = {
      {{"--num-users", "0"}, "--num-users: must be between 1 and 100000"},
      {{"--enable-latency-tracing"}, "--enable-latency-tracing: out of scope"},
      {{"--cache-dir", "/etc/kv"}, "--cache-dir: refusing"},
      {{"--model", "nope"}, "--model: unknown model 'nope'"},
      {{"--prefill-only", "--decode-only"}, "mutually exclusive"},
      {{"--config", (t.path / "bad.yaml").string()},
       "--config: eviction.target_usage_ratio: expected a number"},
      {{"--cpu-mem-gb", "131072", "--cache-dir", (t.path / "c").string()}, "--cpu-mem-gb"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> argv{bin("kv-cache")};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    auto r = run(argv);
    EXPECT_EQ(r.exit_code, 2) << c.needle << ": " << r.err;
    EXPECT_NE(r.err.find(c.needle), std::string::npos) << r.err;
  }
  auto missing = run({bin("kv-cache"), "--config", (t.path / "none.yaml").string()});
  EXPECT_EQ(missing.exit_code, 3) << missing.err;
}
