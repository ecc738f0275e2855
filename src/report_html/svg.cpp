#include "report_html/svg.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace kv::report_html {
namespace {

constexpr int kLeft = 64, kRight = 24, kTop = 30, kBottom = 64;

bool usable(double v, bool log) {
  return std::isfinite(v) && (!log || v > 0);
}

// Maps data to pixels on one axis (linear or log10).
struct Scale {
  double lo = 0, hi = 1;
  bool log = false;
  double p0 = 0, p1 = 1;  // pixel positions of lo and hi
  double operator()(double v) const {
    const double a = log ? std::log10(lo) : lo, b = log ? std::log10(hi) : hi;
    const double x = log ? std::log10(v) : v;
    return b == a ? (p0 + p1) / 2 : p0 + (x - a) / (b - a) * (p1 - p0);
  }
};

// Data range of one axis over every usable point, widened so the chart never has zero extent.
std::pair<double, double> data_range(const std::vector<Series>& series, bool x_axis,
                                     const Axis& ax) {
  double lo = INFINITY, hi = -INFINITY;
  for (const auto& s : series) {
    for (const auto& [x, y] : s.points) {
      const double v = x_axis ? x : y;
      if (!usable(v, ax.log)) continue;
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
  }
  if (!std::isnan(ax.min)) lo = ax.min;
  if (!std::isnan(ax.max)) hi = ax.max;
  if (!ax.log && !x_axis && std::isnan(ax.min)) lo = std::min(lo, 0.0);
  if (ax.log) {
    lo = std::pow(10.0, std::floor(std::log10(lo)));
    hi = std::pow(10.0, std::ceil(std::log10(hi)));
    if (hi <= lo) hi = lo * 10;
  } else if (hi <= lo) {
    hi = lo + (lo == 0 ? 1.0 : std::abs(lo));
  }
  return {lo, hi};
}

std::string num(double v) {
  return fmt::format("{:.2f}", v);
}

std::string svg_open(int w, int h, const std::string& title) {
  return fmt::format(
      "<svg class=\"chart\" viewBox=\"0 0 {0} {1}\" width=\"{0}\" height=\"{1}\" role=\"img\" "
      "aria-label=\"{2}\"><title>{2}</title>"
      "<text class=\"ctitle\" x=\"{3}\" y=\"18\">{2}</text>",
      w, h, escape(title), kLeft);
}

std::string no_data(int w, int h, const std::string& title) {
  return svg_open(w, h, title) +
         fmt::format("<text class=\"nodata\" x=\"{}\" y=\"{}\">no data recorded</text></svg>",
                     w / 2, h / 2);
}

std::string legend(const std::vector<std::pair<std::string, std::string>>& items,
                   const std::vector<bool>& dashed, int y0, int w) {
  std::string o;
  double x = kLeft;
  int y = y0;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const double width = 28 + 7.0 * static_cast<double>(items[i].first.size());
    if (x + width > w && x > kLeft) {
      x = kLeft;
      y += 16;
    }
    o += fmt::format(
        "<line class=\"key\" x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"{3}\"{4}/>"
        "<text class=\"legend\" x=\"{5}\" y=\"{6}\">{7}</text>",
        num(x), y - 4, num(x + 18), items[i].second, dashed[i] ? " stroke-dasharray=\"5 3\"" : "",
        num(x + 22), y, escape(items[i].first));
    x += width;
  }
  return o;
}

std::string frame(const Scale& sx, const Scale& sy, const Axis& ax, const Axis& ay, int h) {
  std::string o;
  const auto xt = ax.log ? log_ticks(sx.lo, sx.hi) : nice_ticks(sx.lo, sx.hi, 6);
  const auto yt = ay.log ? log_ticks(sy.lo, sy.hi) : nice_ticks(sy.lo, sy.hi, 5);
  for (double t : yt) {
    o += fmt::format(
        "<line class=\"grid\" x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\"/>"
        "<text class=\"tick\" x=\"{3}\" y=\"{4}\" text-anchor=\"end\">{5}</text>",
        num(sx.p0), num(sy(t)), num(sx.p1), num(sx.p0 - 4), num(sy(t) + 4), tick_text(t));
  }
  for (double t : xt) {
    o += fmt::format(
        "<line class=\"grid\" x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\"/>"
        "<text class=\"tick\" x=\"{0}\" y=\"{3}\" text-anchor=\"middle\">{4}</text>",
        num(sx(t)), num(sy.p1), num(sy.p0), num(sy.p0 + 14), tick_text(t));
  }
  o += fmt::format(
      "<rect class=\"plot\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/>"
      "<text class=\"axis\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>"
      "<text class=\"axis\" transform=\"translate(14 {}) rotate(-90)\" "
      "text-anchor=\"middle\">{}</text>",
      num(sx.p0), num(sy.p1), num(sx.p1 - sx.p0), num(sy.p0 - sy.p1), num((sx.p0 + sx.p1) / 2),
      h - kBottom + 32, escape(ax.label), num((sy.p0 + sy.p1) / 2), escape(ay.label));
  return o;
}

}  // namespace

