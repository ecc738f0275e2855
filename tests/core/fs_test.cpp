#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "core/error.hpp"
#include "core/fs.hpp"

namespace stdfs = std::filesystem;

TEST(Fs, AtomicWriteReplacesAndLeavesNoTemp) {
  stdfs::path dir = stdfs::temp_directory_path() / ("kv_fs_test_" + std::to_string(::getpid()));
  stdfs::create_directories(dir);
  stdfs::path f = dir / "out.json";
  kv::fs::atomic_write(f, "first");
  kv::fs::atomic_write(f, "second");
  EXPECT_EQ(kv::fs::read_file(f, "test"), "second");
  int count = 0;
  for ([[maybe_unused]] auto& e : stdfs::directory_iterator(dir)) ++count;
  EXPECT_EQ(count, 1);
  stdfs::remove_all(dir);
}

TEST(Fs, AtomicWriteIntoMissingDirFailsWithFileNotFound) {
  try {
    kv::fs::atomic_write("/nonexistent-dir-kv/x.json", "x");
    FAIL() << "expected an error";
  } catch (const kv::Error& e) {
    EXPECT_EQ(e.code(), kv::ExitCode::kFileNotFound);
    EXPECT_NE(std::string(e.what()).find("/nonexistent-dir-kv/x.json"), std::string::npos);
  }
}

TEST(Fs, ReadMissingFileNamesTheFlag) {
  try {
    kv::fs::read_file("/nonexistent-kv-file.yaml", "--config");
    FAIL();
  } catch (const kv::Error& e) {
    EXPECT_EQ(e.code(), kv::ExitCode::kFileNotFound);
    EXPECT_NE(std::string(e.what()).find("--config"), std::string::npos);
  }
}
