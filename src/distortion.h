#pragma once
// Distortion descriptors and nearest-level matching. A descriptor holds any of
// four dimensions: resolution (from caps), H.264 mean QP (from the bitstream),
// JPEG quality (from the quantisation tables) and brightness (a factor, 1 =
// unchanged). A bundle's levels are described by them; so is what the runtime
// measures on a frame.
#include <array>
#include <optional>
#include <string>
#include <vector>

namespace gearnn {

enum class Dimension { resolution, h264_qp, jpeg_quality, brightness };
constexpr std::array<Dimension, 4> kDimensions = {Dimension::resolution, Dimension::h264_qp,
                                                  Dimension::jpeg_quality, Dimension::brightness};
const char* dimension_name(Dimension d);  // "resolution", "h264_qp", "jpeg_quality", "brightness"

struct Resolution {
  int width = 0, height = 0;
};

struct Distortion {
  std::optional<Resolution> resolution;
  std::optional<double> h264_qp;
  std::optional<double> jpeg_quality;  // IJG quality 1..100
  std::optional<double> brightness;    // pixel x factor, 1 = unchanged

  bool has(Dimension d) const { return value(d).has_value(); }
  // The scalar matched on; a resolution counts as sqrt(width x height).
  std::optional<double> value(Dimension d) const;
  std::string describe() const;  // "480x360 qp=27.5"; "none" when empty
};

// Finds the level nearest to a measurement. Each dimension is scaled by the
// spread of the levels along it, so that QP steps and resolution steps weigh
// alike; a dimension the measurement lacks is left out, and a measurement
// beyond the levels' range lands on the nearest end.
class LevelMatcher {
public:
  explicit LevelMatcher(std::vector<Distortion> levels);

  // Dimensions that at least one level defines.
  const std::vector<Dimension>& dimensions() const { return dimensions_; }
  // Index of the nearest level; ties go to the earlier level. With no
  // dimension in common, `current`. With a `hysteresis`, `current` is kept
  // while it is almost as near: a switch needs the measurement nearer the new
  // level by more than `hysteresis` times the distance between the two levels
  // (0.2 = past the midpoint by a tenth of the gap), so that a measurement
  // hovering between two levels (QP noise, flicker) does not flip the adaptor
  // every frame.
  size_t nearest(const Distortion& measured, size_t current = 0, double hysteresis = 0) const;

private:
  std::optional<double> distance(const Distortion& a, const Distortion& b, const Distortion& over) const;

  std::vector<Distortion> levels_;
  std::vector<Dimension> dimensions_;
  std::array<double, 4> scale_{1, 1, 1, 1};
};

}  // namespace gearnn
