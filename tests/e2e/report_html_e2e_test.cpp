// The HTML reports in a real browser: a 3 s run of the real engine (its own --html-report, with
// the gauge charts), `mlpstorage reports html` and `reports compare` on its results, then headless
// Chromium loads each page in an iframe of a probe page and reports, from the browser's own
// layout, how long every drawn series path is and how large every bar is, and how many
// sub-resources the report fetched (must be none: the report is self-contained). The harness is
// tests/support/browser.hpp (also used for the sequence report in submission_e2e_test.cpp).
//
// Without chromium on $PATH the test is skipped, unless KV_REQUIRE_CHROMIUM=1 (set by
// scripts/run-tests.sh, so CI fails instead of skipping).
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "support/argv.hpp"
#include "support/browser.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

using namespace kv::testsupport;

using Json = nlohmann::json;
namespace fs = std::filesystem;

TEST(ReportHtmlE2E, ChartsAreDrawnByARealBrowser) {
  std::string why;
  const std::string chromium = find_chromium(why);
  if (chromium.empty()) {
    if (chromium_required()) FAIL() << why << " and KV_REQUIRE_CHROMIUM=1";
    GTEST_SKIP() << why;
  }
  TempDir tmp;
  const fs::path results = tmp.path / "results.json";
  auto eng = run(engine_argv({.cache = tmp.path / "cache",
                              .output = results,
                              .extra = {"--html-report", (tmp.path / "engine.html").string()}}),
                 {"KV_DIST_NO_MPI=1"});
  ASSERT_EQ(eng.exit_code, 0) << eng.err;
  // The engine's own report (--html-report) is the same page as `mlpstorage reports html`'s.
  const Json me = measure_in_browser(chromium, tmp.path, tmp.path / "engine.html");
  ASSERT_TRUE(me.value("loaded", false)) << me.dump();
  EXPECT_EQ(me["resources"], 0);
  EXPECT_EQ(paths_of(me, "storage tier bandwidth per second"), 2);
  // The gauges of a real run (docs/metrics.md "timeseries"), sampled at the end of each second and
  // at the stop: queued, in service and storage-ops lines; storage occupancy (no GPU/CPU tier).
  EXPECT_EQ(paths_of(me, "Queue depth and work in flight"), 3);
  EXPECT_EQ(paths_of(me, "Tier occupancy"), 1);

  const fs::path report = tmp.path / "report.html";
  auto h = run({bin("mlpstorage"), "reports", "html", results.string(), "-o", report.string()});
  ASSERT_EQ(h.exit_code, 0) << h.err;
  const Json m = measure_in_browser(chromium, tmp.path, report);
  ASSERT_TRUE(m.value("loaded", false)) << m.dump();
  EXPECT_EQ(m["resources"], 0) << "the report fetched something";
  ASSERT_GE(m["charts"].size(), 5u);
  for (const auto& c : m["charts"]) {
    EXPECT_GT(c["width"].get<double>(), 100) << c.dump();
    if (!c["nodata"].get<bool>()) {
      EXPECT_GE(c["paths"].get<int>() + c["bars"].get<int>(), 1) << c;
    }
  }
  // A run with storage traffic: per-second read and write lines, and device latency curves.
  EXPECT_EQ(paths_of(m, "storage tier bandwidth per second"), 2);
  EXPECT_GE(paths_of(m, "Storage device latency per object"), 1);
  EXPECT_GE(paths_of(m, "Request latency"), 2);

  const fs::path cmp = tmp.path / "compare.html";
  auto c = run({bin("mlpstorage"), "reports", "compare", results.string(), results.string(), "-o",
                cmp.string()});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_NE(c.out.find("Storage read bandwidth"), std::string::npos) << c.out;
  EXPECT_NE(c.out.find("1.000x"), std::string::npos) << c.out;  // a run against itself
  const Json mc = measure_in_browser(chromium, tmp.path, cmp);
  ASSERT_TRUE(mc.value("loaded", false)) << mc.dump();
  EXPECT_EQ(mc["resources"], 0);
  // Both runs' read and write lines overlaid in one chart.
  EXPECT_EQ(paths_of(mc, "storage tier bandwidth per second"), 4);
}
