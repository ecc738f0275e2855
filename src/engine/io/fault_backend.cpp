#include "engine/io/fault_backend.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace kv::io {

namespace {
IoResult injected_failure(int err, const std::string& what, const std::filesystem::path& path) {
  IoResult r;
  r.ok = false;
  r.error = err;
  r.message = what + " " + path.string() + ": " + std::strerror(err) + " (injected)";
  return r;
}
}  // namespace

int FaultBackend::Arm::take() {
  if (count == 0) return 0;
  if (skip > 0) {
    --skip;
    return 0;
  }
  if (count > 0) --count;
  return err;
}

FaultBackend::FaultBackend(std::unique_ptr<StorageBackend> inner)
    : inner_(std::move(inner)), name_(std::string("fault(") + inner_->name() + ")") {}

void FaultBackend::fail_writes(int err, int after_n, int count) {
  std::lock_guard lk(mu_);
  writes_ = Arm{err, after_n, count};
}

void FaultBackend::fail_reads(int err, int after_n, int count) {
  std::lock_guard lk(mu_);
  reads_ = Arm{err, after_n, count};
}

void FaultBackend::short_write_next(int count, bool silent) {
  std::lock_guard lk(mu_);
  short_count_ = count;
  short_silent_ = silent;
}

void FaultBackend::clear() {
  std::lock_guard lk(mu_);
  writes_ = Arm{};
  reads_ = Arm{};
  short_count_ = 0;
}

int FaultBackend::writes_seen() const {
  std::lock_guard lk(mu_);
  return writes_seen_;
}
int FaultBackend::reads_seen() const {
  std::lock_guard lk(mu_);
  return reads_seen_;
}
int FaultBackend::injected() const {
  std::lock_guard lk(mu_);
  return injected_;
}

IoResult FaultBackend::write(const ObjectSpec& spec, const PayloadSource& src) {
  int err = 0;
  bool short_write = false, silent = false;
  {
    std::lock_guard lk(mu_);
    ++writes_seen_;
    err = writes_.take();
    if (err == 0 && short_count_ > 0) {
      --short_count_;
      short_write = true;
      silent = short_silent_;
    }
    if (err != 0 || short_write) ++injected_;
  }
  const auto path = inner_->path_for(spec.key);
  if (err != 0) {
    inner_->remove(spec.key);  // a failed write leaves no file (the real backends remove it)
    return injected_failure(err, "write", path);
  }
  if (!short_write) return inner_->write(spec, src);

  IoResult r = inner_->write(spec, src);
  if (!r.ok) return r;
  std::error_code ec;
  std::filesystem::resize_file(path, std::filesystem::file_size(path, ec) - spec.payload_bytes / 2 - 1, ec);
  if (silent) return r;  // the device lied: reported complete, data missing
  inner_->remove(spec.key);
  IoResult f = injected_failure(EIO, "short write", path);
  f.timing = r.timing;
  return f;
}

IoResult FaultBackend::read(const ObjectSpec& spec, PayloadSink* sink) {
  int err = 0;
  {
    std::lock_guard lk(mu_);
    ++reads_seen_;
    err = reads_.take();
    if (err != 0) ++injected_;
  }
  if (err != 0) return injected_failure(err, "read", inner_->path_for(spec.key));
  return inner_->read(spec, sink);
}

}  // namespace kv::io
