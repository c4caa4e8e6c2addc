#include "bundle.h"
#include "error.h"
#include "sha256.h"
#include "test_support.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <functional>

namespace fs = std::filesystem;
using gearnn::Bundle;
using nlohmann::json;

namespace {

// A private copy of the small test bundle, to tamper with.
std::string copy_bundle(const std::string& name) {
  const std::string dir = gearnn::testing::scratch_dir("tamper-" + name);
  fs::copy(gearnn::testing::small_bundle(3), dir, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  return dir;
}

json read_json(const std::string& path) {
  std::ifstream in(path);
  return json::parse(in);
}

void write_json(const std::string& path, const json& j) { std::ofstream(path) << j.dump(2); }

void edit_manifest(const std::string& dir, const std::function<void(json&)>& edit) {
  json m = read_json(dir + "/manifest.json");
  edit(m);
  write_json(dir + "/manifest.json", m);
}

// Rewrites a tensor file of the bundle and fixes its hash in the manifest, so
// that only the content check can catch the change.
void edit_tensors(const std::string& dir, const std::string& file,
                  const std::function<void(gearnn::NamedTensors&)>& edit) {
  auto f = gearnn::read_tensor_file(dir + "/" + file);
  edit(f.tensors);
  gearnn::write_tensor_file(dir + "/" + file, f.tensors);
  const std::string hash = gearnn::sha256_of_file(dir + "/" + file);
  edit_manifest(dir, [&](json& m) {
    if (m["base"]["file"] == file) m["base"]["sha256"] = hash;
    for (auto& l : m["levels"])
      if (l.contains("adaptor") && l["adaptor"]["file"] == file) l["adaptor"]["sha256"] = hash;
  });
}

std::string first_adaptor_file(const std::string& dir) {
  return read_json(dir + "/manifest.json")["levels"][0]["adaptor"]["file"];
}

void expect_load_error(const std::string& dir, const std::string& fragment, const std::string& names = "") {
  try {
    Bundle::load(dir);
    ADD_FAILURE() << "bundle was accepted, expected: " << fragment;
  } catch (const gearnn::Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(fragment), std::string::npos) << what;
    if (!names.empty()) {
      EXPECT_NE(what.find(names), std::string::npos) << what;
    }
  }
}

}  // namespace

TEST(Bundle, LoadsTheRandomBundle) {
  const auto b = Bundle::load(gearnn::testing::small_bundle(3));
  EXPECT_EQ(b->level_count(), 3u);
  EXPECT_EQ(b->architecture().name(), "drn_d_22");
  EXPECT_EQ(b->manifest().classes.size(), 5u);
  EXPECT_EQ(b->default_level(), 2u);  // the last level runs the base as it is
  EXPECT_EQ(b->adaptor_params(2), 0);
  EXPECT_GT(b->adaptor_params(0), 0);
  EXPECT_LE(b->adaptor_params(0), b->base_params() * 2 / 100);
  EXPECT_NEAR(b->memory_overhead_percent(), 100.0 * 2 * b->adaptor_params(0) / b->base_params(), 1e-9);
}

TEST(Bundle, MissingTensorInBase) {
  const auto dir = copy_bundle("missing");
  edit_tensors(dir, "base.safetensors", [](auto& t) { t.erase("base.3.0.conv1.weight"); });
  expect_load_error(dir, "tensor 'base.3.0.conv1.weight' is missing", "base.safetensors");
}

TEST(Bundle, TensorOutsideTheArchitectureInBase) {
  const auto dir = copy_bundle("extra");
  edit_tensors(dir, "base.safetensors", [](auto& t) { t["base.99.weight"] = at::zeros({3}); });
  expect_load_error(dir, "tensor 'base.99.weight' is not part of drn_d_22", "base.safetensors");
}

TEST(Bundle, ShapeMismatchInBase) {
  const auto dir = copy_bundle("shape");
  edit_tensors(dir, "base.safetensors", [](auto& t) { t["seg.bias"] = at::zeros({7}); });
  expect_load_error(dir, "shape", "seg.bias");
}

TEST(Bundle, DtypeMismatchInAdaptor) {
  const auto dir = copy_bundle("dtype");
  const auto file = first_adaptor_file(dir);
  edit_tensors(dir, file, [](auto& t) { t.begin()->second = t.begin()->second.to(at::kDouble); });
  expect_load_error(dir, "dtype", file);
}

