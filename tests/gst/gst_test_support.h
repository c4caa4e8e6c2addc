// Shared by the element tests (one file per element): tiny random bundles
// (DRN-D-22, width 0.125, 5 classes: well under a second of inference per
// test), synthetic frames, the engine's own answer, harness and bus helpers.
#pragma once

#include "gearnnmeta.h"

#include <gst/check/gstharness.h>
#include <gst/gst.h>
#include <gst/video/video.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace gsttest {

// A random bundle of `kind` (gearnn::RandomBundleOptions), made once per process.
std::string bundle_of_kind(const std::string& kind, int levels = 3);
std::string abr_bundle();

GstVideoInfo video_info(GstVideoFormat format, int width, int height);
std::string caps_string(GstVideoFormat format, int width, int height);

// Converts a frame with the same converter settings as the element.
void convert(const GstVideoInfo& from, GstBuffer* src, const GstVideoInfo& to, GstBuffer* dst);

// A street-like synthetic frame in `format`: gradients, stripes and a box that
// moves with `seed`.
GstBuffer* make_frame(GstVideoFormat format, int width, int height, int seed = 0, int brightness = 255);

// What the engine computes directly on the frame (converted to RGB as the element does).
std::vector<uint8_t> engine_map(const std::string& bundle, const std::string& level, GstVideoFormat format,
                                int width, int height, GstBuffer* frame);

struct Seg {
  bool present = false;
  GstGearnnSegmentation s{};
  std::vector<uint8_t> map;
  std::string level, adaptor, exit;
};
Seg read_seg(GstBuffer* buf);

using HarnessPtr = std::unique_ptr<GstHarness, decltype(&gst_harness_teardown)>;
// A harness around "gearnn name=nn PROPERTIES".
HarnessPtr gearnn_harness(const std::string& properties);

// Pushes one frame and returns what came out (the test owns it).
GstBuffer* push_pull(GstHarness* h, GstBuffer* frame, int index = 0);

// Every message on the bus: element messages named `name` (copied) and the number of warnings.
std::vector<GstStructure*> element_messages(GstBus* bus, const char* name, int* warnings = nullptr);

// Plays a pipeline whose appsink is named "out" to its end (an error on the
// bus fails the test); the samples (caps and buffer) it got, or their buffers.
std::vector<GstSample*> samples_from_appsink(const std::string& description);
std::vector<GstBuffer*> run_to_appsink(const std::string& description);

// A frame with a segmentation meta of a fixed 5-class pattern (returned in `map_out`).
GstBuffer* frame_with_meta(GstVideoFormat format, int width, int height, std::vector<uint8_t>* map_out);
std::vector<uint8_t> bytes_of(GstBuffer* b);

}  // namespace gsttest
