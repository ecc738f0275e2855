// Small helpers shared by the replay tests.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include "core/error.hpp"
#include "support/temp_dir.hpp"

namespace replay_test {

using kv::testsupport::TempDir;

inline std::filesystem::path data(const std::string& name) {
  return std::filesystem::path(KV_TEST_DATA_DIR) / name;
}

// Runs fn, expects a kv::Error with `code` whose message contains every needle.
inline void expect_error(const std::function<void()>& fn, kv::ExitCode code,
                         std::initializer_list<std::string> needles) {
  try {
    fn();
    ADD_FAILURE() << "expected kv::Error";
  } catch (const kv::Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    for (const auto& n : needles)
      EXPECT_NE(std::string(e.what()).find(n), std::string::npos) << e.what() << " lacks " << n;
  }
}

}  // namespace replay_test
