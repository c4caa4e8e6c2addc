// BN folded into its conv where no adaptor reaches: per level the folded
// forward equals the unfolded one within float rounding, the pairs that some
// adaptor replaces stay apart, and folding holds fewer values than before.
#include "bundle.h"
#include "error.h"
#include "test_support.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <gtest/gtest.h>

using gearnn::Bundle;
using gearnn::DescriptorCheck;
using gearnn::Folding;

TEST(BnFolding, FoldedForwardEqualsUnfoldedOnEveryLevel) {
  c10::InferenceMode guard;
  const std::string dir = gearnn::testing::small_bundle(3);
  const auto plain = Bundle::load(dir);
  const auto folded = Bundle::load(dir, "cpu", DescriptorCheck::current, Folding::inference);
  EXPECT_EQ(plain->folding().folded, 0u);
  ASSERT_GT(folded->folding().folded, 0u);
  at::manual_seed(2);
  const at::Tensor input = at::randn({1, 3, 40, 56});
  for (size_t level = 0; level < plain->level_count(); ++level) {
    const at::Tensor a = plain->architecture().forward(plain->weights(level), input);
    const at::Tensor b = folded->architecture().forward(folded->weights(level), input);
    EXPECT_LT((a - b).abs().max().item<double>(), 1e-4) << "level " << level;
    const double agree = a.argmax(1).eq(b.argmax(1)).to(at::kDouble).mean().item<double>();
    EXPECT_GE(agree, 0.999) << "level " << level;
  }
}

TEST(BnFolding, PairsAnAdaptorTouchesStayApart) {
  const std::string dir = gearnn::testing::small_bundle(3);
  const auto folded = Bundle::load(dir, "cpu", DescriptorCheck::current, Folding::inference);
  const auto& arch = folded->architecture();
  std::vector<bool> adapted(arch.layers().size(), false);
  for (const auto& level : folded->manifest().levels)
    if (level.adaptor)
      for (const auto& name : level.adaptor->layers) adapted[*arch.find_layer(name)] = true;
  size_t apart = 0;
  for (auto [conv, bn] : arch.conv_bn_pairs()) {
    const bool touched = adapted[conv] || adapted[bn];
    apart += touched;
    const at::Tensor& bn_weight = folded->base_weights()[arch.layers()[bn].slots[0]];
    EXPECT_EQ(bn_weight.defined(), touched) << arch.layers()[bn].name;
    for (size_t level = 0; level < folded->level_count(); ++level)  // every table shares the folded tensors
      EXPECT_TRUE(folded->weights(level)[arch.layers()[conv].slots[0]].is_same(
          folded->base_weights()[arch.layers()[conv].slots[0]]) || touched);
  }
  EXPECT_GT(apart, 0u);
  EXPECT_EQ(folded->folding().folded + apart, folded->folding().pairs);
  EXPECT_LT(folded->folding().values_after, folded->folding().values_before);
}

TEST(BnFolding, AFoldedLayerCannotTrain) {
  const std::string dir = gearnn::testing::small_bundle(3);
  const auto folded = Bundle::load(dir, "cpu", DescriptorCheck::current, Folding::inference);
  const auto& arch = folded->architecture();
  std::vector<bool> batch_stats(arch.layers().size(), true);
  EXPECT_THROW(arch.forward(folded->base_weights(), at::randn({2, 3, 16, 16}), batch_stats), gearnn::Error);
}
