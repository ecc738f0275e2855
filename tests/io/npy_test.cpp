#include "engine/io/npy.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "engine/io/backend.hpp"
#include "engine/io/payload.hpp"
#include "support/required.hpp"
#include "test_util.hpp"

namespace {

using kv::io::npy_header;
using kv::io::parse_npy_header;

TEST(Npy, HeaderIs128BytesForA5DShape) {
  const std::vector<std::uint64_t> shape{32, 2, 1000, 8, 128};
  const auto h = npy_header(shape);
  ASSERT_EQ(h.size(), 128U);
  EXPECT_EQ(h.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
  EXPECT_EQ(static_cast<unsigned char>(h[8]) | (static_cast<unsigned char>(h[9]) << 8), 118);
  EXPECT_EQ(h.back(), '\n');
  EXPECT_NE(h.find("{'descr': '<f2', 'fortran_order': False, 'shape': (32, 2, 1000, 8, 128), }"),
            std::string::npos);
  EXPECT_EQ(kv::io::npy_header_size(shape), 128U);
}

TEST(Npy, AlignedVariantIs4096AndParses) {
  const std::vector<std::uint64_t> shape{80, 2, 123457, 8, 128};
  const auto h = npy_header(shape, 4096);
  ASSERT_EQ(h.size(), 4096U);
  const auto info = parse_npy_header(h);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->shape, shape);
  EXPECT_EQ(info->descr, "<f2");
  EXPECT_FALSE(info->fortran_order);
  EXPECT_EQ(info->header_bytes, 4096U);
}

TEST(Npy, RoundTripAndOneDimensionalShape) {
  for (const std::vector<std::uint64_t>& shape :
       {std::vector<std::uint64_t>{5}, {1, 2}, {}, {18446744073709551615ULL, 1}}) {
    const auto h = npy_header(shape);
    EXPECT_EQ(h.size() % 64, 0U);
    const auto info = parse_npy_header(h);
    ASSERT_TRUE(info);
    EXPECT_EQ(info->shape, shape);
    EXPECT_EQ(info->header_bytes, h.size());
  }
  EXPECT_NE(npy_header({5}).find("(5,)"), std::string::npos);
}

TEST(Npy, RejectsBadHeaders) {
  auto h = npy_header({2, 3});
  EXPECT_FALSE(parse_npy_header(h.substr(0, 20)));  // truncated
  auto bad = h;
  bad[1] = 'X';
  EXPECT_FALSE(parse_npy_header(bad));  // magic
  bad = h;
  bad[h.size() - 1] = ' ';
  EXPECT_FALSE(parse_npy_header(bad));  // no trailing newline
  bad = h;
  bad.replace(bad.find("shape"), 5, "shapx");
  EXPECT_FALSE(parse_npy_header(bad));  // unknown key, no shape
  EXPECT_TRUE(parse_npy_header(npy_header({2, 3}, 4096)));
}

TEST(Npy, WriteIntoTooSmallBufferFails) {
  std::vector<std::byte> small(64);
  EXPECT_EQ(kv::io::write_npy_header(small, {32, 2, 1000, 8, 128}), 0U);
  std::vector<std::byte> big(4096);
  EXPECT_EQ(kv::io::write_npy_header(big, {32, 2, 1000, 8, 128}, 4096), 4096U);
}

TEST(Npy, HeaderCarriesTheModelsDtypeAtTheSameSize) {
  using kv::io::NpyDtype;
  const std::vector<std::uint64_t> shape{32, 2, 1000, 8, 128};
  for (auto [dtype, descr] :
       {std::pair{NpyDtype::kFloat16, "<f2"}, std::pair{NpyDtype::kFloat32, "<f4"},
        std::pair{NpyDtype::kInt8, "|i1"}}) {
    for (std::size_t align : {64UL, 4096UL}) {
      const auto h = npy_header(shape, align, dtype);
      EXPECT_EQ(h.size(), align == 64 ? 128U : 4096U);
      const auto info = parse_npy_header(h);
      ASSERT_TRUE(info);
      EXPECT_EQ(info->descr, descr);
      EXPECT_EQ(info->shape, shape);
    }
  }
  EXPECT_EQ(kv::io::npy_dtype_for_itemsize(4), NpyDtype::kFloat32);
  EXPECT_EQ(kv::io::npy_dtype_for_itemsize(1), NpyDtype::kInt8);
  EXPECT_EQ(kv::io::npy_dtype_for_itemsize(2), NpyDtype::kFloat16);  // float16 and bfloat16
  EXPECT_EQ(kv::io::npy_itemsize(NpyDtype::kFloat32), 4U);
  EXPECT_EQ(kv::io::npy_itemsize(NpyDtype::kInt8), 1U);
}

// A python3 that has numpy ("" when none; the numpy loads then skip, or fail under
// KV_REQUIRE_NUMPY=1: tests/support/required.hpp).
std::string python_with_numpy() {
  for (const char* py : {"python3", "/usr/bin/python3"}) {
    const std::string cmd = std::string(py) + " -c 'import numpy' >/dev/null 2>&1";
    if (std::system(cmd.c_str()) == 0) return py;
  }
  return {};
}

// Skips the rest of the test without numpy, or fails it when numpy is required.
#define NUMPY_OR_SKIP(py, what)                             \
  if ((py).empty()) {                                       \
    if (kv::testsupport::tool_required("KV_REQUIRE_NUMPY")) \
      FAIL() << what << " and KV_REQUIRE_NUMPY=1";          \
    GTEST_SKIP() << what;                                   \
  }

// A standard reader accepts both layouts.
TEST(Npy, NumpyLoadsBothLayouts) {
  const std::string py = python_with_numpy();
  NUMPY_OR_SKIP(py, "numpy not installed");
  const std::string dir = ::testing::TempDir();
  for (std::size_t align : {64UL, 4096UL}) {
    const std::string path = dir + "/kv_npy_" + std::to_string(align) + ".npy";
    {
      std::ofstream f(path, std::ios::binary);
      f << npy_header({2, 3, 4}, align);
      for (int i = 0; i < 24; ++i) {
        const unsigned short half = 0x3c00;  // 1.0 in float16
        f.write(reinterpret_cast<const char*>(&half), 2);
      }
    }
    const std::string cmd =
        py + " -c \"import numpy as np; a=np.load('" + path +
        "'); assert a.shape==(2,3,4) and a.dtype==np.float16 and (a==1).all()\"";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << "align " << align;
    std::remove(path.c_str());
  }
}

// Objects of every dtype, written by both engines (buffered and, where possible, O_DIRECT), read
// back by the backend and loaded by numpy with the right dtype and shape.
TEST(Npy, EveryDtypeRoundTripsAndNumpyLoadsIt) {
  using kv::io::NpyDtype;
  const std::string py = python_with_numpy();
  kvio_test::TempDir dir;
  kv::io::PayloadGenerator gen(7);
  int n = 0;
  std::string checks;  // one python run for every file
  for (auto engine : {kv::io::Engine::kPosix, kv::io::Engine::kIoUring}) {
    for (bool direct : {false, true}) {
      kv::io::BackendOptions o;
      o.dir = dir.path;
      o.engine = engine;
      o.direct_io = direct;
      o.chunk_bytes = 64 << 10;
      o.max_inflight_bytes = 256 << 10;
      auto choice = kv::io::make_backend(o);
      ASSERT_TRUE(choice.backend);
      for (auto [dtype, name] :
           {std::pair{NpyDtype::kFloat16, "float16"}, std::pair{NpyDtype::kFloat32, "float32"},
            std::pair{NpyDtype::kInt8, "int8"}}) {
        kv::io::ObjectSpec spec;
        spec.key = "obj_" + std::to_string(n++);
        spec.shape = {2, 2, 1000, 2, 16};
        spec.dtype = dtype;
        spec.payload_bytes = 2 * 2 * 1000 * 2 * 16 * kv::io::npy_itemsize(dtype);
        kv::io::GeneratedPayload src(gen, spec.key);
        const auto w = choice.backend->write(spec, src);
        ASSERT_TRUE(w.ok) << w.message;
        kvio_test::VerifySink sink(gen, spec.key);
        const auto r = choice.backend->read(spec, &sink);
        ASSERT_TRUE(r.ok) << name << ": " << r.message;
        EXPECT_EQ(sink.mismatches, 0);
        checks += "a=np.load('" + choice.backend->path_for(spec.key).string() +
                  "'); assert a.shape==(2,2,1000,2,16) and a.dtype==np.dtype('" + name + "'), '" +
                  choice.backend->name() + " " + name + "'\n";
      }
    }
  }
  NUMPY_OR_SKIP(py, "numpy not installed: round trips checked, numpy loads skipped");
  const auto script = dir.path / "check.py";
  std::ofstream(script) << "import numpy as np\n" << checks;
  EXPECT_EQ(std::system((py + " " + script.string()).c_str()), 0);
}

// Our 64-aligned header is byte for byte the one numpy writes (same padding rules).
TEST(Npy, HeaderMatchesNumpysBytes) {
  const std::string py = python_with_numpy();
  NUMPY_OR_SKIP(py, "numpy not installed");
  const std::string path = ::testing::TempDir() + "/kv_npy_hdr.bin";
  for (const std::vector<std::uint64_t>& shape :
       {std::vector<std::uint64_t>{32, 2, 1000, 8, 128}, {80, 2, 123457, 8, 128}, {5}, {2, 3}}) {
    std::string tuple = "(";
    for (auto d : shape) tuple += std::to_string(d) + ",";
    tuple += ")";
    const std::string cmd = py + " -c \"import numpy as np; f=open('" + path +
                            "','wb'); np.lib.format.write_array_header_1_0(f, {'descr':'<f2',"
                            "'fortran_order':False,'shape':" +
                            tuple + "})\"";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
    std::ifstream f(path, std::ios::binary);
    const std::string theirs{std::istreambuf_iterator<char>(f), {}};
    EXPECT_EQ(npy_header(shape), theirs) << tuple;
  }
  std::remove(path.c_str());
}

}  // namespace