std::string escape(const std::string& s) {
  std::string o;
  o.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      case '\'': o += "&#39;"; break;
      default: o += c;
    }
  }
  return o;
}

const char* palette(std::size_t i) {
  static const char* const kColours[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                         "#E69F00", "#56B4E9", "#000000", "#F0E442"};
  return kColours[i % (sizeof kColours / sizeof kColours[0])];
}

std::vector<double> nice_ticks(double lo, double hi, int target) {
  std::vector<double> out;
  if (!(hi > lo) || target < 1) return {lo};
  const double raw = (hi - lo) / target;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    step = m * mag;
    if (step >= raw) break;
  }
  for (double t = std::ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9; t += step) {
    out.push_back(std::abs(t) < step * 1e-9 ? 0.0 : t);
  }
  return out;
}

std::vector<double> log_ticks(double lo, double hi) {
  std::vector<double> out;
  if (!(lo > 0) || !(hi >= lo)) return out;
  for (int e = static_cast<int>(std::floor(std::log10(lo) + 1e-9));
       e <= static_cast<int>(std::ceil(std::log10(hi) - 1e-9)); ++e) {
    out.push_back(std::pow(10.0, e));
  }
  return out;
}

std::string tick_text(double v) {
  const double a = std::abs(v);
  if (a != 0 && (a >= 1e6 || a < 1e-3)) return fmt::format("{:.0e}", v);
  std::string s = fmt::format("{:.3f}", v);
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s == "-0" ? "0" : s;
}

std::string render(const LineChart& c) {
  bool any = false;
  for (const auto& s : c.series) {
    for (const auto& [x, y] : s.points) any = any || (usable(x, c.x.log) && usable(y, c.y.log));
  }
  if (!any) return no_data(c.width, c.height, c.title);

  const int rows = 1 + static_cast<int>(c.series.size()) / 4;
  const int h = c.height + 16 * (rows - 1);
  Scale sx, sy;
  std::tie(sx.lo, sx.hi) = data_range(c.series, true, c.x);
  std::tie(sy.lo, sy.hi) = data_range(c.series, false, c.y);
  sx.log = c.x.log;
  sy.log = c.y.log;
  sx.p0 = kLeft;
  sx.p1 = c.width - kRight;
  sy.p0 = h - kBottom - 16 * (rows - 1);
  sy.p1 = kTop;

  std::string o = svg_open(c.width, h, c.title) + frame(sx, sy, c.x, c.y, h - 16 * (rows - 1));
  std::vector<std::pair<std::string, std::string>> keys;
  std::vector<bool> dashed;
  for (std::size_t i = 0; i < c.series.size(); ++i) {
    const Series& s = c.series[i];
    const std::string colour = s.color.empty() ? palette(i) : s.color;
    std::string d;
    double last_y = NAN;
    for (const auto& [x, y] : s.points) {
      if (!usable(x, c.x.log) || !usable(y, c.y.log)) continue;
      const double px = std::clamp(sx(x), sx.p0, sx.p1), py = std::clamp(sy(y), sy.p1, sy.p0);
      if (d.empty()) {
        d = "M" + num(px) + " " + num(py);
      } else {
        if (s.step) d += " L" + num(px) + " " + num(last_y);
        d += " L" + num(px) + " " + num(py);
      }
      last_y = py;
    }
    if (d.empty()) continue;
    if (d.find('L') == std::string::npos) d += " h0.01";  // one point: still a visible dot
    o += fmt::format(
        "<path class=\"series\" data-series=\"{}\" d=\"{}\" stroke=\"{}\" fill=\"none\" "
        "stroke-width=\"1.8\" stroke-linecap=\"round\"{}/>",
        escape(s.name), d, colour, s.dashed ? " stroke-dasharray=\"6 4\"" : "");
    keys.emplace_back(s.name, colour);
    dashed.push_back(s.dashed);
  }
  o += legend(keys, dashed, h - 14 - 16 * (rows - 1), c.width);
  return o + "</svg>";
}

