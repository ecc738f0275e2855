// The HTML reports in a real browser: a 3 s run of the real engine, `mlpstorage reports html` and
// `reports compare` on its results, then headless Chromium (Debian `chromium`, installed by
// scripts/install-deps.sh) loads each page in an iframe of a probe page and reports, from the
// browser's own layout, how long every drawn series path is and how large every bar is, and how
// many sub-resources the report fetched (must be none: the report is self-contained).
//
// Without chromium on $PATH the test is skipped, unless KV_REQUIRE_CHROMIUM=1 (set by
// scripts/run-tests.sh, so CI fails instead of skipping).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "support/argv.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

using namespace kv::testsupport;

using Json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::string chromium_or_skip_reason(std::string& reason) {
  for (const char* name : {"chromium", "chromium-browser"}) {
    std::string p = find_on_path(name);
    if (!p.empty()) return p;
  }
  reason = "chromium is not installed (scripts/install-deps.sh installs it)";
  return {};
}

// Loads `page` in headless Chromium inside a probe page and returns what the browser measured:
// {"charts":[{"title","paths","bars"}], "resources": N, "loaded": true}.
Json measure_in_browser(const std::string& chromium, const fs::path& dir, const fs::path& page) {
  const fs::path probe = dir / "probe.html";
  std::ofstream(probe) << R"(<!DOCTYPE html><html><body><pre id="out">not loaded</pre>
<iframe id="f" src=")" << page.filename().string()
                       << R"(" width="1400" height="4000"></iframe>
<script>
document.getElementById('f').addEventListener('load', () => {
  const w = document.getElementById('f').contentWindow, d = w.document;
  const charts = [...d.querySelectorAll('svg.chart')].map(s => ({
    title: s.getAttribute('aria-label'),
    nodata: s.querySelector('.nodata') !== null,
    width: s.getBoundingClientRect().width,
    paths: [...s.querySelectorAll('path.series')].filter(p => p.getTotalLength() > 1).length,
    bars: [...s.querySelectorAll('rect.bar')].filter(r => {
      const b = r.getBBox(); return b.width > 0 && b.height > 0; }).length}));
  document.getElementById('out').textContent = JSON.stringify({loaded: true, charts,
    resources: w.performance.getEntriesByType('resource').length});
});
</script></body></html>)";
  const fs::path profile = dir / "chromium-profile";
  auto r = run({"/usr/bin/timeout", "120", chromium, "--headless", "--no-sandbox", "--disable-gpu",
                "--allow-file-access-from-files", "--user-data-dir=" + profile.string(),
                "--virtual-time-budget=10000", "--dump-dom", "file://" + probe.string()});
  EXPECT_EQ(r.exit_code, 0) << r.err.substr(0, 2000);
  const std::string open = "<pre id=\"out\">";
  auto a = r.out.find(open);
  auto b = r.out.find("</pre>", a);
  if (a == std::string::npos || b == std::string::npos) {
    ADD_FAILURE() << "no probe output in the DOM dump: " << r.out.substr(0, 500);
    return Json::object();
  }
  try {
    return Json::parse(r.out.substr(a + open.size(), b - a - open.size()));
  } catch (const Json::exception& e) {
    ADD_FAILURE() << e.what() << ": " << r.out.substr(a, b - a);
    return Json::object();
  }
}

// Drawn series paths of the chart titled `title` (-1, and a failure, when there is no such chart).
int paths_of(const Json& m, const std::string& title) {
  for (const auto& c : m["charts"])
    if (c["title"] == title) return c["paths"].get<int>();
  ADD_FAILURE() << "no chart '" << title << "' in " << m.dump();
  return -1;
}

}  // namespace

TEST(ReportHtmlE2E, ChartsAreDrawnByARealBrowser) {
  std::string why;
  const std::string chromium = chromium_or_skip_reason(why);
  if (chromium.empty()) {
    const char* req = std::getenv("KV_REQUIRE_CHROMIUM");
    if (req && std::string(req) == "1") FAIL() << why << " and KV_REQUIRE_CHROMIUM=1";
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
