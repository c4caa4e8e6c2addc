// JPEG encoding and the quality estimate read back from quantisation tables.
#include "distort/jpeg.h"
#include "distort/jpeg_quality.h"
#include "error.h"
#include "synthetic.h"

#include <gtest/gtest.h>

#include <algorithm>

using namespace gearnn;
using gearnn::testing::mean_squared_error;
using gearnn::testing::pattern_image;

namespace {

const uint16_t kBaseLuma[64] = {16, 11, 10, 16, 24,  40,  51,  61,  12, 12, 14, 19, 26,  58,  60,  55,
                                14, 13, 16, 24, 40,  57,  69,  56,  14, 17, 22, 29, 51,  87,  80,  62,
                                18, 22, 37, 56, 68,  109, 103, 77,  24, 35, 55, 64, 81,  104, 113, 92,
                                49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99};

// The table libjpeg's jpeg_set_quality(q, force_baseline) writes for luma.
std::vector<uint16_t> ijg_table(int q, bool baseline) {
  const long scale = q < 50 ? 5000 / q : 200 - 2 * q;
  std::vector<uint16_t> t(64);
  for (int i = 0; i < 64; ++i)
    t[size_t(i)] = uint16_t(std::clamp((kBaseLuma[i] * scale + 50) / 100, 1L, baseline ? 255L : 32767L));
  return t;
}

const int kZigZag[64] = {0,  1,  8,  16, 9,  2,  3,  10, 17, 24, 32, 25, 18, 11, 4,  5,  12, 19, 26, 33, 40, 48,
                         41, 34, 27, 20, 13, 6,  7,  14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23,
                         30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63};

// A JPEG header by hand, up to the start of the scan: DQTs then a SOF0 whose
// first component uses table `luma_slot`.
std::vector<uint8_t> header_with(const std::vector<std::pair<int, std::vector<uint16_t>>>& tables, bool sixteen_bit,
                                 int luma_slot) {
  std::vector<uint8_t> j = {0xFF, 0xD8};
  for (const auto& [slot, table] : tables) {
    const size_t length = 2 + 1 + (sixteen_bit ? 128 : 64);
    const uint8_t precision_and_slot = uint8_t((sixteen_bit ? 0x10 : 0) | slot);
    j.insert(j.end(), {0xFF, 0xDB, uint8_t(length >> 8), uint8_t(length & 0xFF), precision_and_slot});
    for (int k = 0; k < 64; ++k) {
      const uint16_t v = table[size_t(kZigZag[k])];
      if (sixteen_bit) j.push_back(uint8_t(v >> 8));
      j.push_back(uint8_t(v & 0xFF));
    }
  }
  // SOF0: 8-bit, 16x16, 3 components; luma uses `luma_slot`, chroma slot 1.
  j.insert(j.end(), {0xFF, 0xC0, 0x00, 17, 8, 0, 16, 0, 16, 3, 1, 0x22, uint8_t(luma_slot), 2, 0x11, 1, 3, 0x11, 1});
  j.insert(j.end(), {0xFF, 0xDA, 0x00, 8, 1, 1, 0, 0, 63, 0});
  return j;
}

}  // namespace

TEST(JpegQuality, WrittenFilesReadBackTheirQuality) {
  const RgbImage img = pattern_image(64, 48);
  for (int q : {10, 25, 50, 75, 90, 100}) {
    const std::vector<uint8_t> bytes = encode_jpeg(img, q);
    const auto estimated = jpeg_quality_of(bytes.data(), bytes.size());
    ASSERT_TRUE(estimated.has_value()) << "q=" << q;
    EXPECT_EQ(*estimated, double(q));
  }
}

TEST(JpegQuality, EveryIjgTableInvertsExactly) {
  for (bool baseline : {true, false})
    for (int q = 1; q <= 100; ++q) {
      const auto estimated = estimate_jpeg_quality(ijg_table(q, baseline).data());
      ASSERT_TRUE(estimated.has_value()) << "q=" << q << " baseline=" << baseline;
      EXPECT_EQ(*estimated, double(q)) << "baseline=" << baseline;
    }
}

