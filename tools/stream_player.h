#pragma once
// Plays a file of H.264 video (an Annex B stream, or MP4, Matroska, MPEG-TS)
// or of JPEG images (one after another, as an MJPEG camera sends them)
// through the real elements (... ! gearnnquality ! decoder ! gearnn ! appsink)
// and hands each frame's segmentation meta to a callback, in order.
#include <functional>
#include <string>

#include <gst/gst.h>

#include "gearnnmeta.h"

namespace gearnn::tools {

enum class StreamCodec { h264, jpeg };

struct PlayOptions {
  std::string bundle;
  std::string level_source = "auto";  // or "fixed" with `level`
  std::string level;
  int threads = 0;
  bool early_exit = false;   // the bundle's exits, at `exit_scale` times their thresholds
  double exit_scale = 1.0;
};

// Makes sure the gearnn elements can be found: GST_PLUGIN_PATH, the
// registry, or the build folder this tool was built in. Throws gearnn::Error
// with a message saying what to set when they cannot.
void require_gearnn_plugin();

// The elements a file of `codec` is played through, from its parser to
// gearnn, as gst-launch-1.0 writes them (for reports).
std::string played_through(StreamCodec codec);

// Throws gearnn::Error (naming the file and the element) when the pipeline
// cannot be built, posts an error, or ends without EOS.
void play_file(const std::string& path, StreamCodec codec, const PlayOptions& options,
               const std::function<void(const GstGearnnSegmentation&)>& frame);

}  // namespace gearnn::tools
