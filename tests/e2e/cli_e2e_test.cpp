// Foundation behaviour of both binaries: --version, --help, unknown flags.
#include <gtest/gtest.h>

#include "support/process.hpp"

using namespace kv::testsupport;

TEST(CliE2E, VersionPrintsAndExitsZero) {
  for (const char* b : {"kv-cache", "mlpstorage"}) {
    auto r = run({bin(b), "--version"});
    EXPECT_EQ(r.exit_code, 0) << b;
    EXPECT_NE(r.out.find(std::string(b) + " "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("0."), std::string::npos) << r.out;
  }
}

TEST(CliE2E, HelpExitsZero) {
  auto r = run({bin("kv-cache"), "--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("kv-cache"), std::string::npos);
}

TEST(CliE2E, UnknownFlagNamesItAndExitsTwo) {
  for (const char* b : {"kv-cache", "mlpstorage"}) {
    auto r = run({bin(b), "--no-such-flag"});
    EXPECT_EQ(r.exit_code, 2) << b;
    EXPECT_NE((r.out + r.err).find("--no-such-flag"), std::string::npos) << b << ": " << r.err;
  }
}
