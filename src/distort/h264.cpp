#include "distort/h264.h"

#include "error.h"
#include "yuv420_to_rgb.h"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <mutex>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/cpu.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>
}

namespace gearnn {
namespace {

constexpr int kKeyframeInterval = 30;
constexpr const char* kPreset = "medium";  // x264's default
// Keyframes only every kKeyframeInterval frames, never at scene cuts: ABR
// packagers fix the GOP so that segments align across representations.
constexpr const char* kX264Params = "scenecut=0";
constexpr int kVbvSeconds = 2;

struct CodecFree {
  void operator()(AVCodecContext* c) const { avcodec_free_context(&c); }
};
struct FrameFree {
  void operator()(AVFrame* f) const { av_frame_free(&f); }
};
struct PacketFree {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};
using CodecPtr = std::unique_ptr<AVCodecContext, CodecFree>;
using FramePtr = std::unique_ptr<AVFrame, FrameFree>;
using PacketPtr = std::unique_ptr<AVPacket, PacketFree>;

[[noreturn]] void fail(const std::string& what, int code = 0) {
  std::string message = "h264: " + what;
  if (code < 0) {
    char buf[AV_ERROR_MAX_STRING_SIZE] = "";
    av_strerror(code, buf, sizeof buf);
    message += std::string(": ") + buf;
  }
  throw Error(message);
}

// x264 logs its settings at info level through av_log on every open; keep
// that off stderr unless someone already chose a level of their own.
void quiet_ffmpeg_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (av_log_get_level() == AV_LOG_INFO) av_log_set_level(AV_LOG_WARNING);
  });
}

// x264 writes its version into its first keyframe, as an SEI ("x264 - core
// 164 r3095 baee400 - H.264/MPEG-4 AVC codec - ..."). Another x264 gives other
// pixels and QPs at the same settings, so the version is part of the recipe;
// it is read once, from a 16x16 encode, off the library FFmpeg actually loads.
std::string x264_version() {
  static const std::string version = [] {
    quiet_ffmpeg_once();
    const AVCodec* x264 = avcodec_find_encoder_by_name("libx264");
    if (!x264) return std::string("no libx264");
    CodecPtr enc(avcodec_alloc_context3(x264));
    FramePtr frame(av_frame_alloc());
    PacketPtr packet(av_packet_alloc());
    if (!enc || !frame || !packet) fail("out of memory");
    enc->width = enc->height = frame->width = frame->height = 16;
    enc->pix_fmt = AV_PIX_FMT_YUV420P;
    frame->format = AV_PIX_FMT_YUV420P;
    enc->time_base = {1, 25};
    enc->thread_count = 1;
    if (avcodec_open2(enc.get(), x264, nullptr) < 0 || av_frame_get_buffer(frame.get(), 0) < 0)
      return std::string("x264 version unknown");
    for (int plane = 0; plane < 3; ++plane) std::fill_n(frame->data[plane], frame->linesize[plane] * (plane ? 8 : 16), 128);
    std::string stream;
    if (avcodec_send_frame(enc.get(), frame.get()) >= 0 && avcodec_send_frame(enc.get(), nullptr) >= 0)
      while (avcodec_receive_packet(enc.get(), packet.get()) >= 0) {
        stream.append(reinterpret_cast<const char*>(packet->data), size_t(packet->size));
        av_packet_unref(packet.get());
      }
    const size_t at = stream.find("x264 - core ");
    if (at == std::string::npos) return std::string("x264 version unknown");
    const size_t end = stream.find(" - H.264", at);
    return "x264 core " + stream.substr(at + 12, end == std::string::npos ? 20 : end - at - 12);
  }();
  return version;
}

// Converts between packed RGB and the codecs' frames, scaling on the way in;
// on the way out with the class the gearnn element converts frames with.
class Converter {
public:
  Converter() = default;
  Converter(const Converter&) = delete;
  Converter& operator=(const Converter&) = delete;
  ~Converter() { sws_freeContext(sws_); }