std::string render(const BarChart& c) {
  double hi = 0;
  bool any = false;
  for (const auto& g : c.groups) {
    for (double v : g.values) {
      if (std::isfinite(v)) {
        any = true;
        hi = std::max(hi, v);
      }
    }
  }
  if (!any || c.series_names.empty()) return no_data(c.width, c.height, c.title);
  Scale sx, sy;
  sy.lo = 0;
  sy.hi = hi > 0 ? hi : 1;
  sy.hi = nice_ticks(0, sy.hi, 5).back() < sy.hi ? sy.hi * 1.05 : nice_ticks(0, sy.hi, 5).back();
  sx.lo = 0;
  sx.hi = 1;
  sx.p0 = kLeft;
  sx.p1 = c.width - kRight;
  sy.p0 = c.height - kBottom;
  sy.p1 = kTop;
  Axis ay;
  ay.label = c.y_label;
  std::string o = svg_open(c.width, c.height, c.title);
  // Frame with the y grid only (categories label the x axis).
  for (double t : nice_ticks(sy.lo, sy.hi, 5)) {
    o += fmt::format(
        "<line class=\"grid\" x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\"/>"
        "<text class=\"tick\" x=\"{3}\" y=\"{4}\" text-anchor=\"end\">{5}</text>",
        num(sx.p0), num(sy(t)), num(sx.p1), num(sx.p0 - 4), num(sy(t) + 4), tick_text(t));
  }
  o += fmt::format(
      "<rect class=\"plot\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/>"
      "<text class=\"axis\" transform=\"translate(14 {}) rotate(-90)\" "
      "text-anchor=\"middle\">{}</text>",
      num(sx.p0), num(sy.p1), num(sx.p1 - sx.p0), num(sy.p0 - sy.p1), num((sy.p0 + sy.p1) / 2),
      escape(ay.label));
  const double group_w = (sx.p1 - sx.p0) / static_cast<double>(c.groups.size());
  const double bar_w = group_w * 0.8 / static_cast<double>(c.series_names.size());
  for (std::size_t g = 0; g < c.groups.size(); ++g) {
    const double gx = sx.p0 + group_w * static_cast<double>(g) + group_w * 0.1;
    for (std::size_t i = 0; i < c.groups[g].values.size() && i < c.series_names.size(); ++i) {
      const double v = c.groups[g].values[i];
      if (!std::isfinite(v)) continue;
      const double top = sy(std::max(v, 0.0));
      o += fmt::format(
          "<rect class=\"bar\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\">"
          "<title>{}: {}</title></rect>",
          num(gx + bar_w * static_cast<double>(i)), num(top), num(bar_w * 0.92),
          num(std::max(sy.p0 - top, 0.5)), palette(i),
          escape(c.groups[g].category + " " + c.series_names[i]), tick_text(v));
    }
    o += fmt::format("<text class=\"tick\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                     num(gx + group_w * 0.4), num(sy.p0 + 14), escape(c.groups[g].category));
  }
  std::vector<std::pair<std::string, std::string>> keys;
  for (std::size_t i = 0; i < c.series_names.size(); ++i)
    keys.emplace_back(c.series_names[i], palette(i));
  o += legend(keys, std::vector<bool>(keys.size(), false), c.height - 14, c.width);
  return o + "</svg>";
}

}  // namespace kv::report_html
