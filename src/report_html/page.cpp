#include "report_html/page.hpp"

#include "core/version.hpp"
#include "report_html/report.hpp"
#include "report_html/svg.hpp"

namespace kv::report_html::parts {
namespace {

constexpr const char* kCss = R"(
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1b1f24;background:#f6f7f9}
main{max-width:1340px;margin:0 auto;padding:16px 24px 48px}
h1{font-size:22px;margin:8px 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #d0d5dc;padding-bottom:4px}
.sub{color:#57606a;margin:0 0 12px}
.banner{padding:10px 14px;border-radius:6px;margin:10px 0;font-weight:600}
.ok{background:#e6f4ea;border:1px solid #9bd3ae}.warn{background:#fff4e5;border:1px solid #f0c36d}
.bad{background:#fdecea;border:1px solid #f1a7a0}
.charts{display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start}
.card{background:#fff;border:1px solid #d8dde3;border-radius:6px;padding:6px}
table{border-collapse:collapse;background:#fff;margin:6px 0}
th,td{border:1px solid #d8dde3;padding:3px 8px;text-align:left;vertical-align:top}
td.n{text-align:right;font-variant-numeric:tabular-nums}th{background:#eef1f4}
.info{color:#57606a;font-weight:normal;font-size:12px}
.note{color:#57606a;font-size:12.5px;max-width:1000px}
svg.chart{font:11px system-ui,sans-serif}
svg .ctitle{font-size:13px;font-weight:600}svg .grid{stroke:#e3e7ec}svg .plot{fill:none;stroke:#9aa3ad}
svg .tick,svg .legend{fill:#3d444d}svg .axis{fill:#3d444d;font-size:12px}svg .nodata{fill:#8a939c;text-anchor:middle}
svg .key{stroke-width:2.5}
)";

}  // namespace

std::string page(const std::string& title, const std::string& body, const std::string& extra_css) {
  return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
         "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
         "<meta name=\"generator\" content=\"kv-cache " +
         std::string(kVersion) + " report_html\"><title>" + escape(title) + "</title><style>" +
         kCss + extra_css + "</style></head><body><main>\n" + body + "\n</main></body></html>\n";
}

const Json& at(const Json& j, const char* key) {
  static const Json kNull;
  if (!j.is_object()) return kNull;
  auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}
bool flag(const Json& j, const char* key) {
  const Json& v = at(j, key);
  return v.is_boolean() && v.get<bool>();
}

std::string str_at(const Json& j, const char* key) {
  if (!j.is_object()) return {};
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return {};
  return it->is_string() ? it->get<std::string>() : it->dump();
}

std::string cell(const Json& v) {
  if (v.is_string()) return escape(v.get<std::string>());
  if (v.is_null()) return "—";
  if (v.is_number_float()) return format_value(v.get<double>());
  std::string s = v.dump();
  if (s.size() > 300) s = s.substr(0, 297) + "...";
  return escape(s);
}

std::string kv_table(const Json& obj) {
  if (!obj.is_object() || obj.empty()) return "<p class=\"note\">not recorded</p>";
  std::string o = "<table>";
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    o += "<tr><th>" + escape(it.key()) + "</th><td>" + cell(*it) + "</td></tr>";
  }
  return o + "</table>";
}

std::string charts_div(const std::vector<std::string>& charts) {
  std::string o = "<div class=\"charts\">";
  for (const auto& c : charts) o += "<div class=\"card\">" + c + "</div>";
  return o + "</div>";
}

}  // namespace kv::report_html::parts
