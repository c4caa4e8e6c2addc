/**
 * SECTION:element-gearnnoverlay
 * @title: gearnnoverlay
 * @short_description: blends the segmentation's class colours over the frame
 *
 * Reads the segmentation meta that `gearnn` attached to each frame and blends
 * the colour of each pixel's class (the bundle's palette) over the picture:
 * out = (1 - alpha) x frame + alpha x colour. A class map of another size
 * than the frame is scaled (nearest neighbour). Frames without the meta pass
 * unchanged.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 v4l2src ! videoconvert ! gearnn bundle=/path/to/bundle ! \
 *     gearnnoverlay alpha=0.4 ! videoconvert ! autovideosink
 * ]|
 */
#include "gstgearnnoverlay.h"

#include "class_map_scale.h"
#include "gearnnmeta.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <vector>

GST_DEBUG_CATEGORY_STATIC(gst_gearnn_overlay_debug);
#define GST_CAT_DEFAULT gst_gearnn_overlay_debug

#define OVERLAY_FORMATS \
  "{ RGB, BGR, RGBx, BGRx, xRGB, xBGR, RGBA, BGRA, ARGB, ABGR, I420, YV12, NV12, NV21, Y42B, Y444 }"

enum { PROP_0, PROP_ALPHA };
constexpr double kDefaultAlpha = 0.5;

// The palette in the frame's format and the class-map lookup, rebuilt only
// when the palette, the format or a size changes.
struct OverlayTables {
  std::vector<guint8> palette_rgb;  // the meta's palette they were built from
  GstVideoFormat format = GST_VIDEO_FORMAT_UNKNOWN;
  GstVideoColorimetry colorimetry{};
  std::vector<std::array<guint8, 3>> palette;
  gstgearnn::ClassMapScale scale;
};

struct _GstGearnnOverlay {
  GstVideoFilter parent;
  gdouble alpha;
  gboolean warned;
  OverlayTables* tables;
};

