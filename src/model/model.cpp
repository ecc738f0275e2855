#include "model/model.hpp"

#include "core/error.hpp"

namespace kv::model {

int ModelConfig::head_dim() const {
  if (kv_dim_per_head > 0) return kv_dim_per_head;
  return num_heads > 0 ? hidden_dim / num_heads : 0;
}

int ModelConfig::dtype_bytes() const {
  if (dtype == "float32") return 4;
  if (dtype == "int8") return 1;
  return 2;  // float16, bfloat16 and anything else
}

std::uint64_t ModelConfig::bytes_per_token() const {
  const auto L = static_cast<std::uint64_t>(num_layers);
  const auto d = static_cast<std::uint64_t>(dtype_bytes());
  if (attention == Attention::kMLA) {
    return L * static_cast<std::uint64_t>(kv_lora_rank + qk_rope_head_dim) * d;
  }
  return L * static_cast<std::uint64_t>(kv_heads) * static_cast<std::uint64_t>(head_dim()) * 2 * d;
}

std::uint64_t ModelConfig::object_elements(std::uint64_t tokens, int tp) const {
  const std::uint64_t per_token_elems = bytes_per_token() / static_cast<std::uint64_t>(dtype_bytes());
  const std::uint64_t total = per_token_elems * tokens;
  return tp > 1 ? total / static_cast<std::uint64_t>(tp) : total;
}

std::uint64_t ModelConfig::object_bytes(std::uint64_t tokens, int tp) const {
  return object_elements(tokens, tp) * static_cast<std::uint64_t>(dtype_bytes());
}

std::vector<std::uint64_t> ModelConfig::npy_shape(std::uint64_t tokens, int tp) const {
  if (tp > 1) return {object_elements(tokens, tp)};
  const auto L = static_cast<std::uint64_t>(num_layers);
  if (attention == Attention::kMLA) {
    return {L, tokens, static_cast<std::uint64_t>(kv_lora_rank + qk_rope_head_dim)};
  }
  return {L, 2, tokens, static_cast<std::uint64_t>(kv_heads), static_cast<std::uint64_t>(head_dim())};
}

bool ModelConfig::is_large() const { return hidden_dim >= 8192 || num_layers >= 64; }

const char* attention_name(Attention a) {
  switch (a) {
    case Attention::kMHA: return "mha";
    case Attention::kGQA: return "gqa";
    case Attention::kMLA: return "mla";
  }
  return "gqa";
}

std::optional<Attention> parse_attention(const std::string& s) {
  if (s == "mha") return Attention::kMHA;
  if (s == "gqa") return Attention::kGQA;
  if (s == "mla") return Attention::kMLA;
  return std::nullopt;
}

ModelTable ModelTable::builtin() {
  ModelTable t;
  auto add = [&](const char* key, const char* name, int layers, int hidden, int heads, int kvh,
                 int head_override, Attention att, int lora = 0, int rope = 0) {
    ModelConfig m;
    m.key = key;
    m.name = name;
    m.num_layers = layers;
    m.hidden_dim = hidden;
    m.num_heads = heads;
    m.kv_heads = kvh;
    m.kv_dim_per_head = head_override;
    m.attention = att;
    m.kv_lora_rank = lora;
    m.qk_rope_head_dim = rope;
    t.models_.push_back(std::move(m));
  };
  add("tiny-1b", "Tiny 1B", 12, 1024, 8, 4, 0, Attention::kGQA);
  add("gpt-oss-20b", "GPT OSS 20B (MoE)", 24, 2880, 64, 8, 64, Attention::kGQA);
  add("deepseek-v3", "DeepSeek V3", 61, 7168, 128, 128, 0, Attention::kMLA, 512, 64);
  add("gpt-oss-120b", "GPT OSS 120B (MoE)", 36, 2880, 64, 8, 64, Attention::kGQA);
  add("mistral-7b", "Mistral 7B", 32, 4096, 32, 8, 0, Attention::kGQA);
  add("llama3.1-8b", "Llama 3.1 8B", 32, 4096, 32, 8, 0, Attention::kGQA);
  add("qwen3-32b", "Qwen3 32B", 64, 5120, 64, 8, 128, Attention::kGQA);
  add("llama3.1-70b-instruct", "Llama 3.1 70B Instruct", 80, 8192, 64, 8, 0, Attention::kGQA);
  add("llama2-7b", "Llama 2 7B", 32, 4096, 32, 32, 0, Attention::kMHA);
  return t;
}

const ModelConfig* ModelTable::find(const std::string& key) const {
  for (const auto& m : models_)
    if (m.key == key) return &m;
  return nullptr;
}

const ModelConfig& ModelTable::get(const std::string& key, const std::string& flag) const {
  if (const auto* m = find(key)) return *m;
  std::string list;
  for (const auto& m : models_) list += (list.empty() ? "" : ", ") + m.key;
  throw usage_error(flag, "unknown model '" + key + "' (available: " + list + ")");
}

void ModelTable::upsert(ModelConfig m) {
  for (auto& existing : models_) {
    if (existing.key == m.key) {
      existing = std::move(m);
      return;
    }
  }
  models_.push_back(std::move(m));
}

std::vector<std::string> ModelTable::keys() const {
  std::vector<std::string> k;
  for (const auto& m : models_) k.push_back(m.key);
  return k;
}

}  // namespace kv::model
