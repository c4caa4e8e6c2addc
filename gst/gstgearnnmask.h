/* gst-gearnn: gearnnmask, the class map as GRAY8 frames. */
#ifndef GST_GEARNN_MASK_H
#define GST_GEARNN_MASK_H

#include <gst/base/gstbasetransform.h>
#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_GEARNN_MASK (gst_gearnn_mask_get_type())
G_DECLARE_FINAL_TYPE(GstGearnnMask, gst_gearnn_mask, GST, GEARNN_MASK, GstBaseTransform)

GST_ELEMENT_REGISTER_DECLARE(gearnnmask);

G_END_DECLS

#endif
