#!/usr/bin/env bash
# An MJPEG camera whose JPEG quality changes, through the quality probe and gearnn:
#
#   pipelines/jpeg.sh [BUNDLE] [OUT_DIR]
#
# Takes 90 frames of the CamVid clip (or $GEARNN_VIDEO) and encodes them with GStreamer's
# jpegenc (libjpeg) at quality 20, then 90, then 50 (30 frames each), as a
# numbered JPEG sequence, like an IoT camera changing its settings. Plays it
# with multifilesrc ! jpegparse ! gearnnquality ! jpegdec ! gearnn !
# gearnnoverlay; gearnn picks the JPEG level nearest to the quality the probe
# reads from each frame's quantisation table. Without a bundle it makes a
# random one with 10 JPEG levels (q10..q100). Output in OUT_DIR (default
# demo-output/jpeg/): overlay.mp4 and the switch log.
set -euo pipefail
. "$(dirname "$0")/common.sh"

bundle_arg=${1:-}
out=${2:-$root/demo-output/jpeg}
case $bundle_arg in -h|--help) sed -n '2,13p' "$0"; exit 0 ;; esac
mkdir -p "$out"
bundle=$(bundle_or_random "$bundle_arg" jpeg "$out/random-jpeg-bundle" --levels 10)

frames="$out/frames" jpegs="$out/jpeg"
rm -rf "$frames" "$jpegs"
mkdir -p "$frames" "$jpegs"
ffmpeg -hide_banner -loglevel error -y -i "$video" -frames:v 90 -vf scale=480:360 "$frames/%05d.png"
index=0
for quality in 20 90 50; do
  first=$((index + 1))
  gst-launch-1.0 -q multifilesrc location="$frames/%05d.png" start-index=$first stop-index=$((first + 29)) \
    caps=image/png,framerate=10/1 ! pngdec ! videoconvert ! video/x-raw,format=I420 ! jpegenc quality=$quality ! \
    multifilesink location="$jpegs/%05d.jpg" index=$index
  echo "  frames $index..$((index + 29)): JPEG quality $quality"
  index=$((index + 30))
done

echo "== play through gearnnquality and gearnn (bundle $bundle)"
rm -f "$out/overlay.mp4"
set +e
gst-launch-1.0 -m multifilesrc location="$jpegs/%05d.jpg" index=0 caps=image/jpeg,framerate=10/1 ! jpegparse ! \
  gearnnquality ! jpegdec ! gearnn bundle="$bundle" ! gearnnoverlay ! videoconvert ! \
  x264enc speed-preset=ultrafast ! mp4mux ! filesink location="$out/overlay.mp4" 2>&1 |
  grep -E "gearnn-level-switch|ERROR|WARNING" | sed 's/^Got message #[0-9]* from element /  /' | tee "$out/log.txt"
status=${PIPESTATUS[0]}
set -e
[ "$status" = 0 ] || { echo "jpeg.sh: gst-launch-1.0 failed (exit $status)" >&2; exit 1; }
[ -s "$out/overlay.mp4" ] || { echo "jpeg.sh: no overlay written" >&2; exit 1; }
echo "wrote $out/overlay.mp4 and $out/log.txt"