TEST(JpegQuality, NearTablesAreEstimatedAndForeignTablesRejected) {
  std::vector<uint16_t> tweaked = ijg_table(60, true);
  tweaked[0] += 1;
  tweaked[63] -= 2;
  const auto near = estimate_jpeg_quality(tweaked.data());
  ASSERT_TRUE(near.has_value());
  EXPECT_NEAR(*near, 60.0, 1.5);

  std::vector<uint16_t> flat(64, 40);  // no scaled IJG table is flat at 40
  EXPECT_FALSE(estimate_jpeg_quality(flat.data()).has_value());
  std::vector<uint16_t> reversed = ijg_table(50, true);
  std::reverse(reversed.begin(), reversed.end());
  EXPECT_FALSE(estimate_jpeg_quality(reversed.data()).has_value());
  std::vector<uint16_t> zero = ijg_table(50, true);
  zero[5] = 0;
  EXPECT_FALSE(estimate_jpeg_quality(zero.data()).has_value());
}

TEST(JpegQuality, ParsesSixteenBitTablesAndFollowsTheLumaSlot) {
  const auto sixteen = header_with({{0, ijg_table(3, false)}}, true, 0);
  EXPECT_EQ(jpeg_quality_of(sixteen.data(), sixteen.size()), 3.0);
  // Luma in slot 1 and a different table in slot 0: the SOF decides.
  const auto slots = header_with({{0, ijg_table(20, true)}, {1, ijg_table(80, true)}}, false, 1);
  EXPECT_EQ(jpeg_quality_of(slots.data(), slots.size()), 80.0);
}

TEST(JpegQuality, NonJpegAndTruncatedDataGiveNothing) {
  EXPECT_FALSE(jpeg_quality_of(nullptr, 0).has_value());
  const uint8_t png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n', 0, 0, 0, 13};
  EXPECT_FALSE(jpeg_quality_of(png, sizeof png).has_value());
  const std::vector<uint8_t> noise(500, 0xFF);
  EXPECT_FALSE(jpeg_quality_of(noise.data(), noise.size()).has_value());

  const std::vector<uint8_t> bytes = encode_jpeg(pattern_image(32, 32), 40);
  // Every prefix either still holds the whole luma table or gives nothing.
  for (size_t n = 0; n < bytes.size(); n += (n < 400 ? 1 : 97)) {
    const auto q = jpeg_quality_of(bytes.data(), n);
    if (q) {
      EXPECT_EQ(*q, 40.0) << "prefix " << n;
    }
  }
  EXPECT_FALSE(jpeg_quality_of(bytes.data(), 40).has_value());  // cut inside the first DQT
}

TEST(Jpeg, DecodesAtTheImageSize) {
  const RgbImage img = pattern_image(37, 29);
  const std::vector<uint8_t> bytes = encode_jpeg(img, 80);
  const RgbImage back = decode_jpeg(bytes.data(), bytes.size(), "test.jpg");
  EXPECT_EQ(back.width, 37);
  EXPECT_EQ(back.height, 29);
  EXPECT_EQ(back.pixels.size(), size_t(37 * 29 * 3));
}

TEST(Jpeg, LowerQualityLosesMore) {
  const RgbImage img = pattern_image(96, 64);
  double previous = 1e9;
  for (int q : {10, 25, 50, 75, 90, 100}) {
    const std::vector<uint8_t> bytes = encode_jpeg(img, q);
    const double error = mean_squared_error(img, decode_jpeg(bytes.data(), bytes.size(), "x"));
    EXPECT_LT(error, previous) << "q=" << q;
    previous = error;
  }
}

TEST(Jpeg, QualityHundredIsNearlyLosslessWithoutChroma) {
  RgbImage grey = pattern_image(48, 32);
  for (size_t i = 0; i < grey.pixels.size(); i += 3) grey.pixels[i] = grey.pixels[i + 2] = grey.pixels[i + 1];
  const std::vector<uint8_t> bytes = encode_jpeg(grey, 100);
  EXPECT_LT(mean_squared_error(grey, decode_jpeg(bytes.data(), bytes.size(), "grey")), 1.0);
}

TEST(Jpeg, EncodingIsDeterministic) {
  const RgbImage img = pattern_image(40, 30);
  EXPECT_EQ(encode_jpeg(img, 55), encode_jpeg(img, 55));
}

TEST(Jpeg, BadInputIsAnErrorNamingIt) {
  const std::vector<uint8_t> bytes = encode_jpeg(pattern_image(32, 32), 50);
  try {
    decode_jpeg(bytes.data(), bytes.size() / 2, "half.jpg");
    FAIL() << "a truncated JPEG decoded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("half.jpg"), std::string::npos) << e.what();
  }
  const std::vector<uint8_t> junk(100, 7);
  EXPECT_THROW(decode_jpeg(junk.data(), junk.size(), "junk.jpg"), Error);
  EXPECT_THROW(encode_jpeg(pattern_image(8, 8), 0), Error);
  EXPECT_THROW(encode_jpeg(RgbImage{}, 50), Error);
}
