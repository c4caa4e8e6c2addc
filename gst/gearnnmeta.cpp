// The two GstCustomMetas of gst-gearnn and their C API (see gearnnmeta.h).
#include "gearnnmeta.h"

#include <cstring>

namespace {

GstCustomMeta* replace_meta(GstBuffer* buffer, const char* name) {
  if (GstCustomMeta* old = gst_buffer_get_custom_meta(buffer, name))
    gst_buffer_remove_meta(buffer, reinterpret_cast<GstMeta*>(old));
  return gst_buffer_add_custom_meta(buffer, name);
}

}  // namespace

void gst_gearnn_meta_register(void) {
  static gsize done = 0;
  if (g_once_init_enter(&done)) {
    // No tags: decoders and converters that copy untagged metas keep them.
    static const gchar* no_tags[] = {nullptr};
    gst_meta_register_custom(GST_GEARNN_SEGMENTATION_META_NAME, no_tags, nullptr, nullptr, nullptr);
    gst_meta_register_custom(GST_GEARNN_QUALITY_META_NAME, no_tags, nullptr, nullptr, nullptr);
    g_once_init_leave(&done, 1);
  }
}

GstCustomMeta* gst_buffer_add_gearnn_segmentation_bytes(GstBuffer* buffer, const GstGearnnSegmentation* seg,
                                                        GBytes* class_map, GBytes* palette) {
  g_return_val_if_fail(GST_IS_BUFFER(buffer) && gst_buffer_is_writable(buffer), nullptr);
  g_return_val_if_fail(seg != nullptr && class_map != nullptr, nullptr);
  g_return_val_if_fail(g_bytes_get_size(class_map) == gsize(seg->width) * seg->height, nullptr);
  gst_gearnn_meta_register();

  GstCustomMeta* meta = replace_meta(buffer, GST_GEARNN_SEGMENTATION_META_NAME);
  GstStructure* s = gst_custom_meta_get_structure(meta);
  gst_structure_set(s, "width", G_TYPE_UINT, seg->width, "height", G_TYPE_UINT, seg->height, "classes",
                    G_TYPE_UINT, seg->n_classes, "class-map", G_TYPE_BYTES, class_map, "level", G_TYPE_STRING,
                    seg->level ? seg->level : "", "level-index", G_TYPE_UINT, seg->level_index, "inference-ns",
                    G_TYPE_UINT64, seg->inference_ns, "reused", G_TYPE_BOOLEAN, seg->reused, nullptr);
  if (seg->adaptor) gst_structure_set(s, "adaptor", G_TYPE_STRING, seg->adaptor, nullptr);
  if (seg->has_expected) gst_structure_set(s, "expected-miou", G_TYPE_DOUBLE, seg->expected_miou, nullptr);
  if (seg->exit) gst_structure_set(s, "exit", G_TYPE_STRING, seg->exit, nullptr);
  if (seg->has_compute_fraction)
    gst_structure_set(s, "compute-fraction", G_TYPE_DOUBLE, seg->compute_fraction, nullptr);
  if (palette) gst_structure_set(s, "palette", G_TYPE_BYTES, palette, nullptr);
  if (seg->measured & GST_GEARNN_MEASURED_RESOLUTION)
    gst_structure_set(s, "measured-width", G_TYPE_UINT, seg->measured_width, "measured-height", G_TYPE_UINT,
                      seg->measured_height, nullptr);
  if (seg->measured & GST_GEARNN_MEASURED_H264_QP)
    gst_structure_set(s, "measured-qp", G_TYPE_DOUBLE, seg->measured_qp, nullptr);
  if (seg->measured & GST_GEARNN_MEASURED_JPEG_QUALITY)
    gst_structure_set(s, "measured-jpeg-quality", G_TYPE_DOUBLE, seg->measured_jpeg_quality, nullptr);
  if (seg->measured & GST_GEARNN_MEASURED_BRIGHTNESS)
    gst_structure_set(s, "measured-brightness", G_TYPE_DOUBLE, seg->measured_brightness, nullptr);
  return meta;
}

