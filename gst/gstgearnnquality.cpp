/**
 * SECTION:element-gearnnquality
 * @title: gearnnquality
 * @short_description: measures the quality of encoded frames for gearnn
 *
 * Placed between a parser and a decoder, it reads each encoded frame's
 * quality from the bitstream and attaches it as a quality meta
 * (`GearnnQualityMeta`, see gearnnmeta.h). The meta has no tags, so the
 * decoder (avdec_h264, jpegdec, any #GstVideoDecoder) copies it to the decoded
 * frame, where `gearnn` reads it. Buffers pass unchanged.
 *
 * - H.264 (access units, byte-stream or avc): the slice headers give each
 *   slice's QP (SliceQPY = 26 + pic_init_qp_minus26 + slice_qp_delta); the
 *   meta holds their mean weighted by macroblocks (the frame's base QP; the
 *   per-macroblock deltas of adaptive quantisation are not decoded), the
 *   number of slices, their types and the frame type they make (I, P or B).
 * - JPEG: the luma quantisation table (DQT of the first frame component) is
 *   inverted to the IJG quality that libjpeg's scaling would have produced
 *   (the engine's gearnn::jpeg_quality_of, shared with the offline tools).
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 filesrc location=clip.mp4 ! qtdemux ! h264parse ! gearnnquality ! \
 *     avdec_h264 ! videoconvert ! gearnn bundle=abr-bundle ! fakesink
 * ]|
 */
#include "gstgearnnquality.h"

#include "gearnnmeta.h"

#include "distort/jpeg_quality.h"
#include "measure/h264_slice.h"

#include <cstring>
#include <optional>
#include <string>

GST_DEBUG_CATEGORY_STATIC(gst_gearnn_quality_debug);
#define GST_CAT_DEFAULT gst_gearnn_quality_debug

namespace {

enum class Codec { none, h264, jpeg };

}  // namespace

struct _GstGearnnQualityProbe {
  GstBaseTransform parent;
  Codec codec;
  gearnn::H264SliceReader* h264;
  gboolean warned;
};

G_DEFINE_TYPE(GstGearnnQualityProbe, gst_gearnn_quality, GST_TYPE_BASE_TRANSFORM);
GST_ELEMENT_REGISTER_DEFINE(gearnnquality, "gearnnquality", GST_RANK_NONE, GST_TYPE_GEARNN_QUALITY);

#define QUALITY_CAPS                                                                  \
  "video/x-h264, stream-format = (string) { avc, avc3, byte-stream }, alignment = (string) au; " \
  "image/jpeg"

static GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(QUALITY_CAPS));
static GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(QUALITY_CAPS));

static gboolean gst_gearnn_quality_set_caps(GstBaseTransform* trans, GstCaps* incaps, GstCaps*) {
  GstGearnnQualityProbe* self = GST_GEARNN_QUALITY(trans);
  const GstStructure* s = gst_caps_get_structure(incaps, 0);
  delete self->h264;
  self->h264 = nullptr;
  if (gst_structure_has_name(s, "image/jpeg")) {
    self->codec = Codec::jpeg;
    return TRUE;
  }
  self->codec = Codec::h264;
  self->h264 = new gearnn::H264SliceReader();
  const gchar* format = gst_structure_get_string(s, "stream-format");
  const bool avc = format && g_str_has_prefix(format, "avc");
  const GValue* codec_data = gst_structure_get_value(s, "codec_data");
  if (avc && codec_data && GST_VALUE_HOLDS_BUFFER(codec_data)) {
    GstMapInfo map;
    GstBuffer* cd = gst_value_get_buffer(codec_data);
    if (gst_buffer_map(cd, &map, GST_MAP_READ)) {
      if (!self->h264->read_avcc(map.data, map.size)) GST_WARNING_OBJECT(self, "cannot parse codec_data");
      gst_buffer_unmap(cd, &map);
    }
  } else if (avc) {
    self->h264->set_avc(4);
    GST_DEBUG_OBJECT(self, "avc without codec_data: expecting in-band SPS/PPS");
  }
  return TRUE;
}

static GstFlowReturn gst_gearnn_quality_transform_ip(GstBaseTransform* trans, GstBuffer* buf) {
  GstGearnnQualityProbe* self = GST_GEARNN_QUALITY(trans);
  GstMapInfo map;
  if (!gst_buffer_map(buf, &map, GST_MAP_READ)) return GST_FLOW_OK;
  GstGearnnQuality q{};
  q.qp = -1;
  q.jpeg_quality = -1;
  bool have = false;
  std::optional<gearnn::H264FrameQp> frame;
  if (self->codec == Codec::h264 && self->h264) {
    // The engine's reader, the one the offline side describes H.264 levels with.
    if ((frame = self->h264->read_access_unit(map.data, map.size))) {
      q.codec = "h264";
      q.qp = frame->qp;
      q.slices = guint(frame->slices);
      q.slice_types = frame->slice_types.c_str();
      q.frame_type = gearnn::h264_frame_type_name(frame->type)[0];
      have = true;
    }
  } else if (self->codec == Codec::jpeg) {
    // The engine's reader: the luma table of the first frame component, inverted
    // to the IJG quality (the same number the offline generators use).
    if (auto quality = gearnn::jpeg_quality_of(map.data, map.size)) {
      q.codec = "jpeg";
      q.jpeg_quality = *quality;
      have = true;
    }
  }
  gst_buffer_unmap(buf, &map);
  if (have) {
    gst_buffer_add_gearnn_quality(buf, &q);
  } else if (!self->warned) {
    self->warned = TRUE;
    GST_WARNING_OBJECT(self, "no quality found in a frame (missing parameter sets or tables?)");
  }
  return GST_FLOW_OK;
}

static gboolean gst_gearnn_quality_stop(GstBaseTransform* trans) {
  GstGearnnQualityProbe* self = GST_GEARNN_QUALITY(trans);
  delete self->h264;
  self->h264 = nullptr;
  self->codec = Codec::none;
  self->warned = FALSE;
  return TRUE;
}

static void gst_gearnn_quality_finalize(GObject* object) {
  delete GST_GEARNN_QUALITY(object)->h264;
  G_OBJECT_CLASS(gst_gearnn_quality_parent_class)->finalize(object);
}

static void gst_gearnn_quality_class_init(GstGearnnQualityProbeClass* klass) {
  GObjectClass* gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass* element_class = GST_ELEMENT_CLASS(klass);
  GstBaseTransformClass* trans_class = GST_BASE_TRANSFORM_CLASS(klass);
  gobject_class->finalize = gst_gearnn_quality_finalize;
  gst_element_class_set_static_metadata(
      element_class, "GearNN quality probe", "Analyzer/Video",
      "Reads each encoded frame's quality (H.264 slice QP, JPEG quantisation tables) and attaches it as a meta "
      "that survives decoding",
      "gst-gearnn developers");
  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);
  trans_class->passthrough_on_same_caps = FALSE;
  trans_class->set_caps = GST_DEBUG_FUNCPTR(gst_gearnn_quality_set_caps);
  trans_class->transform_ip = GST_DEBUG_FUNCPTR(gst_gearnn_quality_transform_ip);
  trans_class->stop = GST_DEBUG_FUNCPTR(gst_gearnn_quality_stop);
  GST_DEBUG_CATEGORY_INIT(gst_gearnn_quality_debug, "gearnnquality", 0, "GearNN quality probe");
}

static void gst_gearnn_quality_init(GstGearnnQualityProbe* self) {
  gst_base_transform_set_in_place(GST_BASE_TRANSFORM(self), TRUE);
}
