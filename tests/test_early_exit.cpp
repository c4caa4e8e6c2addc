// Early exits: the trunk split at a stage gives what the whole walk gives, a
// head's scores are its convs on the stage's features, the forward takes the
// first exit whose confidence reaches its threshold, costs add up to what the
// convs really compute, and bad exit sections are refused.
#include "adaptive_model.h"
#include "bundle.h"
#include "early_exit.h"
#include "error.h"
#include "manifest.h"
#include "random_bundle.h"
#include "test_support.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/InferenceMode.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

namespace {

namespace fs = std::filesystem;
using gearnn::Bundle;

// A 3-level random bundle (drn_d_22, width 0.125, 5 classes) with exits after
// base.4 and base.6, the second with a conv dilated by 2.
std::string bundle_with_exits(const std::string& name, double threshold = 0.5) {
  const std::string dir = gearnn::testing::scratch_dir(name);
  gearnn::RandomBundleOptions o;
  o.classes = 5;
  o.width = 0.125;
  o.levels = 3;
  o.exits = {"base.4", "base.6"};
  o.exit_dilations = {1, 2};
  o.exit_threshold = threshold;
  gearnn::write_random_bundle(dir, o);
  return dir;
}

at::Tensor random_input(int64_t h, int64_t w, uint64_t seed = 3) {
  at::Generator g = at::detail::createCPUGenerator(seed);
  return at::empty({1, 3, h, w}).normal_(0, 1, g);
}

double gap(const at::Tensor& a, const at::Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  return (a - b).abs().max().item<double>();
}

TEST(EarlyExit, TrunkSplitAtAnyStageEqualsTheWholeWalk) {
  c10::InferenceMode guard;
  const auto b = Bundle::load(bundle_with_exits("split"));
  const auto& arch = b->architecture();
  const at::Tensor input = random_input(48, 64);
  const at::Tensor whole = arch.scores(b->weights(0), input);
  for (const auto& stage : arch.stages()) {
    at::Tensor x = arch.trunk(b->weights(0), input, 0, stage.end_step);
    x = arch.trunk(b->weights(0), x, stage.end_step, arch.stages().back().end_step);
    EXPECT_EQ(gap(arch.classify(b->weights(0), x), whole), 0.0) << stage.prefix;
  }
}

TEST(EarlyExit, CandidatesAreTheStride8StagesButTheLast) {
  const gearnn::Architecture d22("drn_d_22", 5, 0.125);
  EXPECT_EQ(gearnn::exit_candidate_stages(d22), (std::vector<std::string>{"base.4", "base.5", "base.6", "base.7"}));
  const gearnn::Architecture c26("drn_c_26", 5, 0.125);
  EXPECT_EQ(gearnn::exit_candidate_stages(c26).front(), "base.6");
}

// The head by hand: ATen's own convs on the stage's output.
at::Tensor reference_head(const gearnn::ExitHead& h, const at::Tensor& features) {
  at::Tensor x = features;
  const int64_t d = h.spec.dilation;
  for (size_t i = 0; i < h.conv_weights.size(); ++i)
    x = at::relu(at::conv2d(x, h.conv_weights[i], h.conv_biases[i], 1, d, d));
  return at::conv2d(x, h.classifier_weight, h.classifier_bias);
}

TEST(EarlyExit, ForwardTakesTheFirstConfidentExitOnTheSelectedLevelsTrunk) {
  c10::InferenceMode guard;
  const auto b = Bundle::load(bundle_with_exits("forward"));
  const auto& arch = b->architecture();
  ASSERT_EQ(b->exits().size(), 2u);
  const at::Tensor input = random_input(64, 80);
  for (size_t level = 0; level < b->level_count(); ++level) {
    const auto& w = b->weights(level);
    std::vector<at::Tensor> refs;
    for (const auto& h : b->exits()) refs.push_back(reference_head(h, arch.trunk(w, input, 0, h.end_step)));
    gearnn::ExitOutcome out;
    // Never confident enough: the whole network.
    EXPECT_EQ(gap(gearnn::scores_with_exits(arch, w, b->exits(), {1.0, 1.0}, input, out), arch.scores(w, input)), 0.0);
    EXPECT_EQ(out.exit, -1);
    // The first exit takes every frame.
    EXPECT_LT(gap(gearnn::scores_with_exits(arch, w, b->exits(), {1e-9, 1e-9}, input, out), refs[0]), 1e-5);
    EXPECT_EQ(out.exit, 0);
    EXPECT_NEAR(out.confidence, gearnn::exit_confidence(refs[0]), 1e-12);
    // Only the second.
    EXPECT_LT(gap(gearnn::scores_with_exits(arch, w, b->exits(), {1.0, 1e-9}, input, out), refs[1]), 1e-5);
    EXPECT_EQ(out.exit, 1);
  }
  // Adaptors reach the exits: level 0's adaptor replaces layers of the trunk
  // before base.6, so its second exit scores differ from the base's.
  bool before_second_exit = false;
  for (const auto& layer : b->manifest().levels[0].adaptor->layers)
    for (size_t s = 0; s <= b->exits()[1].stage; ++s)
      before_second_exit |= layer.rfind(arch.stages()[s].prefix + ".", 0) == 0;
  ASSERT_TRUE(before_second_exit);
  gearnn::ExitOutcome out;
  const at::Tensor on_base = gearnn::scores_with_exits(arch, b->weights(b->default_level()), b->exits(), {1.0, 1e-9}, input, out);
  const at::Tensor on_level0 = gearnn::scores_with_exits(arch, b->weights(0), b->exits(), {1.0, 1e-9}, input, out);
  EXPECT_GT(gap(on_base, on_level0), 0.0);
}

TEST(EarlyExit, ConfidenceIsTheMeanTopClassProbability) {
  // Two pixels: uniform over 4 classes (0.25), and one class far ahead (about 1).
  at::Tensor s = at::zeros({1, 4, 1, 2});
  s[0][2][0][1] = 50.0;
  EXPECT_NEAR(gearnn::exit_confidence(s), (0.25 + 1.0) / 2, 1e-6);
}

// Counts the multiply-accumulates of the convs the walk really runs.
class CountingRunner final : public gearnn::LayerRunner {
public:
  CountingRunner(const gearnn::Architecture& a, const gearnn::WeightTable& w) : a_(a), w_(w) {}
  at::Tensor conv_bn(int conv, int, const at::Tensor& x, int stride, int padding, int dilation) const override {
    return count(conv, x, stride, padding, dilation);
  }
  at::Tensor classifier(int layer, const at::Tensor& x) const override { return count(layer, x, 1, 0, 1); }
  mutable int64_t macs = 0;

private:
  at::Tensor count(int layer, const at::Tensor& x, int stride, int padding, int dilation) const {
    const at::Tensor& weight = w_[a_.layers()[size_t(layer)].slots[0]];
    const at::Tensor y = at::conv2d(x, weight, {}, stride, padding, dilation);
    macs += y.numel() * weight.size(1) * weight.size(2) * weight.size(3);
    return y;
  }
  const gearnn::Architecture& a_;
  const gearnn::WeightTable& w_;
};

TEST(EarlyExit, CostsAreWhatTheConvsCompute) {
  c10::NoGradGuard no_grad;
  const auto b = Bundle::load(bundle_with_exits("costs"));
  const auto& arch = b->architecture();
  for (auto [h, w] : {std::pair<int64_t, int64_t>{48, 64}, {120, 160}}) {
    CountingRunner counter(arch, b->base_weights());
    arch.scores(counter, random_input(h, w));
    const gearnn::ExitCosts c = gearnn::exit_costs(arch, b->exits(), h, w);
    EXPECT_EQ(c.full, counter.macs) << h << "x" << w;
    // The first head: trunk to base.4, then its 3x3 conv and classifier at 1/8.
    const auto& head = b->exits()[0];
    const int64_t pixels = (h / 8) * (w / 8);
    EXPECT_EQ(c.head[0], head.spec.channels * head.in_channels * 9 * pixels + 5 * head.spec.channels * pixels);
    EXPECT_LT(c.at_exit[0], c.at_exit[1]);
    EXPECT_LT(c.at_exit[1], c.full);
    EXPECT_EQ(c.through, c.full + c.head[0] + c.head[1]);
  }
}

TEST(EarlyExit, AdaptiveModelReportsItsExitAndCompute) {
  const auto b = Bundle::load(bundle_with_exits("model"));
  gearnn::AdaptiveModel model(b);
  std::vector<uint8_t> pixels(size_t(80) * 60 * 3);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = uint8_t(i * 7 % 251);
  const gearnn::RgbView frame{pixels.data(), 80, 60, 80 * 3};
  const gearnn::ClassMap full = model.segment(frame);
  EXPECT_EQ(model.last_exit().exit, -1);
  EXPECT_EQ(model.last_compute_fraction(), 1.0);

  model.set_early_exit(true, 1e-6);  // every threshold near 0: the first exit
  const gearnn::ClassMap early = model.segment(frame);
  EXPECT_EQ(model.last_exit().exit, 0);
  const gearnn::ExitCosts c = gearnn::exit_costs(b->architecture(), b->exits(), 64, 80);
  EXPECT_DOUBLE_EQ(model.last_compute_fraction(), double(c.at_exit[0]) / double(c.full));
  EXPECT_NE(early.classes, full.classes);  // a random head is not the network

  model.set_early_exit(true, 100.0);  // capped at 1: nothing leaves early, the heads still run
  EXPECT_EQ(model.segment(frame).classes, full.classes);
  EXPECT_EQ(model.last_exit().exit, -1);
  EXPECT_DOUBLE_EQ(model.last_compute_fraction(), double(c.through) / double(c.full));

  model.set_early_exit(false);
  EXPECT_EQ(model.segment(frame).classes, full.classes);
  EXPECT_THROW(model.set_early_exit(true, 0.0), gearnn::Error);
}

TEST(EarlyExit, LevelThresholdsOverrideTheExitsOwn) {
  const std::string dir = bundle_with_exits("level_thresholds", 1.0);
  const std::string path = dir + "/manifest.json";
  gearnn::Manifest m = gearnn::read_manifest(path);
  const std::string level = m.levels[1].name;
  m.exits->heads[0].level_thresholds[level] = 1e-6;
  gearnn::write_manifest(path, m);
  const auto b = Bundle::load(dir);
  EXPECT_EQ(b->exit_threshold(0, 0), 1.0);
  EXPECT_EQ(b->exit_threshold(0, 1), 1e-6);
  gearnn::AdaptiveModel model(b);
  model.set_early_exit(true);
  std::vector<uint8_t> pixels(size_t(64) * 48 * 3, 90);
  const gearnn::RgbView frame{pixels.data(), 64, 48, 64 * 3};
  model.select(0);
  model.segment(frame);
  EXPECT_EQ(model.last_exit().exit, -1);
  model.select(1);
  model.segment(frame);
  EXPECT_EQ(model.last_exit().exit, 0);
}

// Rewrites the manifest's exits section with `edit`, then expects the load to
// fail with a message containing `needle`.
void expect_refused(const std::string& name, const std::function<void(nlohmann::json&)>& edit,
                    const std::string& needle) {
  const std::string dir = bundle_with_exits(name);
  const std::string path = dir + "/manifest.json";
  nlohmann::json j;
  std::ifstream(path) >> j;
  edit(j);
  std::ofstream(path, std::ios::trunc) << j.dump(2);
  try {
    Bundle::load(dir);
    FAIL() << name << ": loaded";
  } catch (const gearnn::Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << name << ": " << e.what();
  }
}

TEST(EarlyExit, BadExitSectionsAreRefused) {
  using nlohmann::json;
  expect_refused("unknown_stage", [](json& j) { j["exits"]["heads"][0]["after"] = "base.99"; }, "cannot follow 'base.99'");
  expect_refused("stride4", [](json& j) { j["exits"]["heads"][0]["after"] = "base.3"; }, "candidates: base.4");
  expect_refused("last_stage", [](json& j) { j["exits"]["heads"][1]["after"] = "base.8"; }, "cannot follow 'base.8'");
  expect_refused("order", [](json& j) { std::swap(j["exits"]["heads"][0], j["exits"]["heads"][1]); }, "trunk order");
  expect_refused("twice", [](json& j) { j["exits"]["heads"][1]["after"] = "base.4"; }, "two heads follow the same stage");
  expect_refused("threshold", [](json& j) { j["exits"]["heads"][0]["threshold"] = 1.5; }, "threshold must be in (0, 1]");
  expect_refused("level", [](json& j) { j["exits"]["heads"][0]["level_thresholds"] = {{"nope", 0.5}}; },
                 "unknown level 'nope'");
  expect_refused("dilation", [](json& j) { j["exits"]["heads"][1]["dilation"] = 0; }, "dilation must be in 1..16");
  expect_refused("channels", [](json& j) { j["exits"]["heads"][0]["channels"] = 8; }, "shape");
  expect_refused("convs", [](json& j) { j["exits"]["heads"][0]["convs"] = 2; }, "is missing");
  expect_refused("fewer", [](json& j) { j["exits"]["heads"].erase(1); }, "belongs to no exit");
  expect_refused("hash", [](json& j) { j["exits"]["sha256"] = std::string(64, '0'); }, "SHA-256 does not match");
  expect_refused("no_file", [](json& j) { j["exits"]["file"] = "missing.safetensors"; }, "missing.safetensors");
  expect_refused("empty", [](json& j) { j["exits"]["heads"] = json::array(); }, "'heads' must be a non-empty list");
}

TEST(EarlyExit, ManifestRoundTripsItsExits) {
  const std::string dir = bundle_with_exits("round_trip", 0.75);
  const gearnn::Manifest m = gearnn::read_manifest(dir + "/manifest.json");
  ASSERT_TRUE(m.exits);
  ASSERT_EQ(m.exits->heads.size(), 2u);
  EXPECT_EQ(m.exits->heads[1].after, "base.6");
  EXPECT_EQ(m.exits->heads[1].threshold, 0.75);
  const std::string copy = gearnn::testing::scratch_dir("round_trip_copy") + "/manifest.json";
  gearnn::write_manifest(copy, m);
  const gearnn::Manifest again = gearnn::read_manifest(copy);
  EXPECT_EQ(again.exits->sha256, m.exits->sha256);
  EXPECT_EQ(again.exits->heads[0].channels, m.exits->heads[0].channels);
  EXPECT_EQ(again.exits->heads[0].dilation, 1);
  EXPECT_EQ(again.exits->heads[1].dilation, 2);
}

// A bundle written from another's manifest (DNN switching, merged bundles)
// carries no exits: their tensors are not written with it, and heads trained
// on the first bundle's trunk do not belong to the new weights.
TEST(EarlyExit, WrittenBundlesDropTheSourceManifestsExits) {
  const auto source = Bundle::load(bundle_with_exits("exits-source"));
  ASSERT_EQ(source->exits().size(), 2u);
  const gearnn::Architecture& arch = source->architecture();
  std::vector<gearnn::NamedTensors> adaptors;
  for (size_t l = 0; l < source->level_count(); ++l) {
    const auto& adaptor = source->manifest().levels[l].adaptor;
    adaptors.push_back(adaptor ? gearnn::named_layers(arch, source->weights(l), adaptor->layers) : gearnn::NamedTensors{});
  }
  const std::string out = gearnn::testing::scratch_dir("exits-rewritten");
  gearnn::write_bundle(out, source->manifest(), gearnn::named_weights(arch, source->base_weights()), adaptors);
  const auto written = Bundle::load(out);
  EXPECT_TRUE(written->exits().empty());
  EXPECT_FALSE(nlohmann::json::parse(std::ifstream(out + "/manifest.json")).contains("exits"));
}

}  // namespace
