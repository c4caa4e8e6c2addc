#include "stream_engine.h"

#include "error.h"

namespace gstgearnn {
namespace {

gearnn::YuvMatrix matrix_of(const GstVideoInfo& info) {
  switch (GST_VIDEO_INFO_COLORIMETRY(&info).matrix) {
    case GST_VIDEO_COLOR_MATRIX_BT709: return gearnn::YuvMatrix::bt709;
    case GST_VIDEO_COLOR_MATRIX_BT2020: return gearnn::YuvMatrix::bt2020;
    default: return gearnn::YuvMatrix::bt601;
  }
}

gearnn::YuvRange range_of(const GstVideoInfo& info) {
  return GST_VIDEO_INFO_COLORIMETRY(&info).range == GST_VIDEO_COLOR_RANGE_0_255 ? gearnn::YuvRange::full
                                                                                : gearnn::YuvRange::video;
}

}  // namespace

StreamEngine::StreamEngine(const std::string& bundle, const std::string& device)
    : model_(gearnn::Bundle::load_shared(bundle, device)) {
  const gearnn::Manifest& m = model_.bundle().manifest();
  std::vector<uint8_t> colors;
  for (const auto& c : m.classes) colors.insert(colors.end(), c.color.begin(), c.color.end());
  palette_ = g_bytes_new(colors.data(), colors.size());
}

StreamEngine::~StreamEngine() {
  release_conversion();
  g_bytes_unref(palette_);
}

void StreamEngine::release_conversion() {
  yuv420_.reset();
  if (converter_) gst_video_converter_free(converter_);
  converter_ = nullptr;
  if (rgb_buffer_) gst_buffer_unref(rgb_buffer_);
  rgb_buffer_ = nullptr;
  rgb_.clear();
}

void StreamEngine::set_format(const GstVideoInfo& info) {
  release_conversion();
  model_.prepare(GST_VIDEO_INFO_WIDTH(&info), GST_VIDEO_INFO_HEIGHT(&info));
  const GstVideoFormat format = GST_VIDEO_INFO_FORMAT(&info);
  if (format == GST_VIDEO_FORMAT_RGB) return;
  if (format == GST_VIDEO_FORMAT_I420 || format == GST_VIDEO_FORMAT_YV12 || format == GST_VIDEO_FORMAT_NV12 ||
      format == GST_VIDEO_FORMAT_NV21) {
    yuv420_ = std::make_unique<gearnn::Yuv420ToRgb>(GST_VIDEO_INFO_WIDTH(&info), GST_VIDEO_INFO_HEIGHT(&info),
                                                    range_of(info), matrix_of(info));
    rgb_.resize(size_t(GST_VIDEO_INFO_WIDTH(&info)) * size_t(GST_VIDEO_INFO_HEIGHT(&info)) * 3);
    return;
  }
  gst_video_info_set_format(&rgb_info_, GST_VIDEO_FORMAT_RGB, GST_VIDEO_INFO_WIDTH(&info),
                            GST_VIDEO_INFO_HEIGHT(&info));
  // The converter never changes rate or interlacing: they must match.
  rgb_info_.fps_n = info.fps_n;
  rgb_info_.fps_d = info.fps_d;
  rgb_info_.par_n = info.par_n;
  rgb_info_.par_d = info.par_d;
  rgb_info_.interlace_mode = info.interlace_mode;
  // Full-range output, no dithering: the frame as the network was trained on it.
  GstStructure* config = gst_structure_new("GstVideoConverter", GST_VIDEO_CONVERTER_OPT_DITHER_METHOD,
                                           GST_TYPE_VIDEO_DITHER_METHOD, GST_VIDEO_DITHER_NONE, nullptr);
  converter_ = gst_video_converter_new(const_cast<GstVideoInfo*>(&info), &rgb_info_, config);
  if (!converter_)
    throw gearnn::Error(std::string("cannot convert ") + gst_video_format_to_string(GST_VIDEO_INFO_FORMAT(&info)) +
                        " frames to RGB");
  rgb_.resize(GST_VIDEO_INFO_SIZE(&rgb_info_));
  // A buffer over our own memory, made once, so that the converter writes straight into it.
  rgb_buffer_ = gst_buffer_new_wrapped_full(GstMemoryFlags(0), rgb_.data(), rgb_.size(), 0, rgb_.size(), nullptr,
                                            nullptr);
}

gearnn::RgbView StreamEngine::rgb(const GstVideoFrame& frame) {
  if (yuv420_) {
    // By component, so that YV12's and NV21's swapped chroma need nothing more.
    gearnn::Yuv420View planes;
    for (int c = 0; c < 3; ++c) {
      planes.plane[size_t(c)] = static_cast<const uint8_t*>(GST_VIDEO_FRAME_COMP_DATA(&frame, c));
      planes.stride[size_t(c)] = size_t(GST_VIDEO_FRAME_COMP_STRIDE(&frame, c));
    }
    planes.chroma_step = size_t(GST_VIDEO_FRAME_COMP_PSTRIDE(&frame, 1));
    const size_t stride = size_t(yuv420_->width()) * 3;
    yuv420_->convert(planes, rgb_.data(), stride);
    return {rgb_.data(), yuv420_->width(), yuv420_->height(), stride};
  }
  if (!converter_) {
    return {static_cast<const uint8_t*>(GST_VIDEO_FRAME_PLANE_DATA(&frame, 0)), GST_VIDEO_FRAME_WIDTH(&frame),
            GST_VIDEO_FRAME_HEIGHT(&frame), size_t(GST_VIDEO_FRAME_PLANE_STRIDE(&frame, 0))};
  }
  GstVideoFrame out;
  if (!gst_video_frame_map(&out, &rgb_info_, rgb_buffer_, GST_MAP_WRITE))
    throw gearnn::Error("cannot map the RGB conversion buffer");
  gst_video_converter_frame(converter_, &frame, &out);
  gst_video_frame_unmap(&out);
  return {rgb_.data(), GST_VIDEO_INFO_WIDTH(&rgb_info_), GST_VIDEO_INFO_HEIGHT(&rgb_info_),
          size_t(GST_VIDEO_INFO_PLANE_STRIDE(&rgb_info_, 0))};
}

}  // namespace gstgearnn
