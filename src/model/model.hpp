// The one model table and KV-size arithmetic (docs/reference-behaviour.md#models-and-kv-size). Used
// by the engine, by `mlpstorage kvcache datasize`, by the rules checks and by the help texts:
// nothing else defines models. `--config` YAML may add or override entries through
// ModelTable::upsert.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kv::model {

enum class Attention { kMHA, kGQA, kMLA };

struct ModelConfig {
  std::string key;   // table key, e.g. "llama3.1-8b"
  std::string name;  // display name, e.g. "Llama 3.1 8B"
  int num_layers = 0;
  int hidden_dim = 0;
  int num_heads = 0;
  int kv_heads = 0;
  std::string dtype = "float16";
  int kv_dim_per_head = 0;  // head_dim override; 0 = hidden_dim / num_heads
  Attention attention = Attention::kGQA;
  int kv_lora_rank = 0;      // MLA only
  int qk_rope_head_dim = 0;  // MLA only

  int head_dim() const;
  // float32 = 4, float16 = 2, bfloat16 = 2, int8 = 1, anything else = 2.
  int dtype_bytes() const;
  // MHA/GQA: layers × kv_heads × head_dim × 2 × dtype; MLA: layers × (lora + rope) × dtype.
  std::uint64_t bytes_per_token() const;
  // Bytes stored per object for `tokens` tokens under tensor parallelism `tp` (TP shards by
  // element count with integer division).
  std::uint64_t object_bytes(std::uint64_t tokens, int tp = 1) const;
  // Element count of one object (float16 elements) and its .npy shape (1-D after TP > 1).
  std::uint64_t object_elements(std::uint64_t tokens, int tp = 1) const;
  std::vector<std::uint64_t> npy_shape(std::uint64_t tokens, int tp = 1) const;
  // RAG "large model" rule: hidden_dim >= 8192 or num_layers >= 64.
  bool is_large() const;
};

const char* attention_name(Attention a);
std::optional<Attention> parse_attention(const std::string& s);

class ModelTable {
 public:
  // The built-in table (nine models, docs/reference-behaviour.md#models-and-kv-size).
  static ModelTable builtin();
  const ModelConfig* find(const std::string& key) const;
  // Like find(), but throws kv::Error(kInvalidArguments) naming `flag` and listing the valid keys.
  const ModelConfig& get(const std::string& key, const std::string& flag = "--model") const;
  void upsert(ModelConfig m);
  std::vector<std::string> keys() const;  // in table order
  const std::vector<ModelConfig>& models() const { return models_; }

 private:
  std::vector<ModelConfig> models_;
};

}  // namespace kv::model
