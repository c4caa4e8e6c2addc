// Building early exits: the insertion plan drops an exit that costs more than
// it saves, thresholds respect the accuracy budget, pruning keeps the filters
// that matter, a head trained on the frozen trunk learns, and a distilled one
// follows the network.
#include "bundle.h"
#include "data/dataset.h"
#include "experiment/exits.h"
#include "random_bundle.h"
#include "test_support.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/InferenceMode.h>
#include <gtest/gtest.h>

#include <memory>

namespace {

using gearnn::ConfusionMatrix;
using gearnn::ExitEvidence;

// A one-pixel frame's confusion: label `label`, predicted `predicted` (2 classes).
ConfusionMatrix pixel(uint8_t label, uint8_t predicted) {
  ConfusionMatrix c(2);
  c.add(&predicted, &label, 1);
  return c;
}

// Frames alternate labels 0 and 1; the network is always right. Exit 0 is
// cheap and right on frames 0-3 (confident there), exit 1 is right and
// confident everywhere but costs nearly as much as the rest of the network.
ExitEvidence constructed_evidence() {
  ExitEvidence e;
  const int frames = 8;
  e.heads.resize(2);
  for (int f = 0; f < frames; ++f) {
    const uint8_t label = uint8_t(f % 2);
    e.network.push_back(pixel(label, label));
    e.heads[0].confidence.push_back(f < 4 ? 0.9 : 0.3);
    e.heads[0].confusion.push_back(pixel(label, f < 4 ? label : uint8_t(1 - label)));
    e.heads[1].confidence.push_back(0.95);
    e.heads[1].confusion.push_back(pixel(label, label));
    gearnn::ExitCosts c;
    c.full = 100;
    c.head = {2, 45};
    c.at_exit = {30 + 2, 60 + 2 + 45};  // trunk to exit 0 is 30, to exit 1 is 60
    c.through = c.full + 2 + 45;
    e.costs.push_back(c);
  }
  return e;
}

// A random one-level bundle (width 0.125) and the base.5 features of `frames`
// shapes images, each in a scratch folder of its own under `name`.
struct TrunkFeatures {
  std::shared_ptr<const gearnn::Bundle> bundle;
  gearnn::ExitFrames frames;
};
TrunkFeatures base5_features(const std::string& name) {
  const std::string data = gearnn::testing::make_shapes_dataset(gearnn::testing::scratch_dir(name + "_shapes"), 8, 4);
  const std::string dir = gearnn::testing::scratch_dir(name + "_bundle");
  gearnn::RandomBundleOptions o;
  o.classes = 11;
  o.width = 0.125;
  o.levels = 1;
  gearnn::write_random_bundle(dir, o);
  TrunkFeatures t{gearnn::Bundle::load(dir), {}};
  t.frames = gearnn::collect_exit_frames(*t.bundle, 0, gearnn::Dataset::open(data, "train"), {"base.5"});
  return t;
}

// A head after base.5.
gearnn::ExitSpec head_spec(int convs, int channels, int dilation = 1) {
  gearnn::ExitSpec spec;
  spec.after = "base.5";
  spec.convs = convs;
  spec.channels = channels;
  spec.dilation = dilation;
  return spec;
}

gearnn::ExitTraining quick_training() {
  gearnn::ExitTraining t;
  t.epochs = 30;
  t.batch = 4;
  t.lr = 0.05;
  return t;
}

TEST(Exits, SimulationCountsWhereFramesLeaveAndWhatTheyCost) {
  const ExitEvidence e = constructed_evidence();
  const auto s = gearnn::simulate_exits(e, {{true, false}, {0.5, 1.0}});
  EXPECT_DOUBLE_EQ(s.exit_rate[0], 0.5);
  EXPECT_DOUBLE_EQ(s.exit_rate[1], 0.0);
  // Four frames at exit 0 (32 each), four through its head to the end (102).
  EXPECT_DOUBLE_EQ(s.mean_macs, (4 * 32 + 4 * 102) / 8.0);
  EXPECT_DOUBLE_EQ(s.network_macs, 100);
  EXPECT_DOUBLE_EQ(s.miou, 100.0);
  const auto both = gearnn::simulate_exits(e, {{true, true}, {0.5, 0.5}});
  // The last four pass exit 0 (2) and leave at exit 1: trunk 60 + heads 47.
  EXPECT_DOUBLE_EQ(both.mean_macs, (4 * 32 + 4 * 107) / 8.0);
}

TEST(Exits, SavingRatioIsComputeSavedOverOverheadOnFramesThatGoOn) {
  const ExitEvidence e = constructed_evidence();
  // Exit 0 alone: its 4 leaving frames skip 100 - 30 each and pay its head
  // (2); the 4 frames that go on pay the head as overhead.
  const auto r = gearnn::saving_ratios(e, {{true, false}, {0.5, 1.0}});
  EXPECT_DOUBLE_EQ(r[0], 4 * (70.0 - 2) / (4 * 2));
  EXPECT_EQ(r[1], 0.0);
  // With exit 1 behind it, exit 0's frames would have cost 60 + 45 there.
  const auto r2 = gearnn::saving_ratios(e, {{true, true}, {0.5, 0.5}});
  EXPECT_DOUBLE_EQ(r2[0], 4 * (105.0 - 30 - 2) / (4 * 2));
  // Every frame reaching exit 1 leaves there (no overhead), but each skips
  // 100 - 60 for a head of 45: it saves nothing, so R is 0.
  EXPECT_EQ(r2[1], 0.0);
  // Exit 1 alone with a threshold no frame meets: nothing saved, head on all.
  const auto r3 = gearnn::saving_ratios(e, {{false, true}, {1.0, 0.99}});
  EXPECT_DOUBLE_EQ(r3[1], 0.0);
}

TEST(Exits, PlanRemovesAnExitWhoseRatioIsAtMostOne) {
  ExitEvidence e = constructed_evidence();
  // Exit 1 skips 40 of the network for a head of 45: whatever its threshold,
  // R <= 1 and the plan must drop it; exit 0 stays.
  std::vector<std::string> log;
  const auto p = gearnn::plan_exits(e, 1.0, &log);
  EXPECT_TRUE(p.present[0]);
  EXPECT_FALSE(p.present[1]) << log[0];
  EXPECT_LE(gearnn::saving_ratios(e, {{true, true}, p.thresholds})[1], 1.0);
  ASSERT_FALSE(log.empty());
  EXPECT_NE(log[1].find("removed exit [1]"), std::string::npos) << log[1];
}

TEST(Exits, ThresholdsKeepTheLossWithinTheBudget) {
  const ExitEvidence e = constructed_evidence();
  // With no loss allowed exit 0 may take its 4 right frames (confidence 0.9) but
  // none of the wrong ones (0.3).
  const auto t = gearnn::choose_thresholds(e, {true, false}, 0.0);
  EXPECT_DOUBLE_EQ(t[0], 0.9);
  const auto s = gearnn::simulate_exits(e, {{true, false}, t});
  EXPECT_DOUBLE_EQ(s.miou, s.network_miou);
  // Allowed to lose everything, it takes every frame.
  const auto all = gearnn::choose_thresholds(e, {true, false}, 100.0);
  EXPECT_DOUBLE_EQ(gearnn::simulate_exits(e, {{true, false}, all}).exit_rate[0], 1.0);
}

TEST(Exits, PruningKeepsTheFiltersThatMatter) {
  c10::InferenceMode guard;
  const gearnn::Architecture arch("drn_d_22", 5, 0.125);
  gearnn::ExitHead head = gearnn::initial_exit_head(arch, head_spec(2, 16), 4);
  // Filters 8..15 of both convs do nothing: zero weights and biases in, nothing read out.
  for (auto& w : head.conv_weights) w.narrow(0, 8, 8).zero_();
  for (auto& b : head.conv_biases) {
    b.narrow(0, 0, 8).fill_(0.1);
    b.narrow(0, 8, 8).zero_();
  }
  const gearnn::ExitHead pruned = gearnn::pruned_exit_head(arch, head, 8);
  EXPECT_EQ(pruned.spec.channels, 8);
  EXPECT_EQ(pruned.conv_weights[1].sizes(), (std::vector<int64_t>{8, 8, 3, 3}));
  at::Generator g = at::detail::createCPUGenerator(2);
  const at::Tensor features = at::empty({1, head.in_channels, 6, 8}).normal_(0, 1, g);
  EXPECT_LT((pruned.scores(features) - head.scores(features)).abs().max().item<double>(), 1e-5);
  const gearnn::ExitHead shallow = gearnn::shallower_exit_head(arch, pruned, 1);
  EXPECT_EQ(shallow.spec.convs, 1);
  EXPECT_TRUE(at::equal(shallow.conv_weights[0], pruned.conv_weights[0]));
  EXPECT_EQ(shallow.classifier_weight.size(1), 8);
}

TEST(Exits, HeadTrainedOnTheFrozenTrunkLearns) {
  const TrunkFeatures t = base5_features("exit");
  ASSERT_EQ(t.frames.features.size(), 8u);
  gearnn::ExitHead head = gearnn::initial_exit_head(t.bundle->architecture(), head_spec(1, 16), 3);
  const double before = gearnn::score_exit_head(head, 0, t.frames, *t.bundle).total().pixel_accuracy();
  gearnn::train_exit_head(head, 0, t.frames, *t.bundle, quick_training());
  const double after = gearnn::score_exit_head(head, 0, t.frames, *t.bundle).total().pixel_accuracy();
  EXPECT_GT(after, before + 10.0) << before << " -> " << after;
  EXPECT_FALSE(head.classifier_weight.requires_grad());
}

// The random network disagrees with the labels; a head distilled from it
// follows the network, one trained on the labels alone does not.
TEST(Exits, DistilledHeadFollowsTheNetwork) {
  const TrunkFeatures t = base5_features("distill");
  const auto agreement = [&](const gearnn::ExitHead& head) {
    c10::InferenceMode guard;
    double same = 0, pixels = 0;
    for (size_t i = 0; i < t.frames.features.size(); ++i) {
      const at::Tensor mine = head.scores(t.frames.features[i][0]).argmax(1);
      same += mine.eq(t.frames.network_scores[i].argmax(1)).sum().item<double>();
      pixels += double(mine.numel());
    }
    return same / pixels;
  };
  gearnn::ExitHead on_labels = gearnn::initial_exit_head(t.bundle->architecture(), head_spec(1, 16, 2), 3);
  gearnn::ExitHead distilled = on_labels;
  gearnn::train_exit_head(on_labels, 0, t.frames, *t.bundle, quick_training());
  gearnn::ExitTraining with_teacher = quick_training();
  with_teacher.distill = 20;
  gearnn::train_exit_head(distilled, 0, t.frames, *t.bundle, with_teacher);
  EXPECT_GT(agreement(distilled), agreement(on_labels) + 0.2) << agreement(on_labels) << " -> " << agreement(distilled);
}

}  // namespace
