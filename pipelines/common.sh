# Shared by the pipeline scripts (sourced, not run): finds the build, points
# GStreamer at its plugin, and makes a random bundle when none is given.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# The default footage is what the shipped models suit: a street-level CamVid clip.
video=${GEARNN_VIDEO:-$root/models/camvid-clip/0006R0.mp4}

build=${GEARNN_BUILD:-}
if [ -z "$build" ]; then
  # The most recently built of build/ (scripts/setup.sh) and build-*/ folders.
  newest=0
  for b in "$root/build" "$root"/build-*; do
    if [ -f "$b/gst/libgstgearnn.so" ] && [ -x "$b/src/gearnn" ]; then
      t=$(stat -c %Y "$b/gst/libgstgearnn.so")
      if [ "$t" -gt "$newest" ]; then newest=$t; build=$b; fi
    fi
  done
fi
if [ -z "$build" ] || [ ! -f "$build/gst/libgstgearnn.so" ]; then
  echo "$(basename "$0"): no build with the plugin (build/gst/libgstgearnn.so); run scripts/setup.sh first" >&2
  exit 1
fi
export GST_PLUGIN_PATH="$build/gst${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
export GST_REGISTRY=${GST_REGISTRY:-$build/gst-registry.bin}
gearnn="$build/src/gearnn"
python=/usr/bin/python3

[ -f "$video" ] || { echo "$(basename "$0"): $video missing (GEARNN_VIDEO names another file)" >&2; exit 1; }

# bundle_or_random GIVEN KIND DIR [gearnn bundle random options...]: prints the bundle to use:
# GIVEN, else the shipped models/camvid-KIND, else a random-weight bundle made in DIR.
bundle_or_random() {
  local given=$1 kind=$2 dir=$3
  shift 3
  if [ -n "$given" ]; then echo "$given"; return; fi
  if [ -f "$root/models/camvid-$kind/manifest.json" ]; then echo "$root/models/camvid-$kind"; return; fi
  if [ ! -f "$dir/manifest.json" ]; then
    echo "NOTE: no bundle given: using a DRN-D-22 bundle of RANDOM weights ($kind levels, width 0.25)," \
         "made in $dir. The colours mean nothing; the adaptor switching is real." >&2
    "$gearnn" bundle random --arch drn_d_22 --width 0.25 --classes 19 --kind "$kind" "$@" -o "$dir" >/dev/null
  else
    echo "NOTE: no bundle given: reusing the RANDOM-weight bundle in $dir" >&2
  fi
  echo "$dir"
}
