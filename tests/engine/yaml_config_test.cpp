// --config strict schema: every reference key accepted, values arrive, unknown keys / wrong types /
// out-of-range values are errors naming the key path; model_configs upsert into the model table.
#include "engine/config/yaml_config.hpp"

#include <gtest/gtest.h>

#include "core/error.hpp"

using namespace kv;
using namespace kv::engine;

namespace {
std::string error_of(const std::string& yaml) {
  try {
    parse_yaml_config(yaml, "test.yaml", model::ModelTable::builtin());
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kInvalidArguments);
    return e.what();
  }
  return {};
}
}  // namespace

TEST(YamlConfig, FullReferenceSchemaIsAcceptedAndValuesArrive) {
  auto table = model::ModelTable::builtin();
  YamlSettings s =
      load_yaml_config(std::string(KV_TEST_DATA_DIR) + "/kv_cache_config_full.yaml", table);
  EXPECT_DOUBLE_EQ(s.user_templates[0].context_tokens.lo, 256);
  EXPECT_DOUBLE_EQ(s.user_templates[2].context_tokens.hi, 8192);
  EXPECT_DOUBLE_EQ(s.generation_timing[2], 0.025);
  EXPECT_DOUBLE_EQ(s.qos[0].target_p95_ms, 60);
  EXPECT_DOUBLE_EQ(s.interactive_probability, 0.2);
  EXPECT_DOUBLE_EQ(s.target_usage_ratio, 0.75);
  EXPECT_EQ(s.max_recursion_depth, 8);
  EXPECT_DOUBLE_EQ(s.system_prompt_hit_probability, 0.3);
  EXPECT_EQ(s.rag_retrieval_distribution, "uniform");
  EXPECT_EQ(s.max_conversations, 500);
  EXPECT_EQ(s.max_turns_per_conv, 20);
  EXPECT_DOUBLE_EQ(s.end_conversation_probability, 0.3);
  EXPECT_EQ(s.decode_batch_size, 16);
  EXPECT_GT(s.keys_given.size(), 60u);

  apply_models(s, table);
  const auto* mine = table.find("my-model");
  ASSERT_NE(mine, nullptr);
  EXPECT_EQ(mine->bytes_per_token(),
            4u * 2 * 64 * 2 * 4);  // layers × kv_heads × head_dim × 2 × float32
  // DeepSeek without kv_heads keeps the built-in value (merged over the defaults).
  EXPECT_EQ(table.find("deepseek-v3")->kv_heads, 128);
  EXPECT_EQ(table.find("deepseek-v3")->bytes_per_token(), 70272u);
  EXPECT_EQ(table.find("tiny-1b")->bytes_per_token(), 24576u);
}

TEST(YamlConfig, EmptyFileKeepsDefaults) {
  YamlSettings s = parse_yaml_config("", "empty", model::ModelTable::builtin());
  EXPECT_DOUBLE_EQ(s.target_usage_ratio, 0.8);
  EXPECT_EQ(s.user_templates[1].name, "coding");
  EXPECT_TRUE(s.keys_given.empty());
}

TEST(YamlConfig, UnknownKeysAreErrorsNamingThePath) {
  EXPECT_NE(error_of("bogus: 1\n").find("--config: bogus: unknown key"), std::string::npos);
  EXPECT_NE(error_of("eviction:\n  target_usage: 0.5\n").find("eviction.target_usage: unknown key"),
            std::string::npos);
  EXPECT_NE(error_of("user_templates:\n  chat: {}\n").find("user_templates.chat: unknown key"),
            std::string::npos);
  EXPECT_NE(error_of("user_templates:\n  coding: {context: [1, 2]}\n")
                .find("user_templates.coding.context"),
            std::string::npos);
  EXPECT_NE(
      error_of("model_configs:\n  m: {layers: 3}\n").find("model_configs.m.layers: unknown key"),
      std::string::npos);
}