GstCustomMeta* gst_buffer_add_gearnn_segmentation(GstBuffer* buffer, const GstGearnnSegmentation* seg) {
  g_return_val_if_fail(seg != nullptr && (seg->class_map != nullptr || seg->width * seg->height == 0), nullptr);
  GBytes* bytes = g_bytes_new(seg->class_map, gsize(seg->width) * seg->height);
  GBytes* palette = seg->palette ? g_bytes_new(seg->palette, gsize(seg->n_classes) * 3) : nullptr;
  GstCustomMeta* meta = gst_buffer_add_gearnn_segmentation_bytes(buffer, seg, bytes, palette);
  g_bytes_unref(bytes);
  if (palette) g_bytes_unref(palette);
  return meta;
}

gboolean gst_buffer_get_gearnn_segmentation(GstBuffer* buffer, GstGearnnSegmentation* seg) {
  g_return_val_if_fail(GST_IS_BUFFER(buffer) && seg != nullptr, FALSE);
  gst_gearnn_meta_register();
  GstCustomMeta* meta = gst_buffer_get_custom_meta(buffer, GST_GEARNN_SEGMENTATION_META_NAME);
  if (!meta) return FALSE;
  const GstStructure* s = gst_custom_meta_get_structure(meta);
  std::memset(seg, 0, sizeof *seg);
  const GValue* map = gst_structure_get_value(s, "class-map");
  if (!gst_structure_get_uint(s, "width", &seg->width) || !gst_structure_get_uint(s, "height", &seg->height) ||
      !map || !G_VALUE_HOLDS(map, G_TYPE_BYTES))
    return FALSE;
  GBytes* bytes = static_cast<GBytes*>(g_value_get_boxed(map));
  gsize size = 0;
  seg->class_map = static_cast<const guint8*>(g_bytes_get_data(bytes, &size));
  if (size != gsize(seg->width) * seg->height) return FALSE;
  gst_structure_get_uint(s, "classes", &seg->n_classes);
  const GValue* palette = gst_structure_get_value(s, "palette");
  if (palette && G_VALUE_HOLDS(palette, G_TYPE_BYTES)) {
    GBytes* p = static_cast<GBytes*>(g_value_get_boxed(palette));
    gsize psize = 0;
    const guint8* data = static_cast<const guint8*>(g_bytes_get_data(p, &psize));
    if (psize == gsize(seg->n_classes) * 3) seg->palette = data;
  }
  seg->level = gst_structure_get_string(s, "level");
  gst_structure_get_uint(s, "level-index", &seg->level_index);
  seg->adaptor = gst_structure_get_string(s, "adaptor");
  if (gst_structure_get_uint(s, "measured-width", &seg->measured_width) &&
      gst_structure_get_uint(s, "measured-height", &seg->measured_height))
    seg->measured = GstGearnnMeasured(seg->measured | GST_GEARNN_MEASURED_RESOLUTION);
  if (gst_structure_get_double(s, "measured-qp", &seg->measured_qp))
    seg->measured = GstGearnnMeasured(seg->measured | GST_GEARNN_MEASURED_H264_QP);
  if (gst_structure_get_double(s, "measured-jpeg-quality", &seg->measured_jpeg_quality))
    seg->measured = GstGearnnMeasured(seg->measured | GST_GEARNN_MEASURED_JPEG_QUALITY);
  if (gst_structure_get_double(s, "measured-brightness", &seg->measured_brightness))
    seg->measured = GstGearnnMeasured(seg->measured | GST_GEARNN_MEASURED_BRIGHTNESS);
  gst_structure_get_uint64(s, "inference-ns", &seg->inference_ns);
  gst_structure_get_boolean(s, "reused", &seg->reused);
  seg->has_expected = gst_structure_get_double(s, "expected-miou", &seg->expected_miou);
  seg->exit = gst_structure_get_string(s, "exit");
  seg->has_compute_fraction = gst_structure_get_double(s, "compute-fraction", &seg->compute_fraction);
  return TRUE;
}

