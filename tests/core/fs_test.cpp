#include "core/fs.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "core/error.hpp"

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

// Issue 15 item 2d: symlinks planted where the temp file used to be (<out>.tmp.<pid>, or any guess)
// are never written through; the victim stays byte-identical and the output is a regular file.
TEST(Fs, AtomicWriteNeverWritesThroughAPlantedSymlink) {
  stdfs::path dir = stdfs::temp_directory_path() / ("kv_fs_sym_" + std::to_string(::getpid()));
  stdfs::create_directories(dir);
  const stdfs::path victim = dir / "victim";
  kv::fs::atomic_write(victim, "precious");
  const stdfs::path out = dir / "out.json";
  stdfs::create_symlink(victim, out.string() + ".tmp." + std::to_string(::getpid()));
  stdfs::create_symlink(victim, out);  // the output name itself: replaced, not followed
  kv::fs::atomic_write(out, "results");
  EXPECT_EQ(kv::fs::read_file(victim, "test"), "precious");
  EXPECT_TRUE(stdfs::is_regular_file(stdfs::symlink_status(out)));
  EXPECT_EQ(kv::fs::read_file(out, "test"), "results");
  stdfs::remove_all(dir);
}

// Issue 15 item 4: an output that cannot be written is found before the run.
TEST(Fs, CheckWritableFindsUnwritableOutputsAndLeavesNothing) {
  stdfs::path dir = stdfs::temp_directory_path() / ("kv_fs_chk_" + std::to_string(::getpid()));
  stdfs::create_directories(dir);
  EXPECT_NO_THROW(kv::fs::check_writable(dir / "ok.json"));
  EXPECT_TRUE(stdfs::is_empty(dir));
  kv::fs::atomic_write(dir / "file", "x");
  const auto code_of = [](const stdfs::path& p) {
    try {
      kv::fs::check_writable(p);
    } catch (const kv::Error& e) {
      EXPECT_NE(std::string(e.what()).find(p.parent_path().string()), std::string::npos)
          << e.what();
      return e.code();
    }
    return kv::ExitCode::kSuccess;
  };
  EXPECT_EQ(code_of(dir / "file" / "x.json"), kv::ExitCode::kFileNotFound);  // parent is a file
  EXPECT_EQ(code_of(dir / std::string(300, 'n')), kv::ExitCode::kInvalidArguments);
  EXPECT_EQ(code_of(dir), kv::ExitCode::kInvalidArguments);  // a directory
  EXPECT_NE(code_of("/proc/kv-cache-results.json"), kv::ExitCode::kSuccess);
  EXPECT_EQ(code_of("/dev/zero"), kv::ExitCode::kInvalidArguments);  // never replaced by a file
  stdfs::remove_all(dir);
}

TEST(Fs, ReadFileRefusesDirectoriesAndUnboundedFiles) {
  const auto code_of = [](const stdfs::path& p, std::size_t max) {
    try {
      kv::fs::read_file(p, "--config", max);
    } catch (const kv::Error& e) {
      EXPECT_NE(std::string(e.what()).find("--config"), std::string::npos) << e.what();
      return e.code();
    }
    return kv::ExitCode::kSuccess;
  };
  EXPECT_EQ(code_of(stdfs::temp_directory_path(), 1 << 20), kv::ExitCode::kInvalidArguments);
  EXPECT_EQ(code_of("/dev/zero", 1 << 20), kv::ExitCode::kInvalidArguments);
}
