// Storage tier: one file per entry through an io::StorageBackend (terminal tier: no source_for).
#include <stdexcept>

#include "engine/tier/tier.hpp"

namespace kv::tier {
namespace {

class StorageTier final : public Tier {
 public:
  explicit StorageTier(std::unique_ptr<io::StorageBackend> b) : backend_(std::move(b)) {}
  TierId id() const override { return TierId::kStorage; }
  io::IoResult write(const io::ObjectSpec& spec, const io::PayloadSource& src) override {
    return backend_->write(spec, src);
  }
  io::IoResult read(const io::ObjectSpec& spec, io::PayloadSink* sink) override {
    return backend_->read(spec, sink);
  }
  bool remove(const std::string& key) override { return backend_->remove(key); }
  std::unique_ptr<io::PayloadSource> source_for(const io::ObjectSpec&) override { return nullptr; }

 private:
  std::unique_ptr<io::StorageBackend> backend_;
};

}  // namespace

std::unique_ptr<Tier> make_storage_tier(std::unique_ptr<io::StorageBackend> backend) {
  if (!backend) throw std::invalid_argument("make_storage_tier: null backend");
  return std::make_unique<StorageTier>(std::move(backend));
}

}  // namespace kv::tier
