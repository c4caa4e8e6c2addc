// The level selector on synthetic measurement sequences: I/P/B patterns,
// representation switches, values hovering between levels, fixed levels
// changed while playing, the interval, and the checks made at start.
#include "error.h"
#include "level_selector.h"

#include <gtest/gtest.h>

using namespace gearnn;

namespace {

// An ABR ladder: 2 resolutions x 2 qualities, described by resolution and QP.
Manifest ladder() {
  Manifest m;
  auto level = [](const char* name, int w, int h, double qp) {
    LevelSpec l;
    l.name = name;
    l.distortion.resolution = Resolution{w, h};
    l.distortion.h264_qp = qp;
    return l;
  };
  m.levels = {level("big-good", 480, 360, 26), level("big-bad", 480, 360, 38), level("small-good", 240, 180, 26),
              level("small-bad", 240, 180, 38)};
  return m;
}

H264FrameQp frame(H264FrameType t, double qp) {
  H264FrameQp f;
  f.type = t;
  f.qp = qp;
  return f;
}

// A GOP as x264 lays it out (display order), every frame at the P-equivalent `qp`.
std::vector<H264FrameQp> gop(double qp, int length = 30) {
  std::vector<H264FrameQp> out;
  for (int i = 0; i < length; ++i) {
    if (i == 0) out.push_back(frame(H264FrameType::I, qp - kIFrameQpOffset));
    else if (i % 4 == 0) out.push_back(frame(H264FrameType::P, qp));
    else out.push_back(frame(H264FrameType::B, qp + kBFrameQpOffset));
  }
  return out;
}

FrameObservation seen(int w, int h, const H264FrameQp& f) {
  FrameObservation o;
  o.resolution = Resolution{w, h};
  o.h264 = f;
  return o;
}

struct Played {
  std::vector<size_t> levels;
  int switches = 0;
};

Played play(LevelSelector& s, int w, int h, const std::vector<H264FrameQp>& frames) {
  Played r;
  for (const H264FrameQp& f : frames) {
    const Selection sel = s.next(seen(w, h, f), true);
    r.levels.push_back(sel.level);
    r.switches += sel.changed && sel.previous ? 1 : 0;
  }
  return r;
}

}  // namespace

TEST(LevelSelector, IPBPatternsStayOnOneLevel) {
  LevelSelector s(ladder(), 0, {});
  // P-equivalent QP 35: nearer 38 than 26, while raw B frames (37.3) and I frames (32.1) differ by design.
  const Played r = play(s, 480, 360, gop(35, 90));
  EXPECT_EQ(r.switches, 0);
  for (size_t l : r.levels) EXPECT_EQ(l, 1u);
}

TEST(LevelSelector, ARepresentationsFirstIFrameDoesNotLockItsLevel) {
  SelectorSettings settings;
  settings.hysteresis = 0.45;  // strong hysteresis: a locked-in level would stay
  LevelSelector s(ladder(), 0, settings);
  play(s, 480, 360, gop(26, 60));
  ASSERT_EQ(s.current(), 0u);
  // New representation: 240x180 at P-equivalent QP 37, whose I frame sits far lower (a strong mbtree I frame at 27).
  s.new_representation();
  std::vector<H264FrameQp> frames = gop(37, 60);
  frames[0] = frame(H264FrameType::I, 27);
  const Played r = play(s, 240, 180, frames);
  EXPECT_EQ(r.levels.front(), 2u) << "the first frame goes to the new resolution";
  EXPECT_EQ(r.levels.back(), 3u) << "the P and B frames replace the I frame's estimate";
  EXPECT_LE(r.switches, 2);
  for (size_t i = 8; i < r.levels.size(); ++i) EXPECT_EQ(r.levels[i], 3u) << "frame " << i;
}

TEST(LevelSelector, WithoutANewRepresentationHysteresisHolds) {
  SelectorSettings settings;
  settings.hysteresis = 0.45;
  LevelSelector s(ladder(), 0, settings);
  play(s, 480, 360, gop(26, 60));
  // Same caps, QP drifting to 31, short of the midpoint (32): stays.
  EXPECT_EQ(play(s, 480, 360, gop(31, 60)).switches, 0);
  // 35 is nearer 38 by 6 points of a 12-point gap, over 0.45 x 12 = 5.4: switches once.
  const Played r = play(s, 480, 360, gop(35, 60));
  EXPECT_EQ(r.switches, 1);
  EXPECT_EQ(r.levels.back(), 1u);
}

