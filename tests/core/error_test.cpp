#include <gtest/gtest.h>

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/units.hpp"

TEST(Error, UsageErrorNamesFlagAndMapsToExit2) {
  kv::Error e = kv::usage_error("--num-users", "must be between 1 and 100000 (got 0)");
  EXPECT_EQ(e.code(), kv::ExitCode::kInvalidArguments);
  EXPECT_EQ(kv::to_int(e.code()), 2);
  EXPECT_NE(std::string(e.what()).find("--num-users"), std::string::npos);
  EXPECT_EQ(e.describe().rfind("error: --num-users", 0), 0u);
}

TEST(Error, DescribeIncludesHint) {
  kv::Error e(kv::ExitCode::kFileNotFound, "missing file", "create it");
  EXPECT_NE(e.describe().find("hint: create it"), std::string::npos);
  EXPECT_STREQ(kv::exit_code_name(e.code()), "FILE_NOT_FOUND");
}

TEST(Log, ParsesLevelsAndRejectsUnknown) {
  EXPECT_EQ(kv::log::parse_level("debug"), kv::log::Level::kDebug);
  EXPECT_EQ(kv::log::parse_level("CRITICAL"), kv::log::Level::kCritical);
  EXPECT_THROW(kv::log::parse_level("LOUD"), kv::Error);
}

TEST(Units, GiBConversions) {
  EXPECT_EQ(kv::gib_to_bytes(1.0), 1073741824ULL);
  EXPECT_EQ(kv::gib_to_bytes(0.5), 536870912ULL);
  EXPECT_EQ(kv::gib_to_bytes(-3), 0ULL);
  EXPECT_DOUBLE_EQ(kv::bytes_to_gib(3ULL * kv::kGiB), 3.0);
}
