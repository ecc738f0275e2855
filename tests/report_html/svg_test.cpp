#include "report_html/svg.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <regex>

#include "support/files.hpp"

namespace rh = kv::report_html;
using kv::testsupport::count_of;

TEST(Svg, NiceTicksUseOneTwoFiveStepsAndCoverTheRange) {
  auto t = rh::nice_ticks(0, 0.42, 5);
  ASSERT_GE(t.size(), 3u);
  EXPECT_DOUBLE_EQ(t.front(), 0.0);
  const double step = t[1] - t[0];
  EXPECT_NEAR(step, 0.1, 1e-12);
  for (std::size_t i = 1; i < t.size(); ++i) EXPECT_NEAR(t[i] - t[i - 1], step, 1e-12);
  EXPECT_LE(t.back(), 0.42 + 1e-12);
  auto big = rh::nice_ticks(0, 2500, 5);
  EXPECT_NEAR(big[1] - big[0], 500, 1e-9);
}

TEST(Svg, LogTicksArePowersOfTen) {
  auto t = rh::log_ticks(0.01, 1000);
  ASSERT_EQ(t.size(), 6u);
  EXPECT_NEAR(t.front(), 0.01, 1e-15);
  EXPECT_NEAR(t.back(), 1000, 1e-9);
  EXPECT_TRUE(rh::log_ticks(0, 10).empty());
}

TEST(Svg, TickTextIsShort) {
  EXPECT_EQ(rh::tick_text(0.5), "0.5");
  EXPECT_EQ(rh::tick_text(200), "200");
  EXPECT_EQ(rh::tick_text(0), "0");
  EXPECT_EQ(rh::tick_text(2e6), "2e+06");
}

TEST(Svg, EscapesMarkup) {
  EXPECT_EQ(rh::escape("a<b & \"c\" 'd'>"), "a&lt;b &amp; &quot;c&quot; &#39;d&#39;&gt;");
}

TEST(Svg, LineChartDrawsOnePathPerNonEmptySeriesInsideThePlot) {
  rh::LineChart c;
  c.title = "t <x>";
  c.series.push_back({"read", {{0, 1}, {1, 2}, {2, 0.5}}, "", false, false});
  c.series.push_back({"empty", {}, "", false, false});
  c.series.push_back({"write", {{0, 0.1}, {1, NAN}, {2, 0.3}}, "", true, true});
  const std::string svg = rh::render(c);
  EXPECT_EQ(count_of(svg, "<path class=\"series\""), 2);
  EXPECT_EQ(count_of(svg, "stroke-dasharray=\"6 4\""), 1);
  EXPECT_NE(svg.find("t &lt;x&gt;"), std::string::npos);
  // Every coordinate of every path lies inside the viewBox.
  std::regex num(R"re(([0-9.]+) ([0-9.]+))re");
  std::regex path(R"re(<path class="series"[^>]* d="([^"]*)")re");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), path); it != std::sregex_iterator();
       ++it) {
    const std::string d = (*it)[1];
    for (auto m = std::sregex_iterator(d.begin(), d.end(), num); m != std::sregex_iterator(); ++m) {
      const double x = std::stod((*m)[1]), y = std::stod((*m)[2]);
      EXPECT_GE(x, 0);
      EXPECT_LE(x, c.width);
      EXPECT_GE(y, 0);
      EXPECT_LE(y, c.height);
    }
  }
}

TEST(Svg, LogAxisSkipsNonPositivePointsAndEmptyChartSaysNoData) {
  rh::LineChart c;
  c.x.log = true;
  c.series.push_back({"only zero", {{0, 0.5}}, "", false, false});
  const std::string svg = rh::render(c);
  EXPECT_EQ(count_of(svg, "<path class=\"series\""), 0);
  EXPECT_NE(svg.find("no data recorded"), std::string::npos);
}

TEST(Svg, BarChartDrawsOneBarPerFiniteValue) {
  rh::BarChart b;
  b.series_names = {"read", "write"};
  b.groups = {{"rank 0", {1.0, 2.0}}, {"rank 1", {NAN, 0.5}}};
  const std::string svg = rh::render(b);
  EXPECT_EQ(count_of(svg, "<rect class=\"bar\""), 3);
  EXPECT_NE(svg.find("rank 1"), std::string::npos);
}
