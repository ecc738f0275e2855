// Inline SVG charts for the HTML reports: plain strings, no script, no external resource, so a
// report opens offline in any browser. Every chart is one <svg class="chart"> element whose data
// lines are <path class="series"> elements (what the browser test looks for) and whose bars are
// <rect class="bar"> elements.
//
// Contract:
//  * line_chart: x/y axes with "nice" ticks (1-2-5 steps; powers of ten on a log axis), a legend,
//    one path per non-empty series; series may be dashed (used to overlay a second run). Points
//    with a non-finite coordinate, or a non-positive one on a log axis, are skipped.
//  * bar_chart: grouped vertical bars, one group per category, one bar per series.
//  * A chart without any drawable point renders a short "no data" note instead of an empty frame.
//  * Text is HTML-escaped; numbers are written with at most 2 decimals of a pixel.
#pragma once

#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace kv::report_html {

struct Series {
  std::string name;
  std::vector<std::pair<double, double>> points;  // (x, y)
  std::string color;                              // CSS colour; empty = palette by position
  bool dashed = false;
  bool step = false;  // draw as a step function (for CDFs of bucketed data: no false slopes)
};

struct Axis {
  std::string label;
  bool log = false;
  // Optional fixed range; NaN = from the data (a linear y axis always includes 0).
  double min = std::numeric_limits<double>::quiet_NaN();
  double max = std::numeric_limits<double>::quiet_NaN();
};

struct LineChart {
  std::string title;
  Axis x, y;
  std::vector<Series> series;
  int width = 600, height = 290;
};

struct BarGroup {
  std::string category;
  std::vector<double> values;  // one per series name; NaN = no bar
};

struct BarChart {
  std::string title;
  std::string y_label;
  std::vector<std::string> series_names;
  std::vector<BarGroup> groups;
  int width = 600, height = 290;
};

std::string render(const LineChart& c);
std::string render(const BarChart& c);

// Tick positions for [lo, hi]: about `target` 1-2-5 steps (linear) or the powers of ten (log).
std::vector<double> nice_ticks(double lo, double hi, int target);
std::vector<double> log_ticks(double lo, double hi);
// "1.5", "200", "1e+06": short tick text.
std::string tick_text(double v);
// Escapes & < > " ' for HTML text and attribute values.
std::string escape(const std::string& s);
// The palette colour for series i (colour-blind friendly, Okabe-Ito).
const char* palette(std::size_t i);

}  // namespace kv::report_html
