/* gst-gearnn: metadata API
 *
 * This library is free software; you can redistribute it and/or modify it
 * under the terms of the GNU Lesser General Public License, version 2.1 or
 * later.
 */
/**
 * SECTION:gearnnmeta
 * @title: GearNN metadata
 * @short_description: per-frame segmentation and stream-quality metadata
 *
 * Two metas travel on buffers in a gst-gearnn pipeline. Both are
 * #GstCustomMeta (registered with gst_meta_register_custom()), so their
 * fields live in a #GstStructure that any language binding can read without
 * compiled helpers. The functions below are the C API over those structures.
 *
 * **Segmentation meta** (name and structure name `"GearnnSegmentationMeta"`),
 * attached by the `gearnn` element to every frame
 * it outputs:
 *
 * | field                  | type        | meaning |
 * |------------------------|-------------|---------|
 * | `width`, `height`      | uint        | size of the class map (the frame's size) |
 * | `classes`              | uint        | number of classes of the bundle |
 * | `class-map`            | GBytes      | `width` x `height` bytes, row-major, one class index per pixel |
 * | `palette`              | GBytes      | `classes` x 3 bytes: the RGB colour of each class |
 * | `level`                | string      | name of the selected level |
 * | `level-index`          | uint        | its index in the bundle's manifest |
 * | `adaptor`              | string      | the adaptor file of that level, absent when the level runs the base |
 * | `measured-width`, `measured-height` | uint | resolution that was measured (absent if not measured) |
 * | `measured-qp`          | double      | H.264 mean QP that was measured (absent if not measured) |
 * | `measured-jpeg-quality`| double      | estimated IJG quality (absent if not measured) |
 * | `measured-brightness`  | double      | brightness factor that was measured (absent if not measured) |
 * | `inference-ns`         | uint64      | wall time of the inference that produced the map |
 * | `reused`               | boolean     | %TRUE when the map was computed on an earlier frame (`interval`) |
 * | `expected-miou`        | double      | the level's mIoU (percent) as measured offline (`gearnn eval --write-expected`); absent when the bundle does not record it |
 * | `exit`                 | string      | with `early-exit` on: the stage after which the frame left the network ("base.5"); absent when it took the whole network |
 * | `compute-fraction`     | double      | with `early-exit` on: the frame's multiply-accumulates over the whole network's (above 1 when it passed every exit) |
 *
 * **Quality meta** (name and structure name `"GearnnQualityMeta"`), attached
 * by `gearnnquality` to encoded frames. It has no tags, so #GstVideoDecoder based decoders (avdec_h264, jpegdec) copy it to
 * the decoded frame:
 *
 * | field           | type   | meaning |
 * |-----------------|--------|---------|
 * | `codec`         | string | `"h264"` or `"jpeg"` |
 * | `qp`            | double | H.264: mean slice QP of the frame (SliceQPY, averaged over its slices) |
 * | `slices`        | uint   | H.264: number of slices |
 * | `slice-types`   | string | H.264: the frame's slice types, e.g. `"I"`, `"P"`, `"B,B"` |
 * | `frame-type`    | string | H.264: `"I"` (every slice I or SI), `"B"` (any slice B) or `"P"` |
 * | `jpeg-quality`  | double | JPEG: IJG quality estimated from the luma quantisation table |
 *
 * From Python (python3-gst-1.0):
 * |[
 * meta = buffer.get_custom_meta("GearnnSegmentationMeta")
 * s = meta.get_structure()
 * w, h = s.get_value("width"), s.get_value("height")
 * mask = s.get_value("class-map").get_data()   # bytes, w * h
 * ]|
 */
#ifndef GST_GEARNN_META_H
#define GST_GEARNN_META_H

#include <gst/gst.h>

G_BEGIN_DECLS

/**
 * GST_GEARNN_SEGMENTATION_META_NAME:
 *
 * Name the segmentation meta is registered under.
 */
#define GST_GEARNN_SEGMENTATION_META_NAME "GearnnSegmentationMeta"
/**
 * GST_GEARNN_QUALITY_META_NAME:
 *
 * Name the quality meta is registered under.
 */
#define GST_GEARNN_QUALITY_META_NAME "GearnnQualityMeta"

/**
 * GstGearnnMeasured:
 * @GST_GEARNN_MEASURED_NONE: nothing was measured
 * @GST_GEARNN_MEASURED_RESOLUTION: the resolution (from the caps)
 * @GST_GEARNN_MEASURED_H264_QP: the H.264 mean QP (from the quality meta)
 * @GST_GEARNN_MEASURED_JPEG_QUALITY: the JPEG quality (from the quality meta)
 * @GST_GEARNN_MEASURED_BRIGHTNESS: the brightness factor (from the frame's mean luma)
 *
 * Which distortion dimensions a #GstGearnnSegmentation carries.
 */
typedef enum {
  GST_GEARNN_MEASURED_NONE = 0,
  GST_GEARNN_MEASURED_RESOLUTION = 1 << 0,
  GST_GEARNN_MEASURED_H264_QP = 1 << 1,
  GST_GEARNN_MEASURED_JPEG_QUALITY = 1 << 2,
  GST_GEARNN_MEASURED_BRIGHTNESS = 1 << 3,
} GstGearnnMeasured;

