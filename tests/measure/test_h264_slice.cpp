// The engine's slice-header reader on real libx264 streams: constant-QP
// encodes give known slice QPs per frame type, across the syntax x264 can
// produce (CAVLC and CABAC, several slices, weighted prediction, B pyramids,
// interlaced MBAFF, high-profile scaling lists), in byte-stream and avc form.
#include "measure/h264_slice.h"
#include "measure/stream_quality.h"
#include "../distort/synthetic.h"

#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/log.h>
#include <libavutil/opt.h>
}

using namespace gearnn;

namespace {

using AccessUnits = std::vector<std::vector<uint8_t>>;

// Encodes moving grey frames with libx264 and `params` (x264-params syntax).
AccessUnits encode(const std::string& params, int frames = 24, int width = 96, int height = 64) {
  av_log_set_level(AV_LOG_ERROR);  // x264's per-encode statistics
  const AVCodec* codec = avcodec_find_encoder_by_name("libx264");
  if (!codec) return {};
  AVCodecContext* c = avcodec_alloc_context3(codec);
  c->width = width;
  c->height = height;
  c->pix_fmt = AV_PIX_FMT_YUV420P;
  c->time_base = {1, 30};
  c->thread_count = 1;
  av_opt_set(c->priv_data, "x264-params", params.c_str(), 0);
  EXPECT_GE(avcodec_open2(c, codec, nullptr), 0) << params;
  AVFrame* f = av_frame_alloc();
  AVPacket* p = av_packet_alloc();
  AccessUnits out;
  auto drain = [&] {
    while (avcodec_receive_packet(c, p) == 0) {
      out.emplace_back(p->data, p->data + p->size);
      av_packet_unref(p);
    }
  };
  for (int i = 0; i < frames; ++i) {
    const RgbImage rgb = gearnn::testing::pattern_image(width, height, 3 * i);
    f->format = c->pix_fmt;
    f->width = width;
    f->height = height;
    av_frame_get_buffer(f, 0);
    av_frame_make_writable(f);
    for (int y = 0; y < height; ++y)
      for (int x = 0; x < width; ++x) f->data[0][y * f->linesize[0] + x] = rgb.pixels[(size_t(y) * width + x) * 3 + 1];
    for (int pl = 1; pl < 3; ++pl)
      for (int y = 0; y < height / 2; ++y)
        for (int x = 0; x < width / 2; ++x) f->data[pl][y * f->linesize[pl] + x] = uint8_t(128 + (x + y + pl) % 7);
    f->pts = i;
    avcodec_send_frame(c, f);
    drain();
  }
  avcodec_send_frame(c, nullptr);
  drain();
  av_packet_free(&p);
  av_frame_free(&f);
  avcodec_free_context(&c);
  return out;
}

// x264's constant-QP offsets: I frames round(6 log2 1.4) = 3 below P, B
// frames round(6 log2 1.3) = 2 above (B frames kept as references in a
// pyramid: halfway, 1 above).
bool qp_as_expected(H264FrameType t, double got, int qp) {
  if (t == H264FrameType::I) return got == qp - 3;
  if (t == H264FrameType::B) return got == qp + 2 || got == qp + 1;
  return got == qp;
}

void expect_constant_qp(const std::string& params, int qp, bool expect_b) {
  SCOPED_TRACE(params);
  const AccessUnits units = encode(params);
  ASSERT_FALSE(units.empty());
  H264SliceReader reader;
  int types[3] = {0, 0, 0};
  for (size_t i = 0; i < units.size(); ++i) {
    const auto f = reader.read_access_unit(units[i].data(), units[i].size());
    ASSERT_TRUE(f.has_value()) << "access unit " << i;
    EXPECT_TRUE(qp_as_expected(f->type, f->qp, qp))
        << "access unit " << i << " (" << f->slice_types << ") has QP " << f->qp << ", P frames " << qp;
    ++types[int(f->type)];
  }
  EXPECT_GT(types[int(H264FrameType::I)], 0);
  EXPECT_GT(types[int(H264FrameType::P)], 0);
  if (expect_b) EXPECT_GT(types[int(H264FrameType::B)], 0);
}

// Annex B to length-prefixed NAL units plus an avcC record, as MP4 carries them.
struct AvcStream {
  std::vector<uint8_t> avcc;
  AccessUnits units;
};

std::vector<std::vector<uint8_t>> split_nals(const std::vector<uint8_t>& au) {
  std::vector<std::vector<uint8_t>> nals;
  size_t i = 0, begin = std::string::npos;
  while (i + 3 <= au.size()) {
    if (au[i] == 0 && au[i + 1] == 0 && au[i + 2] == 1) {
      if (begin != std::string::npos) {
        size_t end = i;
        while (end > begin && au[end - 1] == 0) --end;
        nals.emplace_back(au.begin() + long(begin), au.begin() + long(end));
      }
      begin = i + 3;
      i += 3;
    } else {
      ++i;
    }
  }
  if (begin != std::string::npos) nals.emplace_back(au.begin() + long(begin), au.end());
  return nals;
}

AvcStream to_avc(const AccessUnits& annexb) {
  AvcStream out;
  std::vector<std::vector<uint8_t>> sps, pps;
  for (const auto& au : annexb) {
    std::vector<uint8_t> unit;
    for (const auto& nal : split_nals(au)) {
      const int type = nal[0] & 0x1f;
      if (type == 7) sps.push_back(nal);
      else if (type == 8) pps.push_back(nal);
      else {
        const uint32_t n = uint32_t(nal.size());
        unit.insert(unit.end(), {uint8_t(n >> 24), uint8_t(n >> 16), uint8_t(n >> 8), uint8_t(n)});
        unit.insert(unit.end(), nal.begin(), nal.end());
      }
    }
    out.units.push_back(unit);
  }
  out.avcc = {1, sps.at(0)[1], sps.at(0)[2], sps.at(0)[3], 0xff, uint8_t(0xe0 | sps.size())};
  for (const auto& s : sps) {
    out.avcc.insert(out.avcc.end(), {uint8_t(s.size() >> 8), uint8_t(s.size())});
    out.avcc.insert(out.avcc.end(), s.begin(), s.end());
  }
  out.avcc.push_back(uint8_t(pps.size()));
  for (const auto& p : pps) {
    out.avcc.insert(out.avcc.end(), {uint8_t(p.size() >> 8), uint8_t(p.size())});
    out.avcc.insert(out.avcc.end(), p.begin(), p.end());
  }
  return out;
}

}  // namespace

