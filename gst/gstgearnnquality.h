/* gst-gearnn: gearnnquality, the bitstream quality probe. */
#ifndef GST_GEARNN_QUALITY_ELEMENT_H
#define GST_GEARNN_QUALITY_ELEMENT_H

#include <gst/base/gstbasetransform.h>
#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_GEARNN_QUALITY (gst_gearnn_quality_get_type())
G_DECLARE_FINAL_TYPE(GstGearnnQualityProbe, gst_gearnn_quality, GST, GEARNN_QUALITY, GstBaseTransform)

GST_ELEMENT_REGISTER_DECLARE(gearnnquality);

G_END_DECLS

#endif