/**
 * GstGearnnSegmentation:
 * @width: width of the class map in pixels
 * @height: height of the class map in pixels
 * @n_classes: number of classes of the bundle
 * @class_map: @width x @height class indices, row-major, no padding. Points
 *   into the meta: valid as long as the buffer holding the meta.
 * @palette: @n_classes x 3 bytes, the RGB colour of each class, or %NULL
 *   (same lifetime as @class_map)
 * @level: name of the selected level (owned by the meta)
 * @level_index: index of that level in the bundle's manifest
 * @adaptor: the adaptor file of the level, or %NULL when it runs the base
 *   (owned by the meta)
 * @measured: which of the following measurements are valid
 * @measured_width: measured frame width
 * @measured_height: measured frame height
 * @measured_qp: measured H.264 mean QP
 * @measured_jpeg_quality: measured IJG JPEG quality (1..100)
 * @measured_brightness: measured brightness factor (1 = unchanged)
 * @inference_ns: wall time of the inference that produced @class_map
 * @reused: %TRUE when @class_map was computed on an earlier frame
 * @has_expected: whether @expected_miou is known
 * @expected_miou: the level's offline mIoU in percent (see the table above)
 * @exit: the stage after which the frame left the network, or %NULL when it
 *   took the whole network or early exits are off (owned by the meta)
 * @has_compute_fraction: whether @compute_fraction is known (early exits on)
 * @compute_fraction: the frame's multiply-accumulates over the whole network's
 *
 * A frame's segmentation, as read from or written to its meta.
 */
typedef struct {
  guint width;
  guint height;
  guint n_classes;
  const guint8 *class_map;
  const guint8 *palette;
  const gchar *level;
  guint level_index;
  const gchar *adaptor;
  GstGearnnMeasured measured;
  guint measured_width;
  guint measured_height;
  gdouble measured_qp;
  gdouble measured_jpeg_quality;
  gdouble measured_brightness;
  guint64 inference_ns;
  gboolean reused;
  gboolean has_expected;
  gdouble expected_miou;
  const gchar *exit;
  gboolean has_compute_fraction;
  gdouble compute_fraction;
} GstGearnnSegmentation;

/**
 * GstGearnnQuality:
 * @codec: `"h264"` or `"jpeg"` (static string)
 * @qp: H.264 mean slice QP, or -1
 * @slices: H.264 number of slices, or 0
 * @slice_types: H.264 slice types as `"I"`, `"P,B"`..., or %NULL (owned by the meta)
 * @jpeg_quality: estimated IJG quality, or -1 when unknown
 * @frame_type: H.264 frame type, `'I'`, `'P'` or `'B'`; 0 when unknown. When a meta has no
 *   `frame-type`, the getter derives it from @slice_types
 *
 * An encoded frame's quality, as read from or written to its meta.
 */
typedef struct {
  const gchar *codec;
  gdouble qp;
  guint slices;
  const gchar *slice_types;
  gdouble jpeg_quality;
  gchar frame_type;
} GstGearnnQuality;

/**
 * gst_gearnn_meta_register:
 *
 * Registers both metas. Idempotent and thread safe; the plugin calls it when
 * it loads, so applications only need it to attach metas themselves before
 * the plugin is loaded.
 */
void gst_gearnn_meta_register (void);

/**
 * gst_buffer_add_gearnn_segmentation:
 * @buffer: a writable #GstBuffer
 * @seg: the segmentation; @seg->class_map must hold width x height bytes
 *   and @seg->palette, when not %NULL, n_classes x 3 bytes
 *
 * Attaches a segmentation meta holding a copy of @seg (the class map and the
 * palette are copied). Replaces a segmentation meta already on @buffer.
 *
 * Returns: (transfer none): the meta
 */
GstCustomMeta *gst_buffer_add_gearnn_segmentation (GstBuffer * buffer,
    const GstGearnnSegmentation * seg);

/**
 * gst_buffer_add_gearnn_segmentation_bytes:
 * @buffer: a writable #GstBuffer
 * @seg: the segmentation; its @class_map and @palette are ignored
 * @class_map: (transfer none): width x height bytes, shared (not copied)
 * @palette: (transfer none) (nullable): n_classes x 3 bytes, shared
 *
 * Like gst_buffer_add_gearnn_segmentation() but shares @class_map, so that
 * several frames can hold one map without copying it.
 *
 * Returns: (transfer none): the meta
 */
GstCustomMeta *gst_buffer_add_gearnn_segmentation_bytes (GstBuffer * buffer,
    const GstGearnnSegmentation * seg, GBytes * class_map, GBytes * palette);

/**
 * gst_buffer_get_gearnn_segmentation:
 * @buffer: a #GstBuffer
 * @seg: (out caller-allocates): filled when the meta is present
 *
 * Reads the segmentation meta of @buffer. The pointers in @seg stay valid
 * while @buffer holds the meta.
 *
 * Returns: %TRUE when @buffer has a valid segmentation meta
 */
gboolean gst_buffer_get_gearnn_segmentation (GstBuffer * buffer,
    GstGearnnSegmentation * seg);

/**
 * gst_buffer_add_gearnn_quality:
 * @buffer: a writable #GstBuffer
 * @quality: what to attach
 *
 * Attaches a quality meta (replacing one already on @buffer).
 *
 * Returns: (transfer none): the meta
 */
GstCustomMeta *gst_buffer_add_gearnn_quality (GstBuffer * buffer,
    const GstGearnnQuality * quality);

/**
 * gst_buffer_get_gearnn_quality:
 * @buffer: a #GstBuffer
 * @quality: (out caller-allocates): filled when the meta is present
 *
 * Returns: %TRUE when @buffer has a quality meta
 */
gboolean gst_buffer_get_gearnn_quality (GstBuffer * buffer,
    GstGearnnQuality * quality);

G_END_DECLS

#endif /* GST_GEARNN_META_H */
