#include "distort/jpeg_quality.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

namespace gearnn {
namespace {

// ITU-T T.81 Annex K.1, the table libjpeg scales, in natural order.
constexpr uint16_t kStandardLuma[64] = {
    16, 11, 10, 16, 24,  40,  51,  61,  12, 12, 14, 19, 26,  58,  60,  55,
    14, 13, 16, 24, 40,  57,  69,  56,  14, 17, 22, 29, 51,  87,  80,  62,
    18, 22, 37, 56, 68,  109, 103, 77,  24, 35, 55, 64, 81,  104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99};

// Position in natural order of the k-th coefficient in zig-zag (stream) order.
constexpr uint8_t kZigZagToNatural[64] = {
    0,  1,  8,  16, 9,  2,  3,  10, 17, 24, 32, 25, 18, 11, 4,  5,  12, 19, 26, 33, 40, 48,
    41, 34, 27, 20, 13, 6,  7,  14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23,
    30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63};

// libjpeg's jpeg_quality_scaling and jpeg_add_quant_table, in its integer arithmetic.
int ijg_scale(int quality) { return quality < 50 ? 5000 / quality : 200 - quality * 2; }

uint16_t ijg_entry(uint16_t base, long scale, long limit) {
  return uint16_t(std::clamp((long(base) * scale + 50L) / 100L, 1L, limit));
}

// The same curve for a fractional quality, without integer rounding.
double scaled_entry(uint16_t base, double quality, double limit) {
  const double scale = quality < 50 ? 5000.0 / quality : 200.0 - quality * 2;
  return std::clamp(base * scale / 100.0, 1.0, limit);
}

// Tables further than this (mean |log ratio| per entry) from every scaled
// IJG table are someone else's tables; 0.1 tolerates rounding and tweaks.
constexpr double kMaxMeanLogError = 0.1;

}  // namespace

std::optional<double> estimate_jpeg_quality(const uint16_t luma_table[64]) {
  if (std::any_of(luma_table, luma_table + 64, [](uint16_t v) { return v == 0; })) return std::nullopt;
  const bool baseline = std::all_of(luma_table, luma_table + 64, [](uint16_t v) { return v <= 255; });
  for (int q = 1; q <= 100; ++q) {
    const int scale = ijg_scale(q);
    bool exact = true;
    for (int i = 0; i < 64 && exact; ++i)
      exact = luma_table[i] == ijg_entry(kStandardLuma[i], scale, baseline ? 255 : 32767);
    if (exact) return q;
  }
  const double limit = baseline ? 255.0 : 32767.0;
  double best_q = 0, best_error = std::numeric_limits<double>::infinity();
  for (int step = 0; step <= 1980; ++step) {  // qualities 1.00 .. 100.00 in steps of 0.05
    const double q = 1.0 + step * 0.05;
    double error = 0;
    for (int i = 0; i < 64; ++i) error += std::abs(std::log(luma_table[i] / scaled_entry(kStandardLuma[i], q, limit)));
    if (error < best_error) {
      best_error = error;
      best_q = q;
    }
  }
  if (best_error / 64 > kMaxMeanLogError) return std::nullopt;
  return best_q;
}

std::optional<double> jpeg_quality_of(const uint8_t* data, size_t size) {
  if (!data || size < 4 || data[0] != 0xFF || data[1] != 0xD8) return std::nullopt;
  std::array<std::optional<std::array<uint16_t, 64>>, 4> tables;
  int luma_slot = -1;  // table of the first frame component, once a SOF names it
  size_t pos = 2;
  for (;;) {
    // A marker is 0xFF, maybe more 0xFF fill bytes, then its code.
    if (pos >= size || data[pos] != 0xFF) return std::nullopt;
    while (pos < size && data[pos] == 0xFF) ++pos;
    if (pos >= size) return std::nullopt;
    const uint8_t code = data[pos++];
    if (code == 0x01 || (code >= 0xD0 && code <= 0xD7)) continue;  // no length field
    if (code == 0xD9) break;                                       // EOI before any scan
    if (pos + 2 > size) return std::nullopt;
    const size_t length = size_t(data[pos]) << 8 | data[pos + 1];
    if (length < 2 || pos + length > size) return std::nullopt;
    const uint8_t* body = data + pos + 2;
    const size_t body_size = length - 2;
    pos += length;

    if (code == 0xDB) {  // DQT: one or more tables
      size_t at = 0;
      while (at < body_size) {
        const int precision = body[at] >> 4, slot = body[at] & 0x0F;
        const size_t bytes = precision == 0 ? 64 : 128;
        if (precision > 1 || slot > 3 || at + 1 + bytes > body_size) return std::nullopt;
        std::array<uint16_t, 64> natural{};
        for (int k = 0; k < 64; ++k) {
          const uint8_t* v = body + at + 1 + (precision == 0 ? k : 2 * k);
          natural[kZigZagToNatural[k]] = precision == 0 ? v[0] : uint16_t(v[0] << 8 | v[1]);
        }
        tables[size_t(slot)] = natural;
        at += 1 + bytes;
      }
    } else if (code >= 0xC0 && code <= 0xCF && code != 0xC4 && code != 0xC8 && code != 0xCC) {
      // SOFn: precision, height, width, component count, then 3 bytes a component.
      if (body_size < 9 || body[5] == 0) return std::nullopt;
      luma_slot = body[8] & 0x0F;
      if (luma_slot > 3) return std::nullopt;
    } else if (code == 0xDA) {  // SOS: the tables of the first scan are all known now
      break;
    }
  }
  const int slot = luma_slot < 0 ? 0 : luma_slot;
  if (!tables[size_t(slot)]) return std::nullopt;
  return estimate_jpeg_quality(tables[size_t(slot)]->data());
}

}  // namespace gearnn
