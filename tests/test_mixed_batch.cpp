// A batch whose samples run different levels gives each sample what its own
// single-frame forward at its level gives, for BN and conv adaptors, folded or not.
#include "bundle.h"
#include "error.h"
#include "adaptive_model.h"
#include "batch_segmenter.h"
#include "mixed_batch.h"
#include "random_bundle.h"
#include "test_support.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/InferenceMode.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace {

using gearnn::Bundle;

// Max |batched - alone| over the batch, relative to the largest score.
double worst_gap(const std::shared_ptr<const Bundle>& bundle, const std::vector<size_t>& levels) {
  c10::InferenceMode guard;
  at::Generator g = at::detail::createCPUGenerator(11);
  const at::Tensor input = at::empty({int64_t(levels.size()), 3, 48, 64}).normal_(0, 1, g);
  const gearnn::MixedBatchPlan plan(bundle, levels);
  const at::Tensor batched = plan.scores(input);
  double gap = 0;
  for (size_t n = 0; n < levels.size(); ++n) {
    const at::Tensor alone = bundle->architecture().scores(bundle->weights(levels[n]), input.narrow(0, int64_t(n), 1));
    EXPECT_EQ(batched.narrow(0, int64_t(n), 1).sizes(), alone.sizes());
    gap = std::max(gap, ((batched.narrow(0, int64_t(n), 1) - alone).abs().max() /
                         alone.abs().max().clamp_min(1.0)).item<double>());
  }
  return gap;
}

// Which kinds of layer the bundle's adaptors replace.
std::pair<bool, bool> adapted_kinds(const Bundle& b) {
  bool bn = false, conv = false;
  for (const auto& level : b.manifest().levels)
    if (level.adaptor)
      for (const auto& name : level.adaptor->layers) {
        const auto& layer = b.architecture().layers()[*b.architecture().find_layer(name)];
        (layer.kind == gearnn::Layer::Kind::batch_norm ? bn : conv) = true;
      }
  return {bn, conv};
}

// A random bundle re-written with adaptors of chosen kinds: level k (k >= 1)
// replaces a few layers of `kind` (and, for convs, the classifier), with
// weights perturbed from the base; level 0 runs the base.
std::string bundle_adapting(const std::string& name, gearnn::Layer::Kind kind) {
  const auto source = Bundle::load(gearnn::testing::small_bundle(4));
  const gearnn::Architecture& arch = source->architecture();
  gearnn::Manifest m = source->manifest();
  at::Generator g = at::detail::createCPUGenerator(5);
  std::vector<size_t> candidates;
  for (size_t l = 0; l < arch.layers().size(); ++l)
    if (arch.layers()[l].kind == kind) candidates.push_back(l);
  std::vector<gearnn::NamedTensors> adaptors;
  for (size_t k = 0; k < m.levels.size(); ++k) {
    if (k == 0) {
      m.levels[k].adaptor.reset();
      adaptors.emplace_back();
      continue;
    }
    std::vector<std::string> layers;
    for (size_t i = k; i < candidates.size(); i += 7) layers.push_back(arch.layers()[candidates[i]].name);
    if (kind == gearnn::Layer::Kind::conv) layers.push_back("seg");
    gearnn::WeightTable w = source->base_weights();
    for (const auto& layer : layers)
      for (size_t s : arch.layers()[*arch.find_layer(layer)].slots)
        w[s] = s == arch.layers()[*arch.find_layer(layer)].slots.back() && kind == gearnn::Layer::Kind::batch_norm
                   ? w[s] * at::empty_like(w[s]).uniform_(0.5, 1.5, g)  // running variance stays positive
                   : w[s] + 0.1 * at::empty_like(w[s]).normal_(0, 1, g);
    m.levels[k].adaptor = gearnn::AdaptorRef{"", "", layers};
    adaptors.push_back(gearnn::named_layers(arch, w, layers));
  }
  const std::string dir = gearnn::testing::scratch_dir(name);
  gearnn::write_bundle(dir, m, gearnn::named_weights(arch, source->base_weights()), adaptors);
  return dir;
}

}  // namespace

