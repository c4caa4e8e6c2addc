// The ABR hint: the cheapest representation played so far whose level's
// expected mIoU meets the target, on hand-made ladders.
#include "abr_hint.h"

#include <gtest/gtest.h>

using namespace gearnn;

namespace {

LevelSpec level(const char* name, int w, int h, double qp, std::optional<double> miou) {
  LevelSpec l;
  l.name = name;
  l.distortion.resolution = Resolution{w, h};
  l.distortion.h264_qp = qp;
  if (miou) {
    ExpectedAccuracy e;
    e.miou = *miou;
    l.expected = e;
  }
  return l;
}

// 0: 480x360 QP 22 (60), 1: 480x360 QP 38 (52), 2: 320x240 QP 30 (55), 3: 240x180 QP 38 (45).
std::vector<LevelSpec> ladder() {
  return {level("big-good", 480, 360, 22, 60), level("big-bad", 480, 360, 38, 52),
          level("mid", 320, 240, 30, 55), level("small", 240, 180, 38, 45)};
}

}  // namespace

TEST(AbrHint, CheapestRepresentationThatMeetsTheTarget) {
  const auto levels = ladder();
  AbrHintTracker t(levels);
  EXPECT_TRUE(t.has_expectations());
  EXPECT_FALSE(t.observe(480, 360, 0)) << "no target: no hint";
  EXPECT_FALSE(t.current());
  ASSERT_TRUE(t.set_target(50));
  ASSERT_TRUE(t.current());
  EXPECT_EQ(t.current()->width, 480);
  EXPECT_TRUE(t.current()->meets_target);

  // A smaller representation that still meets the target takes the hint.
  EXPECT_TRUE(t.observe(320, 240, 2));
  EXPECT_EQ(t.current()->width, 320);
  EXPECT_DOUBLE_EQ(t.current()->expected_miou, 55);
  // One that does not leaves it.
  EXPECT_FALSE(t.observe(240, 180, 3));
  EXPECT_EQ(t.current()->width, 320);
  // The same frame size again on the same level changes nothing.
  EXPECT_FALSE(t.observe(320, 240, 2));

  // A stricter target: only the 480x360 representation meets it.
  EXPECT_TRUE(t.set_target(58));
  EXPECT_EQ(t.current()->width, 480);
  EXPECT_EQ(t.current()->level, 0u);
  // That representation now runs its coarse level (52): nothing meets 58, so
  // the hint is the best seen, marked as missing the target.
  EXPECT_TRUE(t.observe(480, 360, 1));
  EXPECT_FALSE(t.current()->meets_target);
  EXPECT_EQ(t.current()->width, 320);  // 55 is the best expected mIoU now
  // Off.
  EXPECT_TRUE(t.set_target(0));
  EXPECT_FALSE(t.current());
}

TEST(AbrHint, ARepresentationCountsWithItsLatestLevelAndClearForgets) {
  std::vector<LevelSpec> levels = {level("a-fine", 320, 240, 22, 56), level("a-coarse", 320, 240, 38, 54),
                                   level("b", 480, 360, 38, 57)};
  AbrHintTracker t(levels);
  t.set_target(50);
  t.observe(480, 360, 2);
  t.observe(320, 240, 0);
  EXPECT_EQ(t.current()->width, 320);
  EXPECT_EQ(t.current()->level, 0u);
  EXPECT_TRUE(t.observe(320, 240, 1)) << "the representation now runs its coarser level";
  EXPECT_EQ(t.current()->level, 1u);
  EXPECT_DOUBLE_EQ(t.current()->expected_miou, 54);
  t.set_target(55);
  EXPECT_EQ(t.current()->width, 480) << "at 54 the 320x240 representation no longer meets 55";
  t.clear();
  EXPECT_FALSE(t.current());
  EXPECT_TRUE(t.observe(480, 360, 2));
  EXPECT_EQ(t.current()->width, 480);
}

TEST(AbrHint, NoExpectationsNoHint) {
  std::vector<LevelSpec> levels = {level("a", 320, 240, 22, std::nullopt), level("b", 480, 360, 38, std::nullopt)};
  AbrHintTracker t(levels);
  EXPECT_FALSE(t.has_expectations());
  t.set_target(40);
  t.observe(320, 240, 0);
  t.observe(480, 360, 1);
  EXPECT_FALSE(t.current());
}