TEST(Bundle, HashMismatch) {
  const auto dir = copy_bundle("hash");
  {
    std::fstream f(dir + "/base.safetensors", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-1, std::ios::end);
    f.put('\x7f');
  }
  expect_load_error(dir, "SHA-256 does not match", "base.safetensors");
}

TEST(Bundle, DuplicateLevelNames) {
  const auto dir = copy_bundle("dup");
  edit_manifest(dir, [](json& m) { m["levels"][1]["name"] = m["levels"][0]["name"]; });
  expect_load_error(dir, "two levels share this name", "manifest.json");
}

TEST(Bundle, AdaptorNamesAnUnknownLayer) {
  const auto dir = copy_bundle("layer");
  edit_manifest(dir, [](json& m) { m["levels"][0]["adaptor"]["layers"].push_back("base.99.conv"); });
  expect_load_error(dir, "'base.99.conv' is not a layer");
}

TEST(Bundle, AdaptorHoldsATensorOfAnUnlistedLayer) {
  const auto dir = copy_bundle("extra");
  const auto file = first_adaptor_file(dir);
  edit_tensors(dir, file, [](auto& t) { t["base.8.0.weight"] = at::zeros({64, 64, 3, 3}); });
  expect_load_error(dir, "belongs to no layer", file);
}

TEST(Bundle, AdaptorMissesATensorOfAListedLayer) {
  const auto dir = copy_bundle("partial");
  const auto file = first_adaptor_file(dir);
  std::string removed;
  edit_tensors(dir, file, [&](auto& t) {
    removed = t.begin()->first;
    t.erase(t.begin());
  });
  expect_load_error(dir, "tensor '" + removed + "' is missing", file);
}

TEST(Bundle, MissingAdaptorFile) {
  const auto dir = copy_bundle("nofile");
  const auto file = first_adaptor_file(dir);
  fs::remove(dir + "/" + file);
  expect_load_error(dir, "cannot open", file);
}

TEST(Bundle, BadManifests) {
  const auto dir = copy_bundle("manifest");
  std::ofstream(dir + "/manifest.json") << "{\"format\": \"gearnn-bundle\", ";
  expect_load_error(dir, "not valid JSON", "manifest.json");

  const auto dir2 = copy_bundle("version");
  edit_manifest(dir2, [](json& m) { m["version"] = 99; });
  expect_load_error(dir2, "version 99");

  const auto dir3 = copy_bundle("dims");
  edit_manifest(dir3, [](json& m) { m["levels"][1]["distortion"] = {{"brightness", 0.5}}; });
  expect_load_error(dir3, "describes brightness");

  const auto dir4 = copy_bundle("arch");
  edit_manifest(dir4, [](json& m) { m["architecture"]["name"] = "drn_x"; });
  expect_load_error(dir4, "unknown architecture 'drn_x'");

  const auto dir5 = copy_bundle("unknowndim");
  edit_manifest(dir5, [](json& m) { m["levels"][0]["distortion"]["fog"] = 3; });
  expect_load_error(dir5, "unknown distortion dimension 'fog'");

  const auto dir6 = copy_bundle("classweights");
  edit_manifest(dir6, [](json& m) { m["training"] = {{"class_weights", {1.0, 2.0}}}; });
  expect_load_error(dir6, "2 class weights for");
  const auto dir7 = copy_bundle("negativeweights");
  edit_manifest(dir7, [](json& m) {
    m["training"] = {{"class_weights", std::vector<double>(m["classes"].size(), -1.0)}};
  });
  expect_load_error(dir7, "finite and >= 0");
  const auto dir8 = copy_bundle("expected");
  edit_manifest(dir8, [](json& m) { m["levels"][0]["expected"] = {{"miou", 140.0}}; });
  expect_load_error(dir8, "expected mIoU must be a percentage");
  const auto dir9 = copy_bundle("expectedclasses");
  edit_manifest(dir9, [](json& m) { m["levels"][0]["expected"] = {{"miou", 40.0}, {"class_iou", {1.0}}}; });
  expect_load_error(dir9, "class_iou has 1 values");

  expect_load_error("/nonexistent/bundle", "cannot open bundle manifest");
}

TEST(Bundle, ClassCountMustMatchTheWeights) {
  const auto dir = copy_bundle("classes");
  edit_manifest(dir, [](json& m) { m["classes"].push_back({{"name", "extra"}, {"color", {1, 2, 3}}}); });
  expect_load_error(dir, "shape", "seg.weight");
}