TEST(MixedBatch, EverySampleGetsItsOwnLevelsOutput) {
  for (auto kind : {gearnn::Layer::Kind::batch_norm, gearnn::Layer::Kind::conv}) {
    const std::string name = kind == gearnn::Layer::Kind::conv ? "mixed-conv" : "mixed-bn";
    const std::string dir = bundle_adapting(name, kind);
    for (auto folding : {gearnn::Folding::none, gearnn::Folding::inference}) {
      const auto bundle = Bundle::load(dir, "cpu", gearnn::DescriptorCheck::current, folding);
      const auto [bn, conv] = adapted_kinds(*bundle);
      ASSERT_EQ(bn, kind == gearnn::Layer::Kind::batch_norm) << name;
      ASSERT_EQ(conv, kind == gearnn::Layer::Kind::conv) << name;
      const double mixed = worst_gap(bundle, {0, 1, 2, 3, 1, 0});
      const double same = worst_gap(bundle, {2, 2, 2});
      std::printf("%s%s: largest gap to the single-frame forward %.2g (mixed), %.2g (one level)\n", name.c_str(),
                  folding == gearnn::Folding::none ? "" : ", folded", mixed, same);
      EXPECT_LT(mixed, 1e-5) << name << (folding == gearnn::Folding::none ? "" : " folded");
      EXPECT_LT(same, 1e-5) << name;
      const gearnn::MixedBatchPlan plan(bundle, {0, 1, 2, 3});
      EXPECT_GT(plan.split_layers(), 0u);
      EXPECT_EQ(gearnn::MixedBatchPlan(bundle, {1, 1}).split_layers(), 0u) << "one level splits nothing";
    }
  }
}

TEST(MixedBatch, BadPlansAndInputsAreRefused) {
  const auto bundle = Bundle::load(gearnn::testing::small_bundle(3));
  EXPECT_THROW(gearnn::MixedBatchPlan(bundle, {}), gearnn::Error);
  try {
    gearnn::MixedBatchPlan(bundle, {0, 7});
    FAIL() << "level 7 of 3 was accepted";
  } catch (const gearnn::Error& e) {
    EXPECT_NE(std::string(e.what()).find("level 7"), std::string::npos) << e.what();
  }
  const gearnn::MixedBatchPlan plan(bundle, {0, 1});
  EXPECT_THROW(plan.scores(at::zeros({3, 3, 16, 16})), gearnn::Error);
}

// The segmenter over a batch in chunks (here of 2 frames, a shorter last one)
// gives every frame the class map its own single-frame path gives.
TEST(BatchSegmenter, ChunkedBatchMatchesSingleFrames) {
  const auto bundle = Bundle::load(gearnn::testing::small_bundle(3), "cpu", gearnn::DescriptorCheck::current,
                                   gearnn::Folding::inference);
  const int w = 40, h = 24;
  gearnn::BatchSegmenter segmenter(bundle, size_t(2 * w * h));
  ASSERT_EQ(segmenter.chunk_for(w, h), 2u);
  std::vector<gearnn::RgbImage> frames;
  std::vector<std::vector<uint8_t>> maps(5, std::vector<uint8_t>(size_t(w * h)));
  std::vector<gearnn::BatchItem> items;
  for (size_t k = 0; k < 5; ++k) {
    gearnn::RgbImage img{w, h, std::vector<uint8_t>(size_t(w * h * 3))};
    for (size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = uint8_t((i * (k + 3) + i / 41) % 253);
    frames.push_back(std::move(img));
  }
  // Sorted by level, 0 0 1 2 2: chunks {0,0}, {1,2} (two levels in one forward), {2}.
  const size_t level_of[5] = {2, 0, 1, 2, 0};
  for (size_t k = 0; k < 5; ++k) items.push_back({frames[k].view(), level_of[k], maps[k].data()});
  for (int pass = 0; pass < 2; ++pass) {  // the second pass reuses plans and buffers
    segmenter.segment(items);
    for (size_t k = 0; k < 5; ++k) {
      gearnn::AdaptiveModel alone(bundle);
      alone.select(level_of[k]);
      const auto expected = alone.segment(frames[k].view()).classes;
      size_t differing = 0;
      for (size_t p = 0; p < expected.size(); ++p) differing += expected[p] != maps[k][p];
      EXPECT_LE(differing, expected.size() / 1000) << "frame " << k << " pass " << pass;
    }
  }
  EXPECT_EQ(segmenter.cached_plans(), 3u) << "chunks {0,0}, {1,2}, {2}";
  items.back().level = 3;  // unknown: refused before any frame is written
  std::fill(maps[1].begin(), maps[1].end(), uint8_t(255));
  EXPECT_THROW(segmenter.segment(items), gearnn::Error);
  EXPECT_EQ(maps[1][0], 255) << "no chunk ran";
  items.back().level = 0;
  gearnn::RgbImage other{w + 8, h, std::vector<uint8_t>(size_t((w + 8) * h * 3))};
  items.push_back({other.view(), 0, maps[0].data()});
  EXPECT_THROW(segmenter.segment(items), gearnn::Error);
}
