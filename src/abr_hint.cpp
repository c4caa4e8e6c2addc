#include "abr_hint.h"

#include <cstdint>

namespace gearnn {

bool AbrHintTracker::has_expectations() const {
  for (const LevelSpec& l : *levels_)
    if (l.expected) return true;
  return false;
}

bool AbrHintTracker::set_target(double miou) {
  target_ = miou > 0 ? miou : 0;
  return update();
}

bool AbrHintTracker::observe(int width, int height, size_t level) {
  for (Seen& s : seen_)
    if (s.width == width && s.height == height) {
      if (s.level == level) return false;
      s.level = level;
      return update();
    }
  seen_.push_back({width, height, level});
  return update();
}

void AbrHintTracker::clear() {
  seen_.clear();
  hint_.reset();
}

std::optional<AbrHint> AbrHintTracker::compute() const {
  if (target_ <= 0) return std::nullopt;
  const auto cost = [](const Seen& s) { return int64_t(s.width) * s.height; };
  const Seen* cheapest = nullptr;
  const Seen* best = nullptr;
  for (const Seen& s : seen_) {
    const auto& e = (*levels_)[s.level].expected;
    if (!e) continue;
    if (!best || e->miou > (*levels_)[best->level].expected->miou) best = &s;
    if (e->miou >= target_ && (!cheapest || cost(s) < cost(*cheapest))) cheapest = &s;
  }
  const Seen* chosen = cheapest ? cheapest : best;
  if (!chosen) return std::nullopt;
  return AbrHint{chosen->width, chosen->height, chosen->level, (*levels_)[chosen->level].expected->miou,
                 cheapest != nullptr};
}

bool AbrHintTracker::update() {
  std::optional<AbrHint> next = compute();
  if (next == hint_) return false;
  hint_ = next;
  return true;
}

}  // namespace gearnn