TEST(H264Slice, ConstantQpStreamsGiveTheirQpPerFrameType) {
  expect_constant_qp("qp=30:bframes=0:cabac=0", 30, false);
  expect_constant_qp("qp=30:bframes=3:b-pyramid=normal:cabac=1", 30, true);
  expect_constant_qp("qp=24:bframes=2:slices=4:weightp=2:weightb=1", 24, true);
  expect_constant_qp("qp=36:bframes=3:interlaced=1", 36, true);
  expect_constant_qp("qp=28:bframes=1:8x8dct=1:cqm=jvt:keyint=8", 28, true);
}

TEST(H264Slice, ReadsLengthPrefixedUnitsWithAnAvccRecord) {
  const AccessUnits annexb = encode("qp=32:bframes=2");
  ASSERT_FALSE(annexb.empty());
  const AvcStream avc = to_avc(annexb);
  H264SliceReader bytestream, lengths;
  ASSERT_TRUE(lengths.read_avcc(avc.avcc.data(), avc.avcc.size()));
  for (size_t i = 0; i < annexb.size(); ++i) {
    const auto a = bytestream.read_access_unit(annexb[i].data(), annexb[i].size());
    const auto b = lengths.read_access_unit(avc.units[i].data(), avc.units[i].size());
    ASSERT_TRUE(a && b) << i;
    EXPECT_EQ(a->qp, b->qp) << i;
    EXPECT_EQ(a->type, b->type) << i;
  }
}

TEST(H264Slice, GarbageAndTruncationGiveNothing) {
  H264SliceReader reader;
  const std::vector<uint8_t> junk = {0, 0, 1, 0x65, 0xff, 0xff, 0xff};
  EXPECT_FALSE(reader.read_access_unit(junk.data(), junk.size()));  // a slice before any SPS/PPS
  const AccessUnits units = encode("qp=30");
  ASSERT_FALSE(units.empty());
  for (size_t cut = 0; cut < units[0].size(); cut += 7) {
    H264SliceReader fresh;
    fresh.read_access_unit(units[0].data(), cut);  // must not crash or read past `cut`
  }
  std::vector<uint8_t> bad_avcc = {1, 66, 0, 30, 0xff, 0xe1, 0x00, 0x40};  // SPS longer than the record
  EXPECT_FALSE(reader.read_avcc(bad_avcc.data(), bad_avcc.size()));
}

TEST(H264QualityWindow, IFramesCountOnlyAlone) {
  H264QualityWindow w(4);
  EXPECT_FALSE(w.value());
  w.push({30, H264FrameType::I});
  EXPECT_NEAR(*w.value(), 30 + kIFrameQpOffset, 1e-12);
  w.push({33, H264FrameType::P});
  EXPECT_NEAR(*w.value(), 33, 1e-12);  // the I frame no longer counts
  w.push({35, H264FrameType::B});
  EXPECT_NEAR(*w.value(), (33 + 35 - kBFrameQpOffset) / 2, 1e-12);
  for (int i = 0; i < 4; ++i) w.push({40, H264FrameType::P});
  EXPECT_NEAR(*w.value(), 40, 1e-12);  // only the last 4 frames
  w.set_size(2);
  EXPECT_NEAR(*w.value(), 40, 1e-12);
  w.push({44, H264FrameType::P});
  EXPECT_NEAR(*w.value(), 42, 1e-12);
  w.clear();
  EXPECT_FALSE(w.value());
}
