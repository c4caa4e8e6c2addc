#include "error.h"
#include "adaptive_model.h"
#include "experiment/evaluate.h"
#include "knapsack.h"
#include "test_support.h"
#include "train/sensitivity.h"
#include "train/trainer.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/InferenceMode.h>
#include <gtest/gtest.h>

using gearnn::Architecture;
using gearnn::WeightTable;

namespace {

// Pixels whose first channel is positive are class 1, the rest class 0: a task
// a tiny DRN learns in a few steps. Deterministic per (epoch, batch).
gearnn::TrainData synthetic_data(int batches, int64_t size = 32) {
  auto state = std::make_shared<std::pair<int, int>>(0, 0);  // epoch, batch
  gearnn::TrainData d;
  d.batches_per_epoch = size_t(batches);
  d.start_epoch = [state](int epoch) { *state = {epoch, 0}; };
  d.next = [state, batches, size](at::Tensor& images, at::Tensor& labels) {
    if (state->second >= batches) return false;
    at::Generator g = at::detail::createCPUGenerator(uint64_t(state->first * 1000 + state->second++));
    images = at::empty({2, 3, size, size}).normal_(0, 1, g);
    // smooth blobs rather than per-pixel noise, so that the output stride 8 can follow them
    images = at::avg_pool2d(images, 9, 1, 4) * 3;
    labels = (images.select(1, 0) > 0).to(at::kLong);
    labels.index_put_({images.select(1, 1) > 1.5}, 255);  // some void pixels
    return true;
  };
  return d;
}

gearnn::TrainOptions quiet(int epochs) {
  gearnn::TrainOptions o;
  o.epochs = epochs;
  o.lr = 0.05;
  o.progress = false;
  return o;
}

}  // namespace

TEST(Sensitivity, EquationOneOnKnownTensors) {
  const Architecture arch("drn_d_22", 3, 0.125);
  WeightTable base = arch.initial_weights(1), tuned;
  for (const auto& t : base) tuned.push_back(t.clone());
  const auto& stem = arch.layers()[*arch.find_layer("base.0.0")];  // conv 2x3x7x7, no bias
  const auto& bn = arch.layers()[*arch.find_layer("base.0.1")];    // BN of 2 channels
  tuned[stem.slots[0]] += 0.5;                // every weight moves by 0.5
  tuned[bn.slots[0]][0] += 1.0;               // one BN weight of two moves by 1 ...
  tuned[bn.slots[1]][1] -= 3.0;               // ... one bias of two by 3
  tuned[bn.slots[2]] += 100.0;                // running statistics are not learnable: ignored
  const auto v = gearnn::layer_sensitivities(arch, base, tuned);
  EXPECT_NEAR(v[*arch.find_layer("base.0.0")], 0.5, 1e-6);
  EXPECT_NEAR(v[*arch.find_layer("base.0.1")], (1.0 + 3.0) / 4.0, 1e-6);
  EXPECT_EQ(v[*arch.find_layer("seg")], 0.0);
}

TEST(Sensitivity, KnapsackPicksTheMostSensitiveLayersWithinBudget) {
  const Architecture arch("drn_d_22", 3, 0.125);
  std::vector<double> v(arch.layers().size(), 0.001);
  v[*arch.find_layer("seg")] = 5.0;
  v[*arch.find_layer("base.2.1")] = 4.0;
  const int64_t budget = arch.layers()[*arch.find_layer("seg")].size + arch.layers()[*arch.find_layer("base.2.1")].size;
  const auto chosen = gearnn::choose_adaptor_layers(arch, v, budget);
  EXPECT_NE(std::find(chosen.begin(), chosen.end(), "seg"), chosen.end());
  EXPECT_NE(std::find(chosen.begin(), chosen.end(), "base.2.1"), chosen.end());
  int64_t size = 0;
  for (const auto& name : chosen) size += arch.layers()[*arch.find_layer(name)].size;
  EXPECT_LE(size, budget);
}

TEST(Train, StabilityLossIsZeroForIdenticalInputs) {
  at::manual_seed(3);
  const at::Tensor logp = at::log_softmax(at::randn({2, 4, 8, 8}), 1);
  const at::Tensor labels = at::randint(0, 4, {2, 8, 8}, at::kLong);
  const at::Tensor nll = gearnn::segmentation_loss(logp, labels, {});
  const at::Tensor same = gearnn::segmentation_loss(logp, labels, {}, logp, 2.0);
  EXPECT_NEAR(same.item<double>(), nll.item<double>(), 1e-7);
  const at::Tensor other = at::log_softmax(at::randn({2, 4, 8, 8}), 1);
  EXPECT_GT(gearnn::segmentation_loss(logp, labels, {}, other, 2.0).item<double>(), nll.item<double>() + 1e-3);
}

TEST(Train, LossGoesDown) {
  const Architecture arch("drn_d_22", 2, 0.125);
  auto data = synthetic_data(6);
  std::vector<double> losses;
  gearnn::train(arch, arch.initial_weights(1), quiet(4), data,
                [&](const gearnn::EpochReport& r, const WeightTable&) { losses.push_back(r.loss); });
  ASSERT_EQ(losses.size(), 4u);
  EXPECT_LT(losses.back(), losses.front() * 0.8);
}