TEST(LevelSelector, HoveringBetweenTwoLevelsDoesNotFlip) {
  std::vector<H264FrameQp> hovering;
  for (int i = 0; i < 200; ++i) hovering.push_back(frame(H264FrameType::P, i % 2 ? 32.8 : 31.2));
  SelectorSettings flat;
  flat.hysteresis = 0;
  flat.qp_window = 1;
  LevelSelector without(ladder(), 0, flat);
  EXPECT_GT(play(without, 480, 360, hovering).switches, 50) << "the sequence must hover across the midpoint";
  SelectorSettings held = flat;
  held.hysteresis = 0.2;
  LevelSelector with(ladder(), 0, held);
  EXPECT_EQ(play(with, 480, 360, hovering).switches, 0);
}

TEST(LevelSelector, FixedLevelChangesWhilePlaying) {
  SelectorSettings settings;
  settings.source = LevelSource::fixed;
  settings.fixed_level = "small-bad";
  LevelSelector s(ladder(), 0, settings);
  EXPECT_FALSE(s.uses(Dimension::h264_qp));
  EXPECT_EQ(s.next(seen(480, 360, frame(H264FrameType::P, 26)), false).level, 3u);
  EXPECT_TRUE(s.set_fixed_level("big-good"));
  const Selection sel = s.next(seen(480, 360, frame(H264FrameType::P, 38)), true);
  EXPECT_EQ(sel.level, 0u);
  EXPECT_TRUE(sel.changed);
  EXPECT_EQ(sel.previous, 3u);
  EXPECT_FALSE(s.set_fixed_level("nope"));
  EXPECT_EQ(s.next(seen(480, 360, frame(H264FrameType::P, 38)), true).level, 0u);
}

TEST(LevelSelector, StartChecks) {
  SelectorSettings unknown;
  unknown.source = LevelSource::fixed;
  unknown.fixed_level = "q50";
  try {
    LevelSelector s(ladder(), 0, unknown);
    FAIL() << "an unknown fixed level must be refused";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("q50"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("big-good"), std::string::npos) << "lists the levels: " << e.what();
  }
  SelectorSettings jpeg;
  jpeg.source = LevelSource::jpeg;
  LevelSelector s(ladder(), 2, jpeg);
  EXPECT_NE(s.warning().find("small-good"), std::string::npos) << s.warning();
  for (Dimension d : kDimensions) EXPECT_FALSE(s.uses(d));
  EXPECT_EQ(s.next(seen(480, 360, frame(H264FrameType::P, 38)), false).level, 2u);
  SelectorSettings qp;
  qp.source = LevelSource::qp;
  LevelSelector qp_only(ladder(), 0, qp);
  EXPECT_TRUE(qp_only.warning().empty());
  EXPECT_TRUE(qp_only.uses(Dimension::h264_qp));
  EXPECT_FALSE(qp_only.uses(Dimension::resolution));
}

TEST(LevelSelector, IntervalAndNewRepresentations) {
  SelectorSettings settings;
  settings.interval = 3;
  LevelSelector s(ladder(), 0, settings);
  std::vector<bool> inferred;
  for (int i = 0; i < 7; ++i) inferred.push_back(s.next(seen(480, 360, frame(H264FrameType::P, 26)), true).infer);
  EXPECT_EQ(inferred, (std::vector<bool>{true, false, false, true, false, false, true}));
  s.new_representation();
  EXPECT_TRUE(s.next(seen(240, 180, frame(H264FrameType::P, 26)), true).infer);
  EXPECT_TRUE(s.next(seen(240, 180, frame(H264FrameType::P, 26)), false).infer) << "nothing to reuse";
}

TEST(LevelSelector, MissingDimensionsAreReportedOnce) {
  LevelSelector s(ladder(), 0, {});
  FrameObservation no_qp;
  no_qp.resolution = Resolution{240, 180};
  const Selection first = s.next(no_qp, false);
  EXPECT_TRUE(first.newly_missing[size_t(Dimension::h264_qp)]);
  EXPECT_FALSE(first.newly_missing[size_t(Dimension::resolution)]);
  EXPECT_EQ(first.level, 2u) << "matched on the resolution alone (ties go to the earlier level)";
  EXPECT_FALSE(s.next(no_qp, false).newly_missing[size_t(Dimension::h264_qp)]);
}

TEST(LevelSelector, BrightnessAgainstTheReferenceLuma) {
  Manifest m;
  for (double b : {0.25, 1.0}) {
    LevelSpec l;
    l.name = "b" + std::to_string(b);
    l.distortion.brightness = b;
    m.levels.push_back(l);
  }
  m.normalization.mean = {0.4f, 0.4f, 0.4f};  // luma 102
  LevelSelector s(m, 1, {});
  FrameObservation dark;
  dark.mean_luma = 30;
  const Selection sel = s.next(dark, false);
  EXPECT_NEAR(*sel.measured.brightness, 30 / 102.0, 1e-4);
  EXPECT_EQ(sel.level, 0u);
  s.set_reference_luma(30);
  EXPECT_EQ(s.next(dark, false).level, 1u);
}
