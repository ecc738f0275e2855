// Headless Chromium (Debian `chromium`, installed by scripts/install-deps.sh) as a test
// instrument for the HTML reports: a page is loaded in an iframe of a probe page, and the browser's
// own layout reports how long every drawn series path is, how large every bar is, and how many
// sub-resources the page fetched (a self-contained report fetches none). Used by
// tests/e2e/report_html_e2e_test.cpp (run reports, comparison) and
// tests/e2e/submission_e2e_test.cpp (the sequence report).
//
// Without chromium on $PATH a browser check is skipped, unless KV_REQUIRE_CHROMIUM=1 (set by
// scripts/run-tests.sh, so CI fails instead of skipping).
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "support/process.hpp"
#include "support/required.hpp"

namespace kv::testsupport {

// chromium's path, or "" with `why` set when it is not installed.
inline std::string find_chromium(std::string& why) {
  for (const char* name : {"chromium", "chromium-browser"}) {
    std::string p = find_on_path(name);
    if (!p.empty()) return p;
  }
  why = "chromium is not installed (scripts/install-deps.sh installs it)";
  return {};
}

// KV_REQUIRE_CHROMIUM=1: a missing browser is a failure, not a skip.
inline bool chromium_required() {
  return tool_required("KV_REQUIRE_CHROMIUM");
}

// Loads `page` (a file in `dir`) in headless Chromium inside a probe page and returns what the
// browser measured: {"loaded": true, "charts": [{"title", "nodata", "width", "series", "paths",
// "bars"}], "resources": N}: `series` counts every series path, `paths` those drawn longer than
// one pixel (a one-point series is a dot), `bars` the bars with a non-empty box. Failures are
// gtest failures (and an empty object).
inline nlohmann::json measure_in_browser(const std::string& chromium,
                                         const std::filesystem::path& dir,
                                         const std::filesystem::path& page) {
  const std::filesystem::path probe = dir / "probe.html";
  std::ofstream(probe) << R"(<!DOCTYPE html><html><body><pre id="out">not loaded</pre>
<iframe id="f" src=")" << std::filesystem::relative(page, dir).string()
                       << R"(" width="1400" height="4000"></iframe>
<script>
document.getElementById('f').addEventListener('load', () => {
  const w = document.getElementById('f').contentWindow, d = w.document;
  const charts = [...d.querySelectorAll('svg.chart')].map(s => ({
    title: s.getAttribute('aria-label'),
    nodata: s.querySelector('.nodata') !== null,
    width: s.getBoundingClientRect().width,
    series: s.querySelectorAll('path.series').length,
    paths: [...s.querySelectorAll('path.series')].filter(p => p.getTotalLength() > 1).length,
    bars: [...s.querySelectorAll('rect.bar')].filter(r => {
      const b = r.getBBox(); return b.width > 0 && b.height > 0; }).length}));
  document.getElementById('out').textContent = JSON.stringify({loaded: true, charts,
    resources: w.performance.getEntriesByType('resource').length});
});
</script></body></html>)";
  const std::filesystem::path profile = dir / "chromium-profile";
  auto r = run({"/usr/bin/timeout", "120", chromium, "--headless", "--no-sandbox", "--disable-gpu",
                "--allow-file-access-from-files", "--user-data-dir=" + profile.string(),
                "--virtual-time-budget=10000", "--dump-dom", "file://" + probe.string()});
  EXPECT_EQ(r.exit_code, 0) << r.err.substr(0, 2000);
  const std::string open = "<pre id=\"out\">";
  auto a = r.out.find(open);
  auto b = r.out.find("</pre>", a);
  if (a == std::string::npos || b == std::string::npos) {
    ADD_FAILURE() << "no probe output in the DOM dump: " << r.out.substr(0, 500);
    return nlohmann::json::object();
  }
  try {
    return nlohmann::json::parse(r.out.substr(a + open.size(), b - a - open.size()));
  } catch (const nlohmann::json::exception& e) {
    ADD_FAILURE() << e.what() << ": " << r.out.substr(a, b - a);
    return nlohmann::json::object();
  }
}

// `what` ("paths", "series", "bars") of the chart titled `title` (-1, and a failure, when there is
// no such chart).
inline int chart_count(const nlohmann::json& m, const std::string& title, const std::string& what) {
  for (const auto& c : m["charts"])
    if (c["title"] == title) return c[what].get<int>();
  ADD_FAILURE() << "no chart '" << title << "' in " << m.dump();
  return -1;
}
// Drawn series paths of the chart titled `title`.
inline int paths_of(const nlohmann::json& m, const std::string& title) {
  return chart_count(m, title, "paths");
}

}  // namespace kv::testsupport
