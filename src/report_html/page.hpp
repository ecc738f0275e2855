// Building blocks shared by the report pages (report.cpp: one run and comparisons; sequence.cpp:
// a submission sequence): the page shell with its inline CSS, and small readers/formatters of
// JSON values. Everything here returns plain strings of HTML; text is escaped, nothing throws on
// a missing or mistyped key.
#pragma once

#include <string>
#include <vector>

#include "report_html/results_view.hpp"

namespace kv::report_html::parts {

// A complete self-contained HTML document: <head> with the shared inline CSS and the generator
// tag, `body` inside <main>. `title` is escaped; `body` is HTML; `extra_css` is appended to the
// shared style sheet (a page type's own rules).
std::string page(const std::string& title, const std::string& body,
                 const std::string& extra_css = {});

// j[key], or null when j is not an object or has no such key.
const Json& at(const Json& j, const char* key);
// j[key] is the boolean true.
bool flag(const Json& j, const char* key);
// j[key] as text: the string itself, other values as JSON text, "" when null or absent.
std::string str_at(const Json& j, const char* key);
// One table cell's content: escaped string, "—" for null, short numbers (format_value), other
// values as JSON text cut at 300 characters.
std::string cell(const Json& v);
// Two-column table of the members of an object ("not recorded" when empty or not an object).
std::string kv_table(const Json& obj);
// A flowing row of chart cards.
std::string charts_div(const std::vector<std::string>& charts);

}  // namespace kv::report_html::parts
