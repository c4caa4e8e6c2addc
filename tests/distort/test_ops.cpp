// Distortion settings (text and parsing) and the pixel operations.
#include "distort/distortion_setting.h"
#include "distort/image_ops.h"
#include "error.h"
#include "synthetic.h"

#include <gtest/gtest.h>

using namespace gearnn;
using gearnn::testing::pattern_image;
using Kind = DistortionSetting::Kind;

namespace {

std::string error_of(const std::string& text, bool spec = false) {
  try {
    if (spec) parse_level_spec(text);
    else parse_distortion_setting(text);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

RgbImage one_row(std::vector<uint8_t> values) {
  const int width = int(values.size() / 3);
  return RgbImage{width, 1, std::move(values)};
}

}  // namespace

TEST(DistortionSetting, TextRoundTrips) {
  for (const char* text : {"clean", "jpeg:1", "jpeg:30", "jpeg:100", "brightness:0.4", "brightness:1.5",
                           "brightness:0.1", "brightness:2", "brightness:0", "h264:320x240@28", "h264:@28",
                           "h264:2048x1024@18", "h264:@0", "resize:240x180", "resize:1x1"}) {
    EXPECT_EQ(parse_distortion_setting(text).text(), text);
  }
  EXPECT_EQ(parse_distortion_setting("brightness:2.0").text(), "brightness:2");
  EXPECT_EQ(parse_distortion_setting(" jpeg:30 ").text(), "jpeg:30");
}

TEST(DistortionSetting, ParsesFields) {
  const DistortionSetting h = parse_distortion_setting("h264:480x360@18");
  EXPECT_EQ(h.kind, Kind::h264);
  EXPECT_EQ(h.crf, 18);
  ASSERT_TRUE(h.size.has_value());
  EXPECT_EQ(h.size->width, 480);
  EXPECT_EQ(h.size->height, 360);
  EXPECT_FALSE(parse_distortion_setting("h264:@30").size.has_value());
  EXPECT_EQ(parse_distortion_setting("jpeg:55").jpeg_quality, 55);
  EXPECT_DOUBLE_EQ(parse_distortion_setting("brightness:0.25").brightness, 0.25);
  EXPECT_EQ(parse_distortion_setting("resize:240x180").size->width, 240);
  EXPECT_EQ(parse_distortion_setting("clean").kind, Kind::clean);
  DistortionSetting made;
  made.kind = Kind::brightness;
  made.brightness = 0.1 + 0.2;  // 0.30000000000000004 keeps all its digits
  EXPECT_EQ(parse_distortion_setting(made.text()).brightness, made.brightness);
}

TEST(DistortionSetting, LevelSpecs) {
  auto texts = [](const std::string& spec) {
    std::vector<std::string> out;
    for (const auto& s : parse_level_spec(spec)) out.push_back(s.text());
    return out;
  };
  EXPECT_EQ(texts("jpeg:10,20,30"), (std::vector<std::string>{"jpeg:10", "jpeg:20", "jpeg:30"}));
  EXPECT_EQ(texts("brightness:0.1,0.2,1.5"),
            (std::vector<std::string>{"brightness:0.1", "brightness:0.2", "brightness:1.5"}));
  EXPECT_EQ(texts("h264:480x360@18,320x240@18,160x120@28"),
            (std::vector<std::string>{"h264:480x360@18", "h264:320x240@18", "h264:160x120@28"}));
  EXPECT_EQ(texts("resize:320x240,240x180"), (std::vector<std::string>{"resize:320x240", "resize:240x180"}));
  EXPECT_EQ(texts("clean; jpeg:10, 50 ;h264:@23"),
            (std::vector<std::string>{"clean", "jpeg:10", "jpeg:50", "h264:@23"}));
  EXPECT_EQ(parse_level_spec("jpeg:10,20,30,40,50,60,70,80,90,100").size(), 10u);
}

TEST(DistortionSetting, BadTextSaysWhatIsWrong) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"jpeg:0", "1 to 100"},          {"jpeg:101", "1 to 100"},       {"jpeg:abc", "'abc'"},
      {"jpeg:", "missing value"},      {"jpeg:3.5", "integer"},        {"blur:3", "unknown distortion 'blur'"},
      {"jpeg", "expected"},            {"", "expected"},               {"h264:321x240@18", "even"},
      {"h264:320x240", "WxH@CRF"},     {"h264:320x240@52", "0 to 51"}, {"h264:320x@18", "WIDTHxHEIGHT"},
      {"brightness:-1", "negative"},   {"brightness:nan", "number"},   {"brightness:1x", "'1x'"},
      {"resize:0x10", "out of range"}, {"resize:10", "WIDTHxHEIGHT"},  {"resize:99999x10", "out of range"},
  };
  for (const auto& [text, phrase] : cases) {
    const std::string message = error_of(text);
    EXPECT_NE(message.find(phrase), std::string::npos) << "'" << text << "' gave: " << message;
    EXPECT_NE(message.find("'" + text + "'"), std::string::npos) << message;
  }
}

