// Shared helpers for the io tests: a file-size limit, a verifying sink.
#pragma once

#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "engine/io/backend.hpp"
#include "engine/io/payload.hpp"
#include "support/temp_dir.hpp"

namespace kvio_test {

using kv::testsupport::TempDir;

// While alive, files of this process cannot grow past `bytes`: writes beyond fail with EFBIG (a
// real kernel write error; SIGXFSZ is ignored meanwhile). Restores both on destruction.
struct FileSizeLimit {
  explicit FileSizeLimit(rlim_t bytes) {
    ::getrlimit(RLIMIT_FSIZE, &old_);
    old_sig_ = ::signal(SIGXFSZ, SIG_IGN);
    rlimit l = old_;
    l.rlim_cur = bytes;
    ::setrlimit(RLIMIT_FSIZE, &l);
  }
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &old_);
    ::signal(SIGXFSZ, old_sig_);
  }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;

 private:
  rlimit old_{};
  sighandler_t old_sig_ = SIG_DFL;
};

// Compares every byte it receives with the generated payload; records coverage.
class VerifySink final : public kv::io::PayloadSink {
 public:
  VerifySink(const kv::io::PayloadGenerator& g, const std::string& key)
      : gen_(g), es_(g.entry_seed(key)) {}
  void consume(std::uint64_t offset, std::span<const std::byte> in) override {
    std::lock_guard lk(mu_);
    expect_.resize(in.size());
    gen_.fill(es_, offset, expect_);
    if (std::memcmp(expect_.data(), in.data(), in.size()) != 0) ++mismatches;
    if (offset != next_) ++out_of_order;
    next_ = offset + in.size();
    bytes += in.size();
  }
  int mismatches = 0;
  int out_of_order = 0;
  std::uint64_t bytes = 0;

 private:
  const kv::io::PayloadGenerator& gen_;
  std::uint64_t es_;
  std::vector<std::byte> expect_;
  std::uint64_t next_ = 0;
  std::mutex mu_;
};

}  // namespace kvio_test
