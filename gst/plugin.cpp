// gst-gearnn plugin entry point: the elements and the metas.
#include "gearnnmeta.h"
#include "gstgearnn.h"
#include "gstgearnnmask.h"
#include "gstgearnnoverlay.h"
#include "gstgearnnquality.h"

#include <gst/gst.h>

static gboolean plugin_init(GstPlugin* plugin) {
  gst_gearnn_meta_register();
  gboolean ok = TRUE;
  ok &= GST_ELEMENT_REGISTER(gearnn, plugin);
  ok &= GST_ELEMENT_REGISTER(gearnnquality, plugin);
  ok &= GST_ELEMENT_REGISTER(gearnnoverlay, plugin);
  ok &= GST_ELEMENT_REGISTER(gearnnmask, plugin);
  return ok;
}

GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, gearnn,
                  "GearNN: DRN segmentation with per-frame partial weight adaptation", plugin_init,
                  VERSION, "LGPL", PACKAGE, "gst-gearnn")
