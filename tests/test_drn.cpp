#include "drn.h"
#include "error.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <gtest/gtest.h>

using gearnn::Architecture;

TEST(Drn, PublishedParameterCountsAt19Classes) {
  EXPECT_EQ(Architecture("drn_d_22", 19).learnable_params(), 15895363);
  EXPECT_EQ(Architecture("drn_d_38", 19).learnable_params(), 26003523);
  EXPECT_EQ(Architecture("drn_c_26", 19).learnable_params(), 20628195);
  EXPECT_EQ(Architecture("drn_d_22", 19).params_with_buffers(), 15907139);
  EXPECT_EQ(Architecture("drn_d_38", 19).params_with_buffers(), 26022723);
}

TEST(Drn, KeyNamesFollowReleasedCheckpoints) {
  const Architecture d22("drn_d_22", 19);
  for (const char* key : {"base.0.0.weight", "base.0.1.running_var", "base.1.0.weight", "base.2.1.bias",
                          "base.3.0.downsample.1.running_var", "base.3.1.conv2.weight", "base.6.1.bn2.weight",
                          "base.7.0.weight", "base.8.1.running_mean", "seg.weight", "seg.bias", "up.weight"})
    EXPECT_TRUE(d22.find_slot(key)) << key;
  EXPECT_FALSE(d22.find_slot("base.9.0.weight"));
  EXPECT_FALSE(d22.find_slot("base.0.1.num_batches_tracked"));

  const Architecture d38("drn_d_38", 19);
  EXPECT_TRUE(d38.find_slot("base.5.5.conv2.weight"));
  EXPECT_FALSE(d38.find_slot("base.5.6.conv2.weight"));

  const Architecture c26("drn_c_26", 19);
  for (const char* key : {"base.0.weight", "base.1.running_mean", "base.4.0.downsample.0.weight",
                          "base.9.0.conv1.weight", "base.10.0.bn2.bias", "seg.bias"})
    EXPECT_TRUE(c26.find_slot(key)) << key;
  EXPECT_FALSE(c26.find_slot("base.9.0.downsample.0.weight"));  // layer7 of arch C has no skip
}

TEST(Drn, ShapesOfKnownTensors) {
  const Architecture d22("drn_d_22", 19);
  EXPECT_EQ(d22.slots()[*d22.find_slot("base.0.0.weight")].shape, (std::vector<int64_t>{16, 3, 7, 7}));
  EXPECT_EQ(d22.slots()[*d22.find_slot("base.6.0.conv1.weight")].shape, (std::vector<int64_t>{512, 256, 3, 3}));
  EXPECT_EQ(d22.slots()[*d22.find_slot("up.weight")].shape, (std::vector<int64_t>{19, 1, 16, 16}));
  EXPECT_EQ(d22.layers().back().name, "seg");
  EXPECT_EQ(d22.layers().back().size, 512 * 19 + 19);
}

TEST(Drn, WidthMultiplierScalesChannels) {
  const Architecture quarter("drn_d_22", 11, 0.25);
  EXPECT_EQ(quarter.slots()[*quarter.find_slot("base.0.0.weight")].shape, (std::vector<int64_t>{4, 3, 7, 7}));
  EXPECT_EQ(quarter.slots()[*quarter.find_slot("seg.weight")].shape, (std::vector<int64_t>{11, 128, 1, 1}));
  EXPECT_LT(quarter.learnable_params(), Architecture("drn_d_22", 11).learnable_params() / 10);
}

TEST(Drn, BadArchitectureIsAClearError) {
  EXPECT_THROW(Architecture("drn_d_23", 19), gearnn::Error);
  EXPECT_THROW(Architecture("drn_d_22", 0), gearnn::Error);
  EXPECT_THROW(Architecture("drn_d_22", 19, 0.0), gearnn::Error);
  try {
    Architecture("resnet50", 19);
    ADD_FAILURE() << "resnet50 was accepted";
  } catch (const gearnn::Error& e) {
    EXPECT_NE(std::string(e.what()).find("drn_d_22"), std::string::npos);
  }
}

TEST(Drn, ForwardKeepsSizeAndGivesLogProbabilities) {
  c10::InferenceMode guard;
  for (const char* name : {"drn_c_26", "drn_d_22", "drn_d_38"}) {
    const Architecture arch(name, 6, 0.125);
    const auto w = arch.initial_weights(7);
    const at::Tensor out = arch.forward(w, at::randn({2, 3, 48, 64}));
    ASSERT_EQ(out.sizes().vec(), (std::vector<int64_t>{2, 6, 48, 64})) << name;
    // log-softmax over classes: probabilities sum to one at every pixel
    EXPECT_TRUE(at::allclose(out.exp().sum(1), at::ones({2, 48, 64}), 1e-4, 1e-4)) << name;
  }
}

TEST(Drn, InitialWeightsAreDeterministicPerSeed) {
  const Architecture arch("drn_d_22", 4, 0.125);
  const auto a = arch.initial_weights(3), b = arch.initial_weights(3), c = arch.initial_weights(4);
  EXPECT_TRUE(at::equal(a[0], b[0]));
  EXPECT_FALSE(at::equal(a[0], c[0]));
  // the fixed bilinear filter peaks in its centre
  const at::Tensor up = a[*arch.find_slot("up.weight")][0][0];
  EXPECT_FLOAT_EQ(up.max().item<float>(), up[7][7].item<float>());
}