TEST(Train, PartialFineTuningLeavesEveryOtherTensorBitIdentical) {
  const Architecture arch("drn_d_22", 2, 0.125);
  const WeightTable base = arch.initial_weights(2);
  std::vector<WeightTable::value_type> before;
  for (const auto& t : base) before.push_back(t.clone());

  gearnn::TrainOptions o = quiet(2);
  o.trainable_layers.assign(arch.layers().size(), false);
  for (const char* name : {"base.0.1", "base.3.0.bn1", "seg"}) o.trainable_layers[*arch.find_layer(name)] = true;
  auto data = synthetic_data(3);
  const WeightTable tuned = gearnn::train(arch, base, o, data);

  for (size_t l = 0; l < arch.layers().size(); ++l) {
    for (size_t s : arch.layers()[l].slots) {
      const bool same = at::equal(tuned[s], before[s]);
      if (o.trainable_layers[l]) EXPECT_FALSE(same) << arch.slots()[s].name << " should have been trained";
      else EXPECT_TRUE(same) << arch.slots()[s].name << " changed although frozen";
      EXPECT_TRUE(at::equal(base[s], before[s])) << "the caller's " << arch.slots()[s].name << " was written";
    }
  }
  const size_t up = *arch.find_slot("up.weight");
  EXPECT_TRUE(at::equal(tuned[up], before[up]));
}

TEST(Train, ResumeContinuesFromTheSavedEpochWithIdenticalResults) {
  const Architecture arch("drn_d_22", 2, 0.125);
  const WeightTable init = arch.initial_weights(4);
  auto data = synthetic_data(3);

  const WeightTable straight = gearnn::train(arch, init, quiet(3), data);

  // A run of 3 epochs interrupted after its second (the checkpoint is written first).
  struct Interrupted {};
  gearnn::TrainOptions o = quiet(3);
  o.checkpoint_dir = gearnn::testing::scratch_dir("resume");
  EXPECT_THROW(gearnn::train(arch, init, o, data,
                             [](const gearnn::EpochReport& r, const WeightTable&) {
                               if (r.epoch == 2) throw Interrupted{};
                             }),
               Interrupted);
  gearnn::TrainOptions rest = o;
  rest.resume = true;
  std::vector<int> epochs_run;
  const WeightTable resumed = gearnn::train(arch, init, rest, data, [&](const gearnn::EpochReport& r, const WeightTable&) {
    epochs_run.push_back(r.epoch);
  });
  EXPECT_EQ(epochs_run, std::vector<int>{3});
  for (size_t s = 0; s < init.size(); ++s)
    EXPECT_TRUE(at::equal(straight[s], resumed[s])) << arch.slots()[s].name;
}

// Test-time BN adaptation: statistics re-estimated on one frame make the
// eval-mode forward that of the frame normalised by its own statistics (up to
// the unbiased variance's n/(n-1)), and the caller's table keeps its own.
TEST(BnAdaptation, SetStatisticsOfOneFrameMatchFrameStatistics) {
  at::Generator g = at::detail::createCPUGenerator(7);
  const std::string dir = gearnn::testing::scratch_dir("bn-adapt");
  const gearnn::Dataset data =
      gearnn::Dataset::open(gearnn::testing::make_shapes_dataset(dir + "/data", 2, 1, 256, 192), "val");
  const gearnn::Architecture camvid("drn_d_22", int(data.classes().size()), 0.125);
  WeightTable cw = camvid.initial_weights(3);
  for (const auto& layer : camvid.layers())
    if (layer.kind == gearnn::Layer::Kind::batch_norm) {
      cw[layer.slots[2]].normal_(0, 0.5, g);
      cw[layer.slots[3]].uniform_(0.5, 2.0, g);
    }
  const WeightTable before = [&] {
    WeightTable c;
    for (const auto& t : cw) c.push_back(t.clone());
    return c;
  }();
  const gearnn::Normalization norm;
  const WeightTable adapted = gearnn::adapt_bn_statistics(camvid, cw, norm, data, {});
  for (size_t s = 0; s < cw.size(); ++s) ASSERT_TRUE(at::equal(cw[s], before[s])) << camvid.slots()[s].name;

  const gearnn::RgbImage image = data.load_image(0);
  const at::Tensor input = gearnn::frame_to_input(image.view(), norm, at::kCPU);
  std::vector<bool> all_bn(camvid.layers().size());
  for (size_t l = 0; l < all_bn.size(); ++l) all_bn[l] = camvid.layers()[l].kind == gearnn::Layer::Kind::batch_norm;
  c10::InferenceMode guard;
  const at::Tensor own = camvid.scores(cw, input, all_bn, 0.0);
  const at::Tensor via_set = camvid.scores(adapted, input);
  const at::Tensor unadapted = camvid.scores(cw, input);
  const double gap = (own - via_set).abs().max().item<double>(), scale = own.abs().max().item<double>();
  // About 2% here: eval mode divides by the unbiased variance, a frame's own
  // statistics by the biased one, and the gap compounds over 20-odd layers
  // (it shrinks as the frame grows: 6.5% at 128x96).
  EXPECT_LT(gap, 0.05 * scale);
  EXPECT_GT((own - unadapted).abs().max().item<double>(), 10 * gap) << "the adaptation must change something";
  for (size_t s = 0; s < cw.size(); ++s) ASSERT_TRUE(at::equal(cw[s], before[s])) << camvid.slots()[s].name;
}
