#include <gtest/gtest.h>

#include "core/error.hpp"
#include "model/model.hpp"

using kv::model::ModelTable;

TEST(ModelTable, HasTheNineReferenceModels) {
  auto t = ModelTable::builtin();
  EXPECT_EQ(t.keys().size(), 9u);
  for (const char* k : {"tiny-1b", "gpt-oss-20b", "deepseek-v3", "gpt-oss-120b", "mistral-7b",
                        "llama3.1-8b", "qwen3-32b", "llama3.1-70b-instruct", "llama2-7b"}) {
    EXPECT_NE(t.find(k), nullptr) << k;
  }
}

TEST(ModelTable, BytesPerTokenMatchReferenceTable) {
  auto t = ModelTable::builtin();
  EXPECT_EQ(t.get("llama3.1-8b").bytes_per_token(), 131072u);
  EXPECT_EQ(t.get("llama3.1-70b-instruct").bytes_per_token(), 327680u);
  EXPECT_EQ(t.get("tiny-1b").bytes_per_token(), 24576u);
  EXPECT_EQ(t.get("gpt-oss-20b").bytes_per_token(), 49152u);
  EXPECT_EQ(t.get("gpt-oss-120b").bytes_per_token(), 73728u);
  EXPECT_EQ(t.get("qwen3-32b").bytes_per_token(), 262144u);
  EXPECT_EQ(t.get("llama2-7b").bytes_per_token(), 524288u);
  EXPECT_EQ(t.get("mistral-7b").bytes_per_token(), 131072u);
}

TEST(ModelTable, MlaFormulaHasNoKvFactorOfTwo) {
  auto t = ModelTable::builtin();
  const auto& ds = t.get("deepseek-v3");
  EXPECT_EQ(ds.bytes_per_token(), 61u * (512 + 64) * 2);  // 70,272
  EXPECT_EQ(ds.npy_shape(10), (std::vector<std::uint64_t>{61, 10, 576}));
}

TEST(ModelTable, DtypeSizesAndHeadDimOverride) {
  kv::model::ModelConfig m = ModelTable::builtin().get("llama3.1-8b");
  m.dtype = "float32";
  EXPECT_EQ(m.bytes_per_token(), 262144u);
  m.dtype = "int8";
  EXPECT_EQ(m.bytes_per_token(), 65536u);
  m.dtype = "bfloat16";
  m.kv_dim_per_head = 64;
  EXPECT_EQ(m.head_dim(), 64);
  EXPECT_EQ(m.bytes_per_token(), 65536u);
}

TEST(ModelTable, TensorParallelShardsByElementCount) {
  auto t = ModelTable::builtin();
  const auto& m = t.get("llama3.1-8b");
  EXPECT_EQ(m.object_bytes(1000), 131072000u);
  EXPECT_EQ(m.object_bytes(1000, 2), 65536000u);
  EXPECT_EQ(m.npy_shape(1000, 2), (std::vector<std::uint64_t>{32768000}));
  EXPECT_EQ(m.npy_shape(1000), (std::vector<std::uint64_t>{32, 2, 1000, 8, 128}));
}

TEST(ModelTable, UnknownModelNamesFlagAndListsChoices) {
  auto t = ModelTable::builtin();
  try {
    t.get("gpt-5");
    FAIL();
  } catch (const kv::Error& e) {
    std::string msg = e.what();
    EXPECT_EQ(e.code(), kv::ExitCode::kInvalidArguments);
    EXPECT_NE(msg.find("--model"), std::string::npos);
    EXPECT_NE(msg.find("llama3.1-8b"), std::string::npos);
  }
}

TEST(ModelTable, UpsertOverridesAndAdds) {
  auto t = ModelTable::builtin();
  kv::model::ModelConfig m = t.get("tiny-1b");
  m.num_layers = 24;
  t.upsert(m);
  EXPECT_EQ(t.get("tiny-1b").bytes_per_token(), 2u * 24576u);
  m.key = "custom";
  t.upsert(m);
  EXPECT_EQ(t.keys().size(), 10u);
  EXPECT_TRUE(t.get("llama3.1-70b-instruct").is_large());
  EXPECT_FALSE(t.get("llama3.1-8b").is_large());
}
