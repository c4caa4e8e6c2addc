// gst-gearnn plugin entry point. Elements register here as they land.
#include <gst/gst.h>

static gboolean plugin_init(GstPlugin* /*plugin*/) {
  return TRUE;
}

GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, gearnn,
                  "GearNN: DRN segmentation with per-frame partial weight adaptation", plugin_init,
                  VERSION, "LGPL", PACKAGE, "gst-gearnn")