  void rgb_to_frame(const RgbImage& image, AVFrame* frame) {
    sws_ = sws_getCachedContext(sws_, image.width, image.height, AV_PIX_FMT_RGB24, frame->width, frame->height,
                                AVPixelFormat(frame->format), bitexact_swscale_flags(), nullptr, nullptr, nullptr);
    if (!sws_) fail("cannot convert RGB to the encoder's format");
    // swscale reads whole SIMD words past the last pixel; give it zeroed slack
    // so the result never depends on what follows the image in memory.
    staging_.assign(image.pixels.size() + kSlack, 0);
    std::copy(image.pixels.begin(), image.pixels.end(), staging_.begin());
    const uint8_t* src[4] = {staging_.data(), nullptr, nullptr, nullptr};
    const int stride[4] = {image.width * 3, 0, 0, 0};
    sws_scale(sws_, src, stride, 0, image.height, frame->data, frame->linesize);
  }

  RgbImage frame_to_rgb(const AVFrame* frame) {
    if (frame->format != AV_PIX_FMT_YUV420P) fail("the decoder gave frames other than yuv420p");
    if (!to_rgb_ || to_rgb_->width() != frame->width || to_rgb_->height() != frame->height)
      to_rgb_ = std::make_unique<Yuv420ToRgb>(frame->width, frame->height, YuvRange::video, YuvMatrix::bt601);
    RgbImage out{frame->width, frame->height, std::vector<uint8_t>(size_t(frame->width) * frame->height * 3)};
    Yuv420View planes;
    for (size_t p = 0; p < 3; ++p) {
      planes.plane[p] = frame->data[p];
      planes.stride[p] = size_t(frame->linesize[p]);
    }
    to_rgb_->convert(planes, out.pixels.data(), size_t(frame->width) * 3);
    return out;
  }

private:
  static constexpr size_t kSlack = 64;
  SwsContext* sws_ = nullptr;
  std::vector<uint8_t> staging_;
  std::unique_ptr<Yuv420ToRgb> to_rgb_;
};

RgbImage pad_to(const RgbImage& image, int width, int height) {
  if (image.width == width && image.height == height) return image;
  RgbImage out{width, height, std::vector<uint8_t>(size_t(width) * height * 3)};
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      const uint8_t* s = image.pixels.data() + (size_t(std::min(y, image.height - 1)) * image.width +
                                                size_t(std::min(x, image.width - 1))) * 3;
      std::copy(s, s + 3, out.pixels.data() + (size_t(y) * width + x) * 3);
    }
  return out;
}

RgbImage crop_to(RgbImage image, int width, int height) {
  if (image.width == width && image.height == height) return image;
  RgbImage out{width, height, std::vector<uint8_t>(size_t(width) * height * 3)};
  for (int y = 0; y < height; ++y)
    std::copy_n(image.pixels.data() + size_t(y) * image.width * 3, size_t(width) * 3,
                out.pixels.data() + size_t(y) * width * 3);
  return out;
}

class Roundtrip {
public:
  Roundtrip(int width, int height, const H264RateControl& rate, int fps) : width_(width), height_(height) {
    quiet_ffmpeg_once();
    const AVCodec* x264 = avcodec_find_encoder_by_name("libx264");
    if (!x264) fail("this FFmpeg was built without the libx264 encoder");
    enc_.reset(avcodec_alloc_context3(x264));
    if (!enc_) fail("out of memory");
    enc_->width = width;
    enc_->height = height;
    enc_->pix_fmt = AV_PIX_FMT_YUV420P;
    enc_->time_base = {1, fps};
    enc_->framerate = {fps, 1};
    enc_->gop_size = kKeyframeInterval;
    enc_->thread_count = 1;
    enc_->color_range = AVCOL_RANGE_MPEG;  // what swscale writes by default
    enc_->colorspace = AVCOL_SPC_SMPTE170M;
    if (rate.bitrate_kbps > 0) {
      enc_->bit_rate = int64_t(rate.bitrate_kbps) * 1000;
      enc_->rc_max_rate = enc_->bit_rate;
      enc_->rc_buffer_size = int(std::min<int64_t>(enc_->bit_rate * kVbvSeconds, INT32_MAX));
    }
    int rc = av_opt_set(enc_->priv_data, "preset", kPreset, 0);
    if (rc >= 0 && rate.bitrate_kbps <= 0) rc = av_opt_set_double(enc_->priv_data, "crf", rate.crf, 0);
    // x264's AVX-512 code (seen with libx264 164) reads memory it never wrote,
    // so its output changes with whatever the heap held before. Its AVX2 and
    // lower code is bit-exact with its C code; cap it there.
    std::string params = kX264Params;
    if (av_get_cpu_flags() & AV_CPU_FLAG_AVX512) params += ":asm=AVX2";
    if (rc >= 0) rc = av_opt_set(enc_->priv_data, "x264-params", params.c_str(), 0);
    if (rc < 0) fail("cannot set x264's preset and rate control", rc);
    if ((rc = avcodec_open2(enc_.get(), x264, nullptr)) < 0) fail("cannot open libx264", rc);

    const AVCodec* h264 = avcodec_find_decoder(AV_CODEC_ID_H264);
    if (!h264) fail("this FFmpeg has no h264 decoder");
    dec_.reset(avcodec_alloc_context3(h264));
    if (!dec_) fail("out of memory");
    dec_->thread_count = 1;
    if ((rc = avcodec_open2(dec_.get(), h264, nullptr)) < 0) fail("cannot open the h264 decoder", rc);

    frame_.reset(av_frame_alloc());
    decoded_.reset(av_frame_alloc());
    packet_.reset(av_packet_alloc());
    if (!frame_ || !decoded_ || !packet_) fail("out of memory");
  }

