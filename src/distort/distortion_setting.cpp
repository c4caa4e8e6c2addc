#include "distort/distortion_setting.h"

#include "error.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace gearnn {
namespace {

constexpr int kMaxSide = 16384;

std::string trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

// Shortest decimal form that reads back as the same double.
std::string format_number(double v) {
  char buf[40];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

std::string size_text(const Resolution& r) { return std::to_string(r.width) + "x" + std::to_string(r.height); }

class Parser {
public:
  explicit Parser(const std::string& whole) : whole_(whole) {}

  [[noreturn]] void fail(const std::string& problem) const {
    throw Error("distortion setting '" + whole_ + "': " + problem);
  }

  bool parse_int(const std::string& s, int& out) const {
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && end == s.data() + s.size() && !s.empty();
  }

  int integer_in(const std::string& s, int lo, int hi, const char* what) const {
    int v = 0;
    if (!parse_int(s, v) || v < lo || v > hi)
      fail(std::string(what) + " must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi) +
           ", not '" + s + "'");
    return v;
  }

  double number(const std::string& s, const char* what) const {
    double v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v))
      fail(std::string(what) + " must be a number, not '" + s + "'");
    return v;
  }

  Resolution size(const std::string& s, bool even) const {
    const size_t x = s.find('x');
    int w = 0, h = 0;
    if (x == std::string::npos || !parse_int(s.substr(0, x), w) || !parse_int(s.substr(x + 1), h))
      fail("frame size must be WIDTHxHEIGHT, not '" + s + "'");
    if (w < 1 || h < 1 || w > kMaxSide || h > kMaxSide)
      fail("frame size " + s + " is out of range (1 to " + std::to_string(kMaxSide) + " a side)");
    if (even && (w % 2 || h % 2)) fail("H.264 frame size " + s + " must be even in both dimensions (yuv420p)");
    return {w, h};
  }

private:
  std::string whole_;
};

}  // namespace

std::string DistortionSetting::text() const {
  switch (kind) {
    case Kind::clean: return "clean";
    case Kind::jpeg: return "jpeg:" + std::to_string(jpeg_quality);
    case Kind::brightness: return "brightness:" + format_number(brightness);
    case Kind::h264:
      return "h264:" + (size ? size_text(*size) : std::string()) + "@" +
             (bitrate_kbps > 0 ? std::to_string(bitrate_kbps) + "k" : std::to_string(crf));
    case Kind::resize: return "resize:" + (size ? size_text(*size) : std::string("?"));
  }
  return "?";
}

bool operator==(const DistortionSetting& a, const DistortionSetting& b) { return a.text() == b.text(); }

DistortionSetting parse_distortion_setting(const std::string& raw) {
  const std::string text = trim(raw);
  const Parser p(text);
  DistortionSetting s;
  if (text == "clean") return s;
  const size_t colon = text.find(':');
  if (colon == std::string::npos)
    p.fail("expected clean, jpeg:Q, brightness:F, h264:[WxH]@CRF, h264:[WxH]@KBITSk or resize:WxH");
  const std::string kind = text.substr(0, colon), value = text.substr(colon + 1);
  if (value.empty()) p.fail("missing value after '" + kind + ":'");
  if (kind == "jpeg") {
    s.kind = DistortionSetting::Kind::jpeg;
    s.jpeg_quality = p.integer_in(value, 1, 100, "JPEG quality");
  } else if (kind == "brightness") {
    s.kind = DistortionSetting::Kind::brightness;
    s.brightness = p.number(value, "brightness factor");
    if (s.brightness < 0) p.fail("brightness factor must not be negative");
    if (s.brightness == 0) s.brightness = 0;  // "-0" reads as 0 and writes as "0"
  } else if (kind == "h264") {
    s.kind = DistortionSetting::Kind::h264;
    const size_t at = value.find('@');
    if (at == std::string::npos)
      p.fail("H.264 levels are written WxH@CRF or WxH@KBITSk (or without the size), for example 320x240@28 or "
             "320x240@300k");
    if (at > 0) s.size = p.size(value.substr(0, at), true);
    const std::string rate = value.substr(at + 1);
    if (!rate.empty() && rate.back() == 'k')
      s.bitrate_kbps = p.integer_in(rate.substr(0, rate.size() - 1), 8, 200000, "bitrate in kbit/s");
    else
      s.crf = p.integer_in(rate, 0, 51, "x264 CRF");
  } else if (kind == "resize") {
    s.kind = DistortionSetting::Kind::resize;
    s.size = p.size(value, false);
  } else {
    p.fail("unknown distortion '" + kind + "' (known: clean, jpeg, brightness, h264, resize)");
  }
  return s;
}

std::vector<DistortionSetting> parse_level_spec(const std::string& spec) {
  std::vector<DistortionSetting> levels;
  auto fail = [&](const std::string& problem) { throw Error("level spec '" + spec + "': " + problem); };
  size_t start = 0;
  while (start <= spec.size()) {
    const size_t end = std::min(spec.find(';', start), spec.size());
    const std::string group = trim(spec.substr(start, end - start));
    start = end + 1;
    if (group.empty()) fail("empty group (check for a stray ';')");
    const size_t colon = group.find(':');
    const std::string kind = colon == std::string::npos ? group : group.substr(0, colon + 1);
    const std::string values = colon == std::string::npos ? "" : group.substr(colon + 1);
    std::vector<std::string> items;
    if (colon == std::string::npos) {
      items.push_back(group);
    } else {
      size_t from = 0;
      while (from <= values.size()) {
        const size_t comma = std::min(values.find(',', from), values.size());
        const std::string v = trim(values.substr(from, comma - from));
        if (v.empty()) fail("empty value in '" + group + "'");
        items.push_back(kind + v);
        from = comma + 1;
      }
    }
    for (const std::string& item : items) {
      const DistortionSetting s = parse_distortion_setting(item);
      for (const DistortionSetting& seen : levels)
        if (seen == s) fail("level '" + s.text() + "' appears twice");
      levels.push_back(s);
    }
  }
  return levels;
}

}  // namespace gearnn