// For a meta without `frame-type` (a producer that predates it, or one that
// fills only the documented slice list): I when every slice is I or SI, B
// when any is B, else P; 0 for an empty or unreadable list.
static gchar frame_type_of(const gchar* slice_types) {
  if (!slice_types || !*slice_types) return 0;
  bool all_intra = true, any_b = false;
  for (const gchar* p = slice_types; *p;) {
    const gchar* end = std::strchr(p, ',');
    const size_t n = end ? size_t(end - p) : std::strlen(p);
    auto is = [&](const char* name) { return std::strlen(name) == n && std::strncmp(p, name, n) == 0; };
    const bool intra = is("I") || is("SI"), b = is("B");
    if (!intra && !b && !is("P") && !is("SP")) return 0;
    all_intra = all_intra && intra;
    any_b = any_b || b;
    p = end ? end + 1 : p + n;
  }
  return all_intra ? 'I' : any_b ? 'B' : 'P';
}

GstCustomMeta* gst_buffer_add_gearnn_quality(GstBuffer* buffer, const GstGearnnQuality* q) {
  g_return_val_if_fail(GST_IS_BUFFER(buffer) && gst_buffer_is_writable(buffer), nullptr);
  g_return_val_if_fail(q != nullptr && q->codec != nullptr, nullptr);
  gst_gearnn_meta_register();
  GstCustomMeta* meta = replace_meta(buffer, GST_GEARNN_QUALITY_META_NAME);
  GstStructure* s = gst_custom_meta_get_structure(meta);
  gst_structure_set(s, "codec", G_TYPE_STRING, q->codec, nullptr);
  if (q->qp >= 0) gst_structure_set(s, "qp", G_TYPE_DOUBLE, q->qp, nullptr);
  if (q->slices > 0) gst_structure_set(s, "slices", G_TYPE_UINT, q->slices, nullptr);
  if (q->slice_types) gst_structure_set(s, "slice-types", G_TYPE_STRING, q->slice_types, nullptr);
  if (q->frame_type == 'I' || q->frame_type == 'P' || q->frame_type == 'B') {
    const gchar type[2] = {q->frame_type, 0};
    gst_structure_set(s, "frame-type", G_TYPE_STRING, type, nullptr);
  }
  if (q->jpeg_quality >= 0) gst_structure_set(s, "jpeg-quality", G_TYPE_DOUBLE, q->jpeg_quality, nullptr);
  return meta;
}

gboolean gst_buffer_get_gearnn_quality(GstBuffer* buffer, GstGearnnQuality* q) {
  g_return_val_if_fail(GST_IS_BUFFER(buffer) && q != nullptr, FALSE);
  gst_gearnn_meta_register();
  GstCustomMeta* meta = gst_buffer_get_custom_meta(buffer, GST_GEARNN_QUALITY_META_NAME);
  if (!meta) return FALSE;
  const GstStructure* s = gst_custom_meta_get_structure(meta);
  const gchar* codec = gst_structure_get_string(s, "codec");
  q->codec = codec && std::strcmp(codec, "h264") == 0 ? "h264" : codec && std::strcmp(codec, "jpeg") == 0 ? "jpeg" : "";
  q->qp = -1;
  q->slices = 0;
  q->jpeg_quality = -1;
  gst_structure_get_double(s, "qp", &q->qp);
  gst_structure_get_uint(s, "slices", &q->slices);
  q->slice_types = gst_structure_get_string(s, "slice-types");
  const gchar* type = gst_structure_get_string(s, "frame-type");
  q->frame_type = type && (type[0] == 'I' || type[0] == 'P' || type[0] == 'B') && !type[1] ? type[0]
                                                                                         : frame_type_of(q->slice_types);
  gst_structure_get_double(s, "jpeg-quality", &q->jpeg_quality);
  return TRUE;
}
