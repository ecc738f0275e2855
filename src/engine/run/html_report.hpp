// --html-report PATH: the run's self-contained HTML report (src/report_html, docs/reports.md),
// written after the results JSON. Single-process runs only for now: an MPI rank's results are not
// the merged ones, so under MPI the flag is refused with a hint (`mlpstorage reports html` on the
// merged --output file, or the report mlpstorage writes into every run directory).
#pragma once

#include <string>

#include "engine/run/observer.hpp"

namespace kv::engine::run {

class HtmlReport final : public RunObserver {
 public:
  explicit HtmlReport(std::string path) : path_(std::move(path)) {}
  void after_output(const nlohmann::ordered_json& results, const RunData& d,
                    bool wrote_summary) override;

 private:
  std::string path_;
};

}  // namespace kv::engine::run
