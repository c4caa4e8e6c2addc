/* gst-gearnn: gearnnoverlay, draws the segmentation over the frame. */
#ifndef GST_GEARNN_OVERLAY_H
#define GST_GEARNN_OVERLAY_H

#include <gst/gst.h>
#include <gst/video/gstvideofilter.h>

G_BEGIN_DECLS

#define GST_TYPE_GEARNN_OVERLAY (gst_gearnn_overlay_get_type())
G_DECLARE_FINAL_TYPE(GstGearnnOverlay, gst_gearnn_overlay, GST, GEARNN_OVERLAY, GstVideoFilter)

GST_ELEMENT_REGISTER_DECLARE(gearnnoverlay);

G_END_DECLS

#endif
