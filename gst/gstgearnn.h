/* gst-gearnn: the gearnn element (segmentation with per-frame adaptor selection). */
#ifndef GST_GEARNN_ELEMENT_H
#define GST_GEARNN_ELEMENT_H

#include <gst/base/gstbasetransform.h>
#include <gst/gst.h>
#include <gst/video/video.h>

G_BEGIN_DECLS

/**
 * GstGearnnLevelSource:
 * @GST_GEARNN_LEVEL_SOURCE_AUTO: measure every dimension the bundle's levels describe
 * @GST_GEARNN_LEVEL_SOURCE_CAPS: the resolution from the negotiated caps only
 * @GST_GEARNN_LEVEL_SOURCE_QP: the H.264 QP from the quality meta only
 * @GST_GEARNN_LEVEL_SOURCE_JPEG: the JPEG quality from the quality meta only
 * @GST_GEARNN_LEVEL_SOURCE_BRIGHTNESS: the frame's mean luma only
 * @GST_GEARNN_LEVEL_SOURCE_FIXED: the level named by the `level` property
 */
typedef enum {
  GST_GEARNN_LEVEL_SOURCE_AUTO,
  GST_GEARNN_LEVEL_SOURCE_CAPS,
  GST_GEARNN_LEVEL_SOURCE_QP,
  GST_GEARNN_LEVEL_SOURCE_JPEG,
  GST_GEARNN_LEVEL_SOURCE_BRIGHTNESS,
  GST_GEARNN_LEVEL_SOURCE_FIXED,
} GstGearnnLevelSource;

#define GST_TYPE_GEARNN_LEVEL_SOURCE (gst_gearnn_level_source_get_type())
GType gst_gearnn_level_source_get_type(void);

#define GST_TYPE_GEARNN (gst_gearnn_get_type())
G_DECLARE_FINAL_TYPE(GstGearnn, gst_gearnn, GST, GEARNN, GstBaseTransform)

GST_ELEMENT_REGISTER_DECLARE(gearnn);

G_END_DECLS

#endif