  void push(const RgbImage& image, int64_t pts, const H264Sink& sink) {
    AVFrame* f = frame_.get();
    av_frame_unref(f);
    f->format = AV_PIX_FMT_YUV420P;
    f->width = width_;
    f->height = height_;
    int rc = av_frame_get_buffer(f, 0);
    if (rc < 0) fail("cannot allocate a frame", rc);
    converter_.rgb_to_frame(image, f);
    f->pts = pts;
    if ((rc = avcodec_send_frame(enc_.get(), f)) < 0) fail("libx264 refused a frame", rc);
    drain_encoder(sink);
  }

  // Flushes both codecs; returns how many frames came out in all.
  size_t finish(const H264Sink& sink) {
    int rc = avcodec_send_frame(enc_.get(), nullptr);
    if (rc < 0) fail("cannot flush libx264", rc);
    drain_encoder(sink);
    if ((rc = avcodec_send_packet(dec_.get(), nullptr)) < 0) fail("cannot flush the h264 decoder", rc);
    drain_decoder(sink);
    return decoded_count_;
  }

  std::function<RgbImage(RgbImage&&)> finish_frame;  // applied to each decoded frame before the sink
  H264PacketSink packets;                             // sees each encoded access unit, if set

private:
  void drain_encoder(const H264Sink& sink) {
    for (;;) {
      const int rc = avcodec_receive_packet(enc_.get(), packet_.get());
      if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) return;
      if (rc < 0) fail("libx264 failed", rc);
      // What the runtime reads in front of the decoder, by the same reader.
      const auto qp = slices_.read_access_unit(packet_->data, size_t(packet_->size));
      if (!qp) fail("cannot read the slice headers of encoded frame " + std::to_string(packet_->pts));
      if (packet_->pts < 0) fail("libx264 gave a packet without a timestamp");
      const size_t at = size_t(packet_->pts);
      if (at >= frame_qp_.size()) frame_qp_.resize(at + 1);
      frame_qp_[at] = *qp;
      if (packets) packets(packet_->data, size_t(packet_->size));
      const int sent = avcodec_send_packet(dec_.get(), packet_.get());
      av_packet_unref(packet_.get());
      if (sent < 0) fail("the h264 decoder refused a packet", sent);
      drain_decoder(sink);
    }
  }

  void drain_decoder(const H264Sink& sink) {
    for (;;) {
      const int rc = avcodec_receive_frame(dec_.get(), decoded_.get());
      if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) return;
      if (rc < 0) fail("decoding failed", rc);
      const AVFrame* d = decoded_.get();
      if (d->pts != AV_NOPTS_VALUE && d->pts != int64_t(decoded_count_))
        fail("decoded frame " + std::to_string(decoded_count_) + " came out as frame " + std::to_string(d->pts));
      if (decoded_count_ >= frame_qp_.size()) fail("decoded frame " + std::to_string(decoded_count_) + " before its packet");
      RgbImage rgb = out_converter_.frame_to_rgb(d);
      av_frame_unref(decoded_.get());
      const H264FrameQp qp = frame_qp_[decoded_count_];
      sink(decoded_count_++, finish_frame ? finish_frame(std::move(rgb)) : std::move(rgb), qp);
    }
  }

  int width_, height_;
  CodecPtr enc_, dec_;
  FramePtr frame_, decoded_;
  PacketPtr packet_;
  Converter converter_, out_converter_;
  H264SliceReader slices_;
  std::vector<H264FrameQp> frame_qp_;  // by presentation index
  size_t decoded_count_ = 0;
};

}  // namespace

