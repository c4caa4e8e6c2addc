#pragma once
// JPEG quality from the quantisation tables alone (no libjpeg), so the
// GStreamer quality probe and the offline generators agree on the number.
#include <cstddef>
#include <cstdint>
#include <optional>

namespace gearnn {

// The IJG quality whose libjpeg-scaled standard luminance table best fits
// `luma_table` (natural row-major order). Exact integer for tables libjpeg
// made, baseline (clamped to 255) or not; a fractional estimate for tables
// that are scaled versions with other rounding; nullopt for tables that are
// not a scaled IJG table at all.
std::optional<double> estimate_jpeg_quality(const uint16_t luma_table[64]);

// Walks a JPEG's markers up to the first scan, takes the quantisation table
// of the first frame component (the luma) and estimates its quality. nullopt
// for data that is not a JPEG, is truncated, or lacks that table.
std::optional<double> jpeg_quality_of(const uint8_t* data, size_t size);

}  // namespace gearnn