TEST(DistortionSetting, BadSpecsSayWhatIsWrong) {
  EXPECT_NE(error_of("jpeg:10,,20", true).find("empty value"), std::string::npos);
  EXPECT_NE(error_of("jpeg:10;", true).find("empty group"), std::string::npos);
  EXPECT_NE(error_of("jpeg:10,20;jpeg:10", true).find("'jpeg:10' appears twice"), std::string::npos);
  EXPECT_NE(error_of("", true).find("empty"), std::string::npos);
  EXPECT_NE(error_of("jpeg:10,200", true).find("'jpeg:200'"), std::string::npos);
}

TEST(Brightness, MatchesPillowOnHandComputedPixels) {
  const RgbImage in = one_row({200, 101, 100, 0, 255, 3});
  // 300 clips to 255; 151.5 and 4.5 truncate.
  EXPECT_EQ(adjust_brightness(in, 1.5).pixels, (std::vector<uint8_t>{255, 151, 150, 0, 255, 4}));
  // 50.5, 127.5 and 1.5 truncate.
  EXPECT_EQ(adjust_brightness(in, 0.5).pixels, (std::vector<uint8_t>{100, 50, 50, 0, 127, 1}));
  EXPECT_EQ(adjust_brightness(in, 0.0).pixels, (std::vector<uint8_t>(6, 0)));
  EXPECT_EQ(adjust_brightness(in, 1.0).pixels, in.pixels);
  EXPECT_EQ(adjust_brightness(in, 2.0).pixels, (std::vector<uint8_t>{255, 202, 200, 0, 255, 6}));
  // Pillow multiplies in single precision: 100 x 0.29f rounds to exactly 29.0f,
  // where double arithmetic would give 28.999999999999996 and truncate to 28.
  EXPECT_EQ(adjust_brightness(one_row({100, 100, 100}), 0.29).pixels, (std::vector<uint8_t>{29, 29, 29}));
  EXPECT_THROW(adjust_brightness(RgbImage{}, 0.5), Error);
}

TEST(Resize, SizesAndAreaAveraging) {
  const RgbImage img = pattern_image(64, 48);
  for (const auto& [w, h] : std::vector<std::pair<int, int>>{{32, 24}, {21, 17}, {100, 70}, {1, 1}}) {
    const RgbImage r = resize_rgb(img, w, h);
    EXPECT_EQ(r.width, w);
    EXPECT_EQ(r.height, h);
    EXPECT_EQ(r.pixels.size(), size_t(w) * h * 3);
  }
  EXPECT_EQ(resize_rgb(img, 64, 48).pixels, img.pixels);

  // A one-pixel checkerboard halves to mid grey (away from the borders,
  // where the filter is cut off); a constant stays constant.
  RgbImage board{16, 16, std::vector<uint8_t>(16 * 16 * 3)};
  for (int y = 0; y < 16; ++y)
    for (int x = 0; x < 16; ++x)
      for (int c = 0; c < 3; ++c) board.pixels[size_t((y * 16 + x) * 3 + c)] = (x + y) % 2 ? 255 : 0;
  const RgbImage half = resize_rgb(board, 8, 8);
  for (int y = 1; y < 7; ++y)
    for (int x = 1; x < 7; ++x) EXPECT_NEAR(half.pixels[size_t((y * 8 + x) * 3)], 127.5, 0.6) << x << "," << y;
  const RgbImage flat{10, 6, std::vector<uint8_t>(10 * 6 * 3, 77)};
  for (int w : {3, 7, 25})
    for (uint8_t v : resize_rgb(flat, w, 5).pixels) EXPECT_EQ(v, 77);
  EXPECT_THROW(resize_rgb(img, 0, 10), Error);
}
