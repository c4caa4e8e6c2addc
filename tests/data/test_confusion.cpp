// Confusion matrices and mIoU as fyu/drn computes them.
#include "error.h"
#include "eval/confusion.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace gearnn;

TEST(Confusion, HandComputedMiouExcludesAbsentClasses) {
  // Class 2 is in neither the ground truth nor the (counted) prediction: the
  // prediction 2 falls on a void pixel.
  const ClassMap label{3, 2, {0, 0, 0, 1, 1, 255}};
  const ClassMap pred{3, 2, {0, 0, 1, 1, 0, 2}};
  ConfusionMatrix m(3);
  m.add(pred, label);
  EXPECT_EQ(m.at(0, 0), 2);
  EXPECT_EQ(m.at(0, 1), 1);
  EXPECT_EQ(m.at(1, 0), 1);
  EXPECT_EQ(m.at(1, 1), 1);
  EXPECT_EQ(m.total(), 5);
  const auto iou = m.per_class_iou();
  ASSERT_EQ(iou.size(), 3u);
  EXPECT_DOUBLE_EQ(iou[0], 2.0 / (3 + 3 - 2));  // 0.5
  EXPECT_DOUBLE_EQ(iou[1], 1.0 / (2 + 2 - 1));  // 1/3
  EXPECT_TRUE(std::isnan(iou[2]));
  EXPECT_NEAR(m.miou(), 100.0 * (0.5 + 1.0 / 3) / 2, 1e-12);  // 41.667, not 27.8
  EXPECT_DOUBLE_EQ(m.pixel_accuracy(), 60.0);
}

TEST(Confusion, ClassOnlyPredictedCountsAsZero) {
  ConfusionMatrix m(3);
  const uint8_t label[] = {0, 0, 1, 1};
  const uint8_t pred[] = {0, 2, 1, 1};
  m.add(pred, label, 4);
  const auto iou = m.per_class_iou();
  EXPECT_DOUBLE_EQ(iou[0], 0.5);
  EXPECT_DOUBLE_EQ(iou[1], 1.0);
  EXPECT_DOUBLE_EQ(iou[2], 0.0);
  EXPECT_DOUBLE_EQ(m.miou(), 50.0);
}

TEST(Confusion, HalfResolutionPredictionScoredAtLabelSize) {
  // 4x4 label; the 2x2 prediction is upsampled by repeating each pixel.
  const ClassMap label{4, 4, {0, 0, 1, 1,
                              0, 0, 1, 1,
                              2, 2, 1, 255,
                              2, 0, 1, 1}};
  const ClassMap pred{2, 2, {0, 1,
                             2, 1}};
  ConfusionMatrix m(3);
  m.add(pred, label);
  EXPECT_EQ(m.total(), 15);       // 16 pixels, one void
  EXPECT_EQ(m.at(0, 0), 4);
  EXPECT_EQ(m.at(1, 1), 7);
  EXPECT_EQ(m.at(2, 2), 3);
  EXPECT_EQ(m.at(0, 2), 1);       // bottom-left block predicted 2 over a 0
  EXPECT_DOUBLE_EQ(m.per_class_iou()[2], 3.0 / 4);
  EXPECT_NEAR(m.miou(), 100.0 * (4.0 / 5 + 1.0 + 3.0 / 4) / 3, 1e-12);

  ConfusionMatrix same(3);
  same.add(resize_nearest(pred, 4, 4), label);
  EXPECT_EQ(same.counts(), m.counts());
}

TEST(Confusion, MergeAndErrors) {
  ConfusionMatrix a(2), b(2);
  const uint8_t l1[] = {0, 1}, p1[] = {0, 0};
  const uint8_t l2[] = {1, 1}, p2[] = {1, 1};
  a.add(p1, l1, 2);
  b.add(p2, l2, 2);
  a.merge(b);
  EXPECT_EQ(a.at(0, 0), 1);
  EXPECT_EQ(a.at(1, 0), 1);
  EXPECT_EQ(a.at(1, 1), 2);
  EXPECT_DOUBLE_EQ(a.miou(), 100.0 * (0.5 + 2.0 / 3) / 2);

  EXPECT_THROW(a.merge(ConfusionMatrix(3)), Error);
  const uint8_t bad[] = {5};
  const uint8_t zero[] = {0};
  EXPECT_THROW(a.add(bad, zero, 1), Error);
  EXPECT_THROW(ConfusionMatrix(0), Error);

  ConfusionMatrix empty(4);
  EXPECT_TRUE(std::isnan(empty.miou()));
  EXPECT_TRUE(std::isnan(empty.pixel_accuracy()));
}
