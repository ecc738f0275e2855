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

namespace replay_test {

inline std::filesystem::path data(const std::string& name) {
  return std::filesystem::path(KV_TEST_DATA_DIR) / name;
}

// A fresh temporary directory removed at scope exit.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> n{0};
    path_ = std::filesystem::temp_directory_path() /
            ("kv_replay_test_" + std::to_string(::getpid()) + "_" + std::to_string(n++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path write(const std::string& name, const std::string& content) const {
    auto p = path_ / name;
    std::ofstream(p, std::ios::binary) << content;
    return p;
  }

 private:
  std::filesystem::path path_;
};

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
