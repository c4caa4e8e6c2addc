#pragma once
// The analytics-aware ABR hint: of the representations a stream has played,
// the cheapest whose level's expected mIoU (gearnn eval --write-expected)
// meets a target, so that a player can cap its bitrate there. A
// representation is a frame size (an ABR ladder has one per rung), judged by
// the level it ran last; "cheapest" is the fewest pixels. When none meets the
// target the hint is the one of highest expected mIoU, marked as missing it.
// No GStreamer; the element calls observe() once per frame, and only a new
// (size, level) pair costs more than a comparison.
#include "manifest.h"

#include <optional>
#include <vector>

namespace gearnn {

struct AbrHint {
  int width = 0, height = 0;
  size_t level = 0;         // the level that representation ran last
  double expected_miou = 0;
  bool meets_target = false;
  bool operator==(const AbrHint& o) const {
    return width == o.width && height == o.height && level == o.level && meets_target == o.meets_target;
  }
};

class AbrHintTracker {
public:
  // `levels` must outlive the tracker (the bundle's manifest).
  explicit AbrHintTracker(const std::vector<LevelSpec>& levels) : levels_(&levels) {}

  // 0 turns the hint off. True when that changed the hint.
  bool set_target(double miou);
  double target() const { return target_; }
  // Whether any level records an expected mIoU (without one there is no hint).
  bool has_expectations() const;

  // A frame of this size ran `level`. True when that changed the hint.
  bool observe(int width, int height, size_t level);
  const std::optional<AbrHint>& current() const { return hint_; }
  void clear();

private:
  struct Seen {
    int width, height;
    size_t level;
  };
  std::optional<AbrHint> compute() const;
  bool update();

  const std::vector<LevelSpec>* levels_;
  std::vector<Seen> seen_;  // one per frame size, with its latest level
  double target_ = 0;
  std::optional<AbrHint> hint_;
};

}  // namespace gearnn
