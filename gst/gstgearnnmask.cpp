/**
 * SECTION:element-gearnnmask
 * @title: gearnnmask
 * @short_description: the segmentation as GRAY8 class-index frames
 *
 * Turns the segmentation meta of each frame into a GRAY8 frame of the same
 * size whose pixels are class indices (0 .. classes-1), for example to store
 * one PNG mask per frame. A class map of another size than the frame is
 * scaled (nearest neighbour). A frame without the meta gives a mask of 255
 * (the usual "ignore" index) and a warning once. The metas of the input frame
 * (the segmentation meta included) are kept on the mask.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 filesrc location=vtest.avi ! decodebin ! videoconvert ! \
 *     gearnn bundle=/path/to/bundle ! gearnnmask ! pngenc ! multifilesink location=mask-%05d.png
 * ]|
 */
#include "gstgearnnmask.h"

#include "class_map_scale.h"
#include "gearnnmeta.h"

#include <gst/video/video.h>

#include <cstring>

GST_DEBUG_CATEGORY_STATIC(gst_gearnn_mask_debug);
#define GST_CAT_DEFAULT gst_gearnn_mask_debug

struct _GstGearnnMask {
  GstBaseTransform parent;
  GstVideoInfo in_info, out_info;
  gboolean warned;
  gstgearnn::ClassMapScale* scale;
};

G_DEFINE_TYPE(GstGearnnMask, gst_gearnn_mask, GST_TYPE_BASE_TRANSFORM);
GST_ELEMENT_REGISTER_DEFINE(gearnnmask, "gearnnmask", GST_RANK_NONE, GST_TYPE_GEARNN_MASK);

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE(
    "sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE(GST_VIDEO_FORMATS_ALL)));
static GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE("GRAY8")));

static GstCaps* gst_gearnn_mask_transform_caps(GstBaseTransform* trans, GstPadDirection direction, GstCaps* caps,
                                               GstCaps* filter) {
  GstCaps* out = gst_caps_new_empty();
  for (guint i = 0; i < gst_caps_get_size(caps); ++i) {
    GstStructure* s = gst_structure_copy(gst_caps_get_structure(caps, i));
    gst_structure_remove_fields(s, "colorimetry", "chroma-site", nullptr);
    if (direction == GST_PAD_SINK)
      gst_structure_set(s, "format", G_TYPE_STRING, "GRAY8", nullptr);
    else
      gst_structure_remove_field(s, "format");
    out = gst_caps_merge_structure(out, s);
  }
  GstCaps* templ = gst_pad_get_pad_template_caps(direction == GST_PAD_SINK ? trans->srcpad : trans->sinkpad);
  GstCaps* result = gst_caps_intersect(out, templ);
  gst_caps_unref(out);
  gst_caps_unref(templ);
  if (filter) {
    GstCaps* filtered = gst_caps_intersect_full(filter, result, GST_CAPS_INTERSECT_FIRST);
    gst_caps_unref(result);
    result = filtered;
  }
  GST_DEBUG_OBJECT(trans, "%s %" GST_PTR_FORMAT " -> %" GST_PTR_FORMAT, direction == GST_PAD_SINK ? "sink" : "src",
                   caps, result);
  return result;
}

static gboolean gst_gearnn_mask_get_unit_size(GstBaseTransform*, GstCaps* caps, gsize* size) {
  GstVideoInfo info;
  if (!gst_video_info_from_caps(&info, caps)) return FALSE;
  *size = GST_VIDEO_INFO_SIZE(&info);
  return TRUE;
}

static gboolean gst_gearnn_mask_set_caps(GstBaseTransform* trans, GstCaps* incaps, GstCaps* outcaps) {
  GstGearnnMask* self = GST_GEARNN_MASK(trans);
  return gst_video_info_from_caps(&self->in_info, incaps) && gst_video_info_from_caps(&self->out_info, outcaps);
}

static GstFlowReturn gst_gearnn_mask_transform(GstBaseTransform* trans, GstBuffer* inbuf, GstBuffer* outbuf) {
  GstGearnnMask* self = GST_GEARNN_MASK(trans);
  GstVideoFrame out;
  if (!gst_video_frame_map(&out, &self->out_info, outbuf, GST_MAP_WRITE)) return GST_FLOW_ERROR;
  const int w = GST_VIDEO_FRAME_WIDTH(&out), h = GST_VIDEO_FRAME_HEIGHT(&out);
  const int stride = GST_VIDEO_FRAME_PLANE_STRIDE(&out, 0);
  guint8* dst = static_cast<guint8*>(GST_VIDEO_FRAME_PLANE_DATA(&out, 0));
  GstGearnnSegmentation seg;
  if (gst_buffer_get_gearnn_segmentation(inbuf, &seg) && seg.width > 0 && seg.height > 0) {
    gstgearnn::ClassMapScale& scale = *self->scale;
    scale.prepare(w, h, int(seg.width), int(seg.height));
    for (int y = 0; y < h; ++y) {
      const guint8* classes = scale.row(seg.class_map, y);
      guint8* out_row = dst + size_t(y) * stride;
      if (scale.identity()) {
        std::memcpy(out_row, classes, size_t(w));
        continue;
      }
      for (int x = 0; x < w; ++x) out_row[x] = classes[scale.column(x)];
    }
  } else {
    if (!self->warned) {
      self->warned = TRUE;
      GST_ELEMENT_WARNING(self, STREAM, FORMAT, ("Frame without a segmentation meta: mask set to 255"),
                          ("is a gearnn element upstream?"));
    }
    for (int y = 0; y < h; ++y) std::memset(dst + size_t(y) * stride, 255, size_t(w));
  }
  gst_video_frame_unmap(&out);
  return GST_FLOW_OK;
}

static void gst_gearnn_mask_finalize(GObject* object) {
  delete GST_GEARNN_MASK(object)->scale;
  G_OBJECT_CLASS(gst_gearnn_mask_parent_class)->finalize(object);
}

static void gst_gearnn_mask_class_init(GstGearnnMaskClass* klass) {
  G_OBJECT_CLASS(klass)->finalize = gst_gearnn_mask_finalize;
  GstElementClass* element_class = GST_ELEMENT_CLASS(klass);
  GstBaseTransformClass* trans_class = GST_BASE_TRANSFORM_CLASS(klass);
  gst_element_class_set_static_metadata(element_class, "GearNN segmentation mask", "Filter/Converter/Video",
                                        "Outputs gearnn's class map as GRAY8 frames of class indices",
                                        "gst-gearnn developers");
  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);
  trans_class->passthrough_on_same_caps = FALSE;
  trans_class->transform_caps = GST_DEBUG_FUNCPTR(gst_gearnn_mask_transform_caps);
  trans_class->get_unit_size = GST_DEBUG_FUNCPTR(gst_gearnn_mask_get_unit_size);
  trans_class->set_caps = GST_DEBUG_FUNCPTR(gst_gearnn_mask_set_caps);
  trans_class->transform = GST_DEBUG_FUNCPTR(gst_gearnn_mask_transform);
  GST_DEBUG_CATEGORY_INIT(gst_gearnn_mask_debug, "gearnnmask", 0, "GearNN mask");
}

static void gst_gearnn_mask_init(GstGearnnMask* self) {
  self->scale = new gstgearnn::ClassMapScale();
}
