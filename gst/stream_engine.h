// The engine as one gearnn element sees it: a view on a shared resident
// bundle (gearnn::AdaptiveModel) plus what it takes to feed GStreamer frames
// to it (conversion to packed RGB, the palette). No GObject here.
// 4:2:0 frames (I420, YV12, NV12, NV21: what decoders give) are converted by
// gearnn::Yuv420ToRgb, as the offline side decodes; other formats by a
// GstVideoConverter.
#pragma once

#include "adaptive_model.h"
#include "bundle.h"
#include "distortion.h"
#include "image.h"
#include "yuv420_to_rgb.h"

#include <gst/video/video.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace gstgearnn {

class StreamEngine {
public:
  // Loads (or shares) the bundle. Throws gearnn::Error naming the file.
  StreamEngine(const std::string& bundle, const std::string& device);
  ~StreamEngine();
  StreamEngine(const StreamEngine&) = delete;
  StreamEngine& operator=(const StreamEngine&) = delete;

  const gearnn::Bundle& bundle() const { return model_.bundle(); }
  gearnn::AdaptiveModel& model() { return model_; }
  // Engines (elements) of this process that share this resident bundle.
  long bundle_users() const { return model_.shared_bundle().use_count(); }

  // Prepares conversion for frames of this format (called on every caps
  // change): the converter and the RGB frame it writes are made here, once.
  void set_format(const GstVideoInfo& info);
  // Packed RGB of a mapped frame: the frame itself when it is RGB, else a
  // converted copy owned by the engine (valid until the next call).
  gearnn::RgbView rgb(const GstVideoFrame& frame);

  // The bundle's palette, n_classes x RGB, shared with every meta.
  GBytes* palette() const { return palette_; }

private:
  void release_conversion();

  gearnn::AdaptiveModel model_;
  std::unique_ptr<gearnn::Yuv420ToRgb> yuv420_;
  GstVideoConverter* converter_ = nullptr;
  GstVideoInfo rgb_info_{};
  std::vector<uint8_t> rgb_;
  GstBuffer* rgb_buffer_ = nullptr;  // wraps rgb_
  GBytes* palette_ = nullptr;
};

}  // namespace gstgearnn
