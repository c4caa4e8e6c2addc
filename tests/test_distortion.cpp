#include "distortion.h"

#include <gtest/gtest.h>

using gearnn::Distortion;
using gearnn::LevelMatcher;
using gearnn::Resolution;

namespace {

Distortion abr(int w, int h, double qp) {
  Distortion d;
  d.resolution = Resolution{w, h};
  d.h264_qp = qp;
  return d;
}

Distortion jpeg(double q) {
  Distortion d;
  d.jpeg_quality = q;
  return d;
}

}  // namespace

TEST(Distortion, NearestOnOneDimensionAndBeyondTheRange) {
  std::vector<Distortion> levels;
  for (int q = 10; q <= 100; q += 10) levels.push_back(jpeg(q));
  const LevelMatcher m(levels);
  EXPECT_EQ(m.nearest(jpeg(10)), 0u);
  EXPECT_EQ(m.nearest(jpeg(34)), 2u);
  EXPECT_EQ(m.nearest(jpeg(36)), 3u);
  EXPECT_EQ(m.nearest(jpeg(1)), 0u);    // below the trained range: nearest end
  EXPECT_EQ(m.nearest(jpeg(100)), 9u);
  EXPECT_EQ(m.nearest(jpeg(150)), 9u);  // above it
}

TEST(Distortion, DimensionsAreScaledByTheirSpread) {
  // Unscaled, pixels dwarf QP and the 240x180 level would win; scaled by each
  // dimension's spread, the small QP gap decides for 480x360.
  const LevelMatcher m({abr(480, 360, 20), abr(240, 180, 40)});
  EXPECT_EQ(m.nearest(abr(300, 225, 22)), 0u);
  EXPECT_EQ(m.nearest(abr(300, 225, 38)), 1u);
}

TEST(Distortion, LadderOfResolutionAndQuality) {
  std::vector<Distortion> levels;
  for (auto [w, h] : {std::pair{480, 360}, std::pair{320, 240}, std::pair{240, 180}})
    for (double qp : {22.0, 30.0, 38.0}) levels.push_back(abr(w, h, qp));
  const LevelMatcher m(levels);
  EXPECT_EQ(m.dimensions().size(), 2u);
  EXPECT_EQ(m.nearest(abr(320, 240, 31)), 4u);
  EXPECT_EQ(m.nearest(abr(1920, 1080, 10)), 0u);
  EXPECT_EQ(m.nearest(abr(100, 80, 51)), 8u);
}

TEST(Distortion, MissingMeasurementFallsBackToTheOtherDimensions) {
  const LevelMatcher m({abr(480, 360, 22), abr(480, 360, 38), abr(240, 180, 22)});
  Distortion only_size;
  only_size.resolution = Resolution{240, 180};
  EXPECT_EQ(m.nearest(only_size), 2u);
  Distortion nothing;
  EXPECT_EQ(m.nearest(nothing, 1), 1u);  // nothing in common: the fallback
  EXPECT_EQ(m.nearest(jpeg(50), 1), 1u);
}

TEST(Distortion, SingleLevel) {
  const LevelMatcher m({jpeg(80)});
  EXPECT_EQ(m.nearest(jpeg(5)), 0u);
  EXPECT_EQ(m.nearest(jpeg(99)), 0u);
}

TEST(Distortion, Describe) {
  EXPECT_EQ(abr(320, 240, 27.5).describe(), "320x240 qp=27.5");
  EXPECT_EQ(Distortion().describe(), "none");
  EXPECT_DOUBLE_EQ(*abr(400, 100, 1).value(gearnn::Dimension::resolution), 200.0);
}

TEST(Distortion, HysteresisHoldsALevelNearTheMidpoint) {
  // The demo's case: a 480x360 stream whose mean QP hovers between two levels.
  const LevelMatcher m({abr(480, 360, 34), abr(480, 360, 44), abr(240, 180, 44)});
  EXPECT_EQ(m.nearest(abr(480, 360, 39.5), 0, 0.2), 0u);  // past the midpoint by 0.5 QP: stays
  EXPECT_EQ(m.nearest(abr(480, 360, 38.5), 1, 0.2), 1u);
  EXPECT_EQ(m.nearest(abr(480, 360, 40.5), 0, 0.2), 1u);  // by 1.5 QP (more than a tenth of 10): switches
  EXPECT_EQ(m.nearest(abr(480, 360, 39.5), 0, 0.0), 1u);  // no hysteresis: the nearest
  EXPECT_EQ(m.nearest(abr(240, 180, 44), 0, 0.2), 2u);    // a measurement on a level always reaches it
  EXPECT_EQ(m.nearest(abr(480, 360, 34), 2, 0.9), 0u);
  EXPECT_EQ(m.nearest(abr(480, 360, 39.5), 7, 0.2), 1u);  // no valid current level: the nearest
  std::vector<Distortion> levels;
  for (int q = 10; q <= 100; q += 10) levels.push_back(jpeg(q));
  const LevelMatcher j(levels);
  EXPECT_EQ(j.nearest(jpeg(31), 3, 0.2), 2u);  // the gap is the two levels', not the whole range
  EXPECT_EQ(j.nearest(jpeg(34.5), 3, 0.2), 3u);
}
