#pragma once
// Which level each frame of a stream runs: what is measured, how the H.264
// QP is aggregated, hysteresis, a fixed level, the inference interval. Built
// once when a stream starts, from the bundle's manifest and the settings;
// everything that depends only on them is decided then. Per frame it takes
// what was observed and returns the level and whether to infer. No GStreamer.
#include "distortion.h"
#include "manifest.h"
#include "measure/stream_quality.h"

#include <array>
#include <optional>
#include <string>

namespace gearnn {

enum class LevelSource { automatic, caps, qp, jpeg, brightness, fixed };

struct SelectorSettings {
  LevelSource source = LevelSource::automatic;
  std::string fixed_level;      // for LevelSource::fixed
  size_t qp_window = kDefaultQpWindow;
  double hysteresis = 0.2;      // see LevelMatcher::nearest
  double reference_luma = 0;    // 0: the luma of the bundle's normalisation mean
  unsigned interval = 1;        // infer every Nth frame
};

// What one frame offers; each field only where the stream provides it.
struct FrameObservation {
  std::optional<Resolution> resolution;
  std::optional<H264FrameQp> h264;
  std::optional<double> jpeg_quality;
  std::optional<double> mean_luma;
};

struct Selection {
  size_t level = 0;
  std::optional<size_t> previous;  // the level before, when `changed` (none on the first frame)
  bool changed = false;
  bool infer = true;               // false: reuse the last result (interval)
  Distortion measured;
  // Dimensions the selector uses that this frame lacked, reported once each per selector.
  std::array<bool, kDimensions.size()> newly_missing{};
};

class LevelSelector {
public:
  // Throws gearnn::Error for a fixed level the bundle does not have.
  LevelSelector(const Manifest& manifest, size_t default_level, const SelectorSettings& settings);

  // Whether frames should be measured along `d` (the source asks for it and
  // the bundle's levels describe it): measure nothing else.
  bool uses(Dimension d) const { return uses_[size_t(d)]; }
  // Set at construction when the settings make the selector measure nothing
  // the bundle describes (the default level then runs); empty otherwise.
  const std::string& warning() const { return warning_; }

  // Settings that may change while playing. An unknown fixed level is
  // refused (false) and the current one kept.
  bool set_fixed_level(const std::string& name);
  void set_source(LevelSource source);
  void set_qp_window(size_t frames) { qp_.set_size(frames); }
  void set_hysteresis(double hysteresis) { hysteresis_ = hysteresis; }
  void set_interval(unsigned interval) { interval_ = interval < 1 ? 1 : interval; }
  void set_reference_luma(double luma);

  // A new representation (caps change) or a flush: the QP history is
  // dropped, the next frame is inferred, and until a window of frames has
  // been measured each frame takes the nearest level (no hysteresis), so
  // that a representation's first I frame cannot lock a level in.
  void new_representation();

  // `can_reuse`: the caller holds a result for this frame size.
  Selection next(const FrameObservation& frame, bool can_reuse);
  std::optional<size_t> current() const { return current_; }

private:
  void decide_uses();

  Manifest manifest_;
  LevelMatcher matcher_;
  size_t default_level_;
  LevelSource source_;
  std::optional<size_t> fixed_;
  double hysteresis_;
  unsigned interval_;
  double reference_luma_, bundle_reference_luma_;
  std::array<bool, kDimensions.size()> uses_{}, warned_missing_{};
  std::string warning_;
  H264QualityWindow qp_;
  std::optional<size_t> current_;
  size_t frames_since_inference_ = 0, frames_in_representation_ = 0;
  bool force_inference_ = true;
};

}  // namespace gearnn
