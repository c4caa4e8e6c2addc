#include "error.h"
#include "tensor_file.h"
#include "test_support.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <fstream>

using gearnn::read_tensor_file;
using gearnn::write_tensor_file;

namespace {

std::string write_raw(const std::string& name, const std::string& header, const std::string& data) {
  const std::string path = gearnn::testing::scratch_dir("raw") + "/" + name;
  std::ofstream out(path, std::ios::binary);
  const uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out.put(char((n >> (8 * i)) & 0xff));
  out << header << data;
  return path;
}

// Expects read_tensor_file to fail with a message that names the file and contains `fragment`.
void expect_rejected(const std::string& path, const std::string& fragment) {
  try {
    read_tensor_file(path);
    ADD_FAILURE() << path << " was accepted";
  } catch (const gearnn::Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(path), std::string::npos) << what;
    EXPECT_NE(what.find(fragment), std::string::npos) << what;
  }
}

}  // namespace

TEST(TensorFile, RoundTripKeepsNamesShapesDtypesValuesAndMetadata) {
  gearnn::NamedTensors in;
  in["a.weight"] = at::randn({3, 4, 5});
  in["b.int"] = at::arange(7, at::kLong);
  in["c.half"] = at::randn({2, 2}).to(at::kHalf);
  in["d.bytes"] = at::randint(0, 255, {9}, at::kByte);
  in["e.scalar"] = at::tensor(3.5);
  in["f.empty"] = at::empty({0, 4});
  in["g.strided"] = at::randn({4, 6}).t();  // not contiguous
  const std::string path = gearnn::testing::scratch_dir("roundtrip") + "/t.safetensors";
  write_tensor_file(path, in, {{"who", "test"}});

  const auto out = read_tensor_file(path);
  EXPECT_EQ(out.metadata.at("who"), "test");
  ASSERT_EQ(out.tensors.size(), in.size());
  for (const auto& [name, t] : in) {
    const at::Tensor& r = out.tensors.at(name);
    EXPECT_EQ(r.scalar_type(), t.scalar_type()) << name;
    EXPECT_EQ(r.sizes(), t.sizes()) << name;
    EXPECT_TRUE(at::equal(r, t)) << name;
  }
}

TEST(TensorFile, ReadsAFileWrittenByHand) {
  // 2 floats 1.0 and -2.0, little-endian, exactly as the safetensors format lays them out.
  const std::string data("\x00\x00\x80\x3f\x00\x00\x00\xc0", 8);
  const auto path = write_raw("hand.safetensors", R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", data);
  const auto f = read_tensor_file(path);
  EXPECT_FLOAT_EQ(f.tensors.at("x")[0].item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(f.tensors.at("x")[1].item<float>(), -2.0f);
}

TEST(TensorFile, TruncatedFile) {
  const std::string path = gearnn::testing::scratch_dir("trunc") + "/t.safetensors";
  write_tensor_file(path, {{"w", at::randn({64})}});
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  for (size_t keep : {size_t(0), size_t(5), bytes.size() - 4}) {
    const std::string cut = path + "." + std::to_string(keep);
    std::ofstream(cut, std::ios::binary) << bytes.substr(0, keep);
    expect_rejected(cut, keep < 8 ? "truncated" : "outside the data area");
  }
}

TEST(TensorFile, HeaderLengthPastTheEnd) {
  const std::string path = gearnn::testing::scratch_dir("hlen") + "/t.safetensors";
  std::ofstream out(path, std::ios::binary);
  const uint64_t n = 1000;
  for (int i = 0; i < 8; ++i) out.put(char((n >> (8 * i)) & 0xff));
  out << "{}";
  out.close();
  expect_rejected(path, "runs past the end");
}

TEST(TensorFile, OverlappingOffsets) {
  const auto path = write_raw(
      "overlap.safetensors",
      R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
      std::string(12, '\0'));
  expect_rejected(path, "overlaps");
}

TEST(TensorFile, UnknownDtype) {
  const auto path = write_raw("dtype.safetensors", R"({"a":{"dtype":"F8_E9","shape":[2],"data_offsets":[0,2]}})",
                              std::string(2, '\0'));
  expect_rejected(path, "unknown dtype 'F8_E9'");
  expect_rejected(path, "tensor 'a'");
}

TEST(TensorFile, ShapeDisagreesWithByteLength) {
  const auto path = write_raw("shape.safetensors", R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})",
                              std::string(8, '\0'));
  expect_rejected(path, "need 12");
  expect_rejected(path, "tensor 'a'");
}

TEST(TensorFile, OtherMalformedHeaders) {
  expect_rejected(write_raw("json.safetensors", "{not json", ""), "not valid JSON");
  expect_rejected(write_raw("array.safetensors", "[1,2]", ""), "not a JSON object");
  expect_rejected(write_raw("offs.safetensors", R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[1]}})", "x"),
                  "data_offsets");
  expect_rejected(write_raw("neg.safetensors", R"({"a":{"dtype":"U8","shape":[-1],"data_offsets":[0,1]}})", "x"),
                  "shape");
}

TEST(TensorFile, MissingFileNamesThePath) {
  expect_rejected("/nonexistent/gearnn/x.safetensors", "cannot open");
}