std::string h264_recipe() {
  return std::string("libx264 preset=") + kPreset + " " + kX264Params + " keyint=" + std::to_string(kKeyframeInterval) +
         " vbv=" + std::to_string(kVbvSeconds) + "s yuv420p; " + x264_version() + "; libavcodec " +
         std::to_string(avcodec_version()) + "; swscale " + std::to_string(swscale_version());
}

void h264_roundtrip_stream(size_t count, const H264Source& source, const H264Sink& sink, const H264RateControl& rate,
                           std::optional<Resolution> size, int fps, const H264PacketSink& packets) {
  if (rate.bitrate_kbps <= 0 && (rate.crf < 0 || rate.crf > 51))
    fail("CRF " + std::to_string(rate.crf) + " is not in 0..51");
  if (fps < 1 || fps > 1000) fail("frame rate " + std::to_string(fps) + " is not in 1..1000");
  if (size && (size->width < 2 || size->height < 2 || size->width % 2 || size->height % 2))
    fail("frame size " + std::to_string(size->width) + "x" + std::to_string(size->height) +
         " must have even sides (yuv420p)");
  if (count == 0) return;

  RgbImage first = source(0);
  if (first.width <= 0 || first.height <= 0 || first.pixels.size() != size_t(first.width) * first.height * 3)
    fail("frame 0 is not a valid RGB image");
  // Without a size, odd sides are padded to even and cropped back afterwards.
  const int out_w = size ? size->width : first.width, out_h = size ? size->height : first.height;
  const int coded_w = out_w + out_w % 2, coded_h = out_h + out_h % 2;

  Roundtrip codec(coded_w, coded_h, rate, fps);
  codec.packets = packets;
  if (coded_w != out_w || coded_h != out_h)
    codec.finish_frame = [&](RgbImage&& image) { return crop_to(std::move(image), out_w, out_h); };
  for (size_t i = 0; i < count; ++i) {
    RgbImage image = i == 0 ? std::move(first) : source(i);
    if (image.width <= 0 || image.height <= 0 || image.pixels.size() != size_t(image.width) * image.height * 3)
      fail("frame " + std::to_string(i) + " is not a valid RGB image");
    if (!size && (image.width != out_w || image.height != out_h))
      fail("frame " + std::to_string(i) + " is " + std::to_string(image.width) + "x" + std::to_string(image.height) +
           " but frame 0 is " + std::to_string(out_w) + "x" + std::to_string(out_h) +
           "; give a size to scale them all");
    if (size) codec.push(image, int64_t(i), sink);
    else codec.push(pad_to(image, coded_w, coded_h), int64_t(i), sink);
  }
  const size_t decoded = codec.finish(sink);
  if (decoded != count)
    fail("encoded " + std::to_string(count) + " frames but decoded " + std::to_string(decoded));
}

H264Roundtrip h264_roundtrip(const std::vector<RgbImage>& frames, const H264RateControl& rate,
                             std::optional<Resolution> size, int fps) {
  H264Roundtrip out;
  out.frames.reserve(frames.size());
  out.frame_qp.reserve(frames.size());
  h264_roundtrip_stream(
      frames.size(), [&](size_t i) { return frames[i]; },
      [&](size_t, RgbImage&& frame, const H264FrameQp& qp) {
        out.frames.push_back(std::move(frame));
        out.frame_qp.push_back(qp);
      },
      rate, size, fps);
  return out;
}

}  // namespace gearnn
