// The progress record's format and the status line's fitting to the terminal width.
#include "engine/run/progress.hpp"

#include <gtest/gtest.h>

#include <map>
#include <sstream>

#include "engine/run/status_line.hpp"

using namespace kv::engine::run;

namespace {
std::size_t columns(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}
}  // namespace

TEST(ProgressRecord, OneLineOfKeyValuePairsInTheAgreedFormat) {
  ProgressFields f;
  f.phase = "window";
  f.elapsed_s = 12.04;
  f.duration_s = 60;
  f.requests = 314;
  f.read_gibps = 1.2345;
  f.write_gibps = 0.5;
  f.rank = 3;
  const std::string line = progress_line(f);
  EXPECT_EQ(line.rfind("kv-cache progress: ", 0), 0u);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  std::map<std::string, std::string> kv;
  std::istringstream in(line.substr(19));
  for (std::string tok; in >> tok;) {
    auto eq = tok.find('=');
    ASSERT_NE(eq, std::string::npos) << tok;
    kv[tok.substr(0, eq)] = tok.substr(eq + 1);
  }
  EXPECT_EQ(kv["phase"], "window");
  EXPECT_DOUBLE_EQ(std::stod(kv["elapsed_s"]), 12.0);
  EXPECT_EQ(kv["duration_s"], "60");
  EXPECT_EQ(kv["requests"], "314");
  EXPECT_NEAR(std::stod(kv["read_gibps"]), 1.2345, 1e-3);
  EXPECT_NEAR(std::stod(kv["write_gibps"]), 0.5, 1e-3);
  EXPECT_EQ(kv["rank"], "3");
}

TEST(StatusLineFit, KeepsEverythingWhenItFits) {
  const std::string l = fit_status_line("[kv] ", {{"a", 2}, {"b", 1}}, 80);
  EXPECT_EQ(l, "[kv] a | b");
}

TEST(StatusLineFit, DropsLeastImportantFieldsFirstAndNeverExceedsTheWidth) {
  const std::vector<StatusField> fields = {{"3/6 s", 9},
                                           {"12 req", 8},
                                           {"sto R 1.25 W 0.50 GiB/s", 7},
                                           {"cpu R 3.10 W 0.20 GiB/s", 5},
                                           {"total R 10.00 W 4.00 GiB", 6}};
  for (std::size_t w = 0; w <= 120; ++w) {
    const std::string l = fit_status_line("[kv-cache] ", fields, w);
    EXPECT_LE(columns(l), w) << l;
  }
  // 56 columns: the CPU rates (priority 5) go, then the totals (6); storage rates stay.
  const std::string l56 = fit_status_line("[kv-cache] ", fields, 56);
  EXPECT_EQ(l56, "[kv-cache] 3/6 s | 12 req | sto R 1.25 W 0.50 GiB/s");
  const std::string l79 = fit_status_line("[kv-cache] ", fields, 79);
  EXPECT_EQ(l79.find("cpu R"), std::string::npos) << l79;
  EXPECT_NE(l79.find("total R"), std::string::npos) << l79;
  // Very narrow: the prefix goes before the two most important fields.
  EXPECT_EQ(fit_status_line("[kv-cache] ", fields, 14), "3/6 s | 12 req");
}