G_DEFINE_TYPE(GstGearnnOverlay, gst_gearnn_overlay, GST_TYPE_VIDEO_FILTER);
GST_ELEMENT_REGISTER_DEFINE(gearnnoverlay, "gearnnoverlay", GST_RANK_NONE, GST_TYPE_GEARNN_OVERLAY);

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE(
    "sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE(OVERLAY_FORMATS)));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE(
    "src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE(OVERLAY_FORMATS)));

// Palette entry per component of the frame's format (RGB, or Y'CbCr in the
// frame's matrix and range).
static std::vector<std::array<guint8, 3>> palette_in_format(const GstVideoInfo& info, const GstGearnnSegmentation& seg) {
  std::vector<std::array<guint8, 3>> out(std::max<guint>(seg.n_classes, 256));
  for (size_t c = 0; c < out.size(); ++c) {
    std::array<guint8, 3> rgb;
    if (seg.palette && c < seg.n_classes) {
      rgb = {seg.palette[3 * c], seg.palette[3 * c + 1], seg.palette[3 * c + 2]};
    } else {
      const guint8 g = guint8((c * 97) % 256);  // no palette: distinct greys
      rgb = {g, g, g};
    }
    if (GST_VIDEO_INFO_IS_RGB(&info)) {
      out[c] = rgb;
      continue;
    }
    gdouble kr = 0.299, kb = 0.114;
    gst_video_color_matrix_get_Kr_Kb(info.colorimetry.matrix, &kr, &kb);
    const double r = rgb[0] / 255.0, g = rgb[1] / 255.0, b = rgb[2] / 255.0;
    const double y = kr * r + (1 - kr - kb) * g + kb * b;
    const double cb = (b - y) / (2 * (1 - kb)), cr = (r - y) / (2 * (1 - kr));
    const bool full = info.colorimetry.range == GST_VIDEO_COLOR_RANGE_0_255;
    auto clamp8 = [](double v) { return guint8(std::clamp(std::lround(v), 0L, 255L)); };
    out[c] = full ? std::array<guint8, 3>{clamp8(y * 255), clamp8(128 + cb * 255), clamp8(128 + cr * 255)}
                  : std::array<guint8, 3>{clamp8(16 + y * 219), clamp8(128 + cb * 224), clamp8(128 + cr * 224)};
  }
  return out;
}

static GstFlowReturn gst_gearnn_overlay_transform_frame_ip(GstVideoFilter* filter, GstVideoFrame* frame) {
  GstGearnnOverlay* self = GST_GEARNN_OVERLAY(filter);
  GST_OBJECT_LOCK(self);
  const double alpha = self->alpha;
  GST_OBJECT_UNLOCK(self);

  GstGearnnSegmentation seg;
  if (!gst_buffer_get_gearnn_segmentation(frame->buffer, &seg) || seg.width == 0 || seg.height == 0) {
    if (!self->warned) {
      self->warned = TRUE;
      GST_WARNING_OBJECT(self, "frame without a segmentation meta (is gearnn upstream?): passed unchanged");
    }
    return GST_FLOW_OK;
  }
  const int a = int(std::lround(alpha * 256));
  if (a == 0) return GST_FLOW_OK;
  OverlayTables& t = *self->tables;
  const size_t palette_bytes = seg.palette ? size_t(seg.n_classes) * 3 : 0;
  if (t.palette.empty() || t.format != GST_VIDEO_INFO_FORMAT(&frame->info) ||
      !gst_video_colorimetry_is_equal(&t.colorimetry, &frame->info.colorimetry) ||
      t.palette_rgb.size() != palette_bytes || t.palette.size() < seg.n_classes ||
      (palette_bytes && std::memcmp(t.palette_rgb.data(), seg.palette, palette_bytes) != 0)) {
    t.palette = palette_in_format(frame->info, seg);
    t.palette_rgb.assign(seg.palette, seg.palette + palette_bytes);
    t.format = GST_VIDEO_INFO_FORMAT(&frame->info);
    t.colorimetry = frame->info.colorimetry;
  }
  const auto& palette = t.palette;
  const int fw = GST_VIDEO_FRAME_WIDTH(frame), fh = GST_VIDEO_FRAME_HEIGHT(frame);
  t.scale.prepare(fw, fh, int(seg.width), int(seg.height));

  const GstVideoFormatInfo* finfo = frame->info.finfo;
  for (guint c = 0; c < GST_VIDEO_FRAME_N_COMPONENTS(frame) && c < 3; ++c) {
    const int cw = GST_VIDEO_FRAME_COMP_WIDTH(frame, c), ch = GST_VIDEO_FRAME_COMP_HEIGHT(frame, c);
    const int wsub = GST_VIDEO_FORMAT_INFO_W_SUB(finfo, c), hsub = GST_VIDEO_FORMAT_INFO_H_SUB(finfo, c);
    const int pstride = GST_VIDEO_FRAME_COMP_PSTRIDE(frame, c), stride = GST_VIDEO_FRAME_COMP_STRIDE(frame, c);
    guint8* base = static_cast<guint8*>(GST_VIDEO_FRAME_COMP_DATA(frame, c));
    for (int y = 0; y < ch; ++y) {
      const guint8* classes = t.scale.row(seg.class_map, std::min(fh - 1, y << hsub));
      guint8* p = base + size_t(y) * stride;
      for (int x = 0; x < cw; ++x, p += pstride) {
        const guint8 cls = classes[t.scale.column(std::min(fw - 1, x << wsub))];
        const int target = palette[cls][c];
        *p = guint8(*p + (((target - int(*p)) * a) >> 8));
      }
    }
  }
  return GST_FLOW_OK;
}

static void gst_gearnn_overlay_set_property(GObject* object, guint id, const GValue* value, GParamSpec* pspec) {
  GstGearnnOverlay* self = GST_GEARNN_OVERLAY(object);
  if (id != PROP_ALPHA) {
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
    return;
  }
  GST_OBJECT_LOCK(self);
  self->alpha = g_value_get_double(value);
  GST_OBJECT_UNLOCK(self);
}

static void gst_gearnn_overlay_get_property(GObject* object, guint id, GValue* value, GParamSpec* pspec) {
  GstGearnnOverlay* self = GST_GEARNN_OVERLAY(object);
  if (id != PROP_ALPHA) {
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
    return;
  }
  GST_OBJECT_LOCK(self);
  g_value_set_double(value, self->alpha);
  GST_OBJECT_UNLOCK(self);
}

// A controlled alpha (GstController) follows its control source at each frame's stream time.
static void gst_gearnn_overlay_before_transform(GstBaseTransform* trans, GstBuffer* buf) {
  const GstClockTime stream_time =
      gst_segment_to_stream_time(&trans->segment, GST_FORMAT_TIME, GST_BUFFER_TIMESTAMP(buf));
  if (GST_CLOCK_TIME_IS_VALID(stream_time)) gst_object_sync_values(GST_OBJECT(trans), stream_time);
}

static void gst_gearnn_overlay_finalize(GObject* object) {
  delete GST_GEARNN_OVERLAY(object)->tables;
  G_OBJECT_CLASS(gst_gearnn_overlay_parent_class)->finalize(object);
}

static void gst_gearnn_overlay_class_init(GstGearnnOverlayClass* klass) {
  GObjectClass* gobject_class = G_OBJECT_CLASS(klass);
  gobject_class->finalize = gst_gearnn_overlay_finalize;
  GstElementClass* element_class = GST_ELEMENT_CLASS(klass);
  GstVideoFilterClass* filter_class = GST_VIDEO_FILTER_CLASS(klass);
  gobject_class->set_property = gst_gearnn_overlay_set_property;
  gobject_class->get_property = gst_gearnn_overlay_get_property;
  g_object_class_install_property(
      gobject_class, PROP_ALPHA,
      g_param_spec_double("alpha", "Alpha",
                          "Opacity of the class colours: 0 leaves the frame as it is, 1 shows the colours alone", 0.0,
                          1.0, kDefaultAlpha,
                          GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_CONTROLLABLE |
                                      GST_PARAM_MUTABLE_PLAYING)));
  gst_element_class_set_static_metadata(element_class, "GearNN segmentation overlay", "Filter/Effect/Video",
                                        "Blends the class colours of gearnn's segmentation meta over the frame",
                                        "gst-gearnn developers");
  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);
  filter_class->transform_frame_ip = GST_DEBUG_FUNCPTR(gst_gearnn_overlay_transform_frame_ip);
  GST_BASE_TRANSFORM_CLASS(klass)->before_transform = GST_DEBUG_FUNCPTR(gst_gearnn_overlay_before_transform);
  GST_DEBUG_CATEGORY_INIT(gst_gearnn_overlay_debug, "gearnnoverlay", 0, "GearNN overlay");
}

static void gst_gearnn_overlay_init(GstGearnnOverlay* self) {
  self->alpha = kDefaultAlpha;
  self->tables = new OverlayTables();
}
