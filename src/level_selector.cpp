#include "level_selector.h"

#include "error.h"

#include <algorithm>

namespace gearnn {
namespace {

bool source_measures(LevelSource source, Dimension d) {
  switch (source) {
    case LevelSource::automatic: return true;
    case LevelSource::caps: return d == Dimension::resolution;
    case LevelSource::qp: return d == Dimension::h264_qp;
    case LevelSource::jpeg: return d == Dimension::jpeg_quality;
    case LevelSource::brightness: return d == Dimension::brightness;
    case LevelSource::fixed: return false;
  }
  return false;
}

std::vector<Distortion> descriptors(const Manifest& m) {
  std::vector<Distortion> out;
  for (const LevelSpec& l : m.levels) out.push_back(l.distortion);
  return out;
}

std::optional<size_t> level_index(const Manifest& m, const std::string& name) {
  for (size_t i = 0; i < m.levels.size(); ++i)
    if (m.levels[i].name == name) return i;
  return std::nullopt;
}

}  // namespace

LevelSelector::LevelSelector(const Manifest& manifest, size_t default_level, const SelectorSettings& s)
    : manifest_(manifest),
      matcher_(descriptors(manifest)),
      default_level_(default_level),
      source_(s.source),
      hysteresis_(s.hysteresis),
      interval_(std::max(1u, s.interval)),
      bundle_reference_luma_(luma_of_mean(manifest.normalization.mean)),
      qp_(s.qp_window) {
  if (default_level_ >= manifest_.levels.size()) throw Error("level selector: default level out of range");
  set_reference_luma(s.reference_luma);
  if (source_ == LevelSource::fixed && !set_fixed_level(s.fixed_level)) {
    std::string known;
    for (const auto& l : manifest_.levels) known += (known.empty() ? "" : ", ") + l.name;
    throw Error("unknown level '" + s.fixed_level + "' (levels: " + known + ")");
  }
  decide_uses();
}

void LevelSelector::decide_uses() {
  const auto& dims = matcher_.dimensions();
  bool any = false;
  for (Dimension d : kDimensions) {
    uses_[size_t(d)] = source_measures(source_, d) && std::find(dims.begin(), dims.end(), d) != dims.end();
    any = any || uses_[size_t(d)];
  }
  warning_.clear();
  if (!any && source_ != LevelSource::fixed) {
    std::string described;
    for (Dimension d : dims) described += (described.empty() ? "" : ", ") + std::string(dimension_name(d));
    warning_ = "the bundle's levels describe " + (described.empty() ? std::string("nothing") : described) +
               ", none of which this level source measures; level " + manifest_.levels[default_level_].name +
               " runs";
  }
}

bool LevelSelector::set_fixed_level(const std::string& name) {
  const auto found = level_index(manifest_, name);
  if (found) fixed_ = found;
  return found.has_value();
}

void LevelSelector::set_source(LevelSource source) {
  if (source == source_) return;
  source_ = source;
  decide_uses();
}

void LevelSelector::set_reference_luma(double luma) {
  reference_luma_ = luma > 0 ? luma : bundle_reference_luma_;
}

void LevelSelector::new_representation() {
  qp_.clear();
  frames_in_representation_ = 0;
  force_inference_ = true;
}

Selection LevelSelector::next(const FrameObservation& frame, bool can_reuse) {
  Selection out;
  if (uses(Dimension::resolution)) out.measured.resolution = frame.resolution;
  if (uses(Dimension::h264_qp)) {
    if (frame.h264) qp_.push(*frame.h264);
    out.measured.h264_qp = qp_.value();
  }
  if (uses(Dimension::jpeg_quality)) out.measured.jpeg_quality = frame.jpeg_quality;
  if (uses(Dimension::brightness) && frame.mean_luma)
    out.measured.brightness = relative_brightness(*frame.mean_luma, reference_luma_);
  for (Dimension d : kDimensions) {
    const size_t i = size_t(d);
    if (uses_[i] && !out.measured.has(d) && !warned_missing_[i]) out.newly_missing[i] = warned_missing_[i] = true;
  }
  ++frames_in_representation_;

  out.infer = force_inference_ || !can_reuse || !current_ || frames_since_inference_ + 1 >= interval_;
  if (!out.infer) {
    ++frames_since_inference_;
    out.level = *current_;
    return out;
  }
  force_inference_ = false;
  frames_since_inference_ = 0;

  size_t level;
  if (source_ == LevelSource::fixed) {
    level = fixed_.value_or(current_.value_or(default_level_));
  } else {
    // Hysteresis only once there is a level to hold and the QP window has
    // filled since the representation began.
    const bool settled = current_ && (!uses(Dimension::h264_qp) || frames_in_representation_ >= qp_.size());
    level = matcher_.nearest(out.measured, current_.value_or(default_level_), settled ? hysteresis_ : 0.0);
  }
  out.level = level;
  out.changed = !current_ || *current_ != level;
  if (out.changed) out.previous = current_;
  current_ = level;
  return out;
}

}  // namespace gearnn