TEST(YamlConfig, WrongTypesAndValuesAreErrorsNamingThePath) {
  EXPECT_NE(error_of("eviction:\n  target_usage_ratio: high\n")
                .find("eviction.target_usage_ratio: expected a number"),
            std::string::npos);
  EXPECT_NE(error_of("eviction:\n  target_usage_ratio: \"0.5\"\n").find("expected a number"),
            std::string::npos);
  EXPECT_NE(error_of("eviction:\n  max_recursion_depth: 2.5\n")
                .find("eviction.max_recursion_depth: expected an integer"),
            std::string::npos);
  EXPECT_NE(error_of("eviction:\n  target_usage_ratio: 1.5\n")
                .find("eviction.target_usage_ratio: must be"),
            std::string::npos);
  EXPECT_NE(error_of("eviction: 3\n").find("eviction: expected a mapping"), std::string::npos);
  EXPECT_NE(error_of("user_templates:\n  chatbot: {context_range: [10]}\n")
                .find("user_templates.chatbot.context_range: expected a list of two numbers"),
            std::string::npos);
  EXPECT_NE(
      error_of("user_templates:\n  chatbot: {context_range: [100, 10]}\n").find("above maximum"),
      std::string::npos);
  EXPECT_NE(error_of("rag:\n  retrieval_distribution: pareto\n")
                .find("rag.retrieval_distribution: must be one of"),
            std::string::npos);
  EXPECT_NE(error_of("model_configs:\n  m: {num_layers: 2}\n")
                .find("model_configs.m.hidden_dim: required"),
            std::string::npos);
  EXPECT_NE(error_of("model_configs:\n  m: {num_layers: 2, hidden_dim: 8, num_heads: 2, "
                     "attention_type: xyz}\n")
                .find("model_configs.m.attention_type"),
            std::string::npos);
  EXPECT_NE(
      error_of("qos_distribution: {interactive_probability: 0.7, responsive_threshold: 0.5}\n")
          .find("interactive_probability"),
      std::string::npos);
  EXPECT_NE(error_of("a: [1, \n").find("YAML syntax error"), std::string::npos);
  // Several errors are all reported.
  const std::string many =
      error_of("bogus: 1\neviction: {target_usage_ratio: x}\ndecode: {batch_size: 0}\n");
  EXPECT_NE(many.find("bogus"), std::string::npos);
  EXPECT_NE(many.find("eviction.target_usage_ratio"), std::string::npos);
  EXPECT_NE(many.find("decode.batch_size"), std::string::npos);
}

// Issue 15 item 7: values that would overflow the workload's arithmetic are errors naming the key.
TEST(YamlConfig, HugeTokenCountsThinkTimesAndModelSizesAreRefused) {
  EXPECT_NE(error_of("user_templates:\n  chatbot: {context_range: [1, 1e300]}\n")
                .find("user_templates.chatbot.context_range: maximum must be <= 1048576"),
            std::string::npos);
  EXPECT_NE(error_of("user_templates:\n  chatbot: {generation_range: [1, 1048577]}\n")
                .find("user_templates.chatbot.generation_range: maximum must be"),
            std::string::npos);
  EXPECT_NE(error_of("user_templates:\n  chatbot: {think_time_range: [0, 1e300]}\n")
                .find("user_templates.chatbot.think_time_range: maximum must be <= 86400"),
            std::string::npos);
  EXPECT_EQ(error_of("user_templates:\n  chatbot: {context_range: [1, 1048576], "
                     "think_time_range: [0, 86400]}\n"),
            "");
  EXPECT_NE(error_of("rag:\n  small_model_doc_tokens_max: 2147483647\n")
                .find("rag.small_model_doc_tokens_max: must be between 1 and 1048576"),
            std::string::npos);
  // Every field within its own limit, the product (bytes per token) far beyond 64 bit... and 64
  // MiB.
  const std::string huge = error_of(
      "model_configs:\n  m: {num_layers: 100000, hidden_dim: 10000000, num_heads: 1, "
      "kv_heads: 100000, dtype: float32}\n");
  EXPECT_NE(huge.find("model_configs.m: gives 8e+17 bytes per token (at most 67108864"),
            std::string::npos)
      << huge;
  EXPECT_NE(error_of("model_configs:\n  m: {num_layers: 100000, hidden_dim: 8, num_heads: 2, "
                     "attention_type: mla, kv_lora_rank: 1000000, qk_rope_head_dim: 1000000}\n")
                .find("model_configs.m: gives"),
            std::string::npos);
  // An existing model overridden past the bound, and one just inside it (64 MiB per token).
  EXPECT_NE(error_of("model_configs:\n  tiny-1b: {num_layers: 100000}\n").find("tiny-1b: gives"),
            std::string::npos);
  EXPECT_EQ(error_of("model_configs:\n  m: {num_layers: 1024, hidden_dim: 16384, num_heads: 1, "
                     "kv_heads: 1}\n"),
            "");  // 1024 x 16384 x 2 x 2 bytes = 64 MiB
}

TEST(YamlConfig, MissingFileIsFileNotFound) {
  try {
    load_yaml_config("/nonexistent/kv.yaml", model::ModelTable::builtin());
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kFileNotFound);
    EXPECT_NE(std::string(e.what()).find("--config"), std::string::npos);
  }
}
