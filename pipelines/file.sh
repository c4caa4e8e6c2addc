#!/usr/bin/env bash
# A video file through gearnn and the overlay, to a file (or a window).
#
#   pipelines/file.sh [BUNDLE] [OUT_DIR] [--display] [--frames N]
#
# Decodes the CamVid clip models/camvid-clip/0006R0.mp4 (or $GEARNN_VIDEO), scales it to 480x360,
# segments every frame and writes OUT_DIR/overlay.mp4 (default
# demo-output/file/), plus one PNG class mask per frame in OUT_DIR/masks/.
# --display shows the overlay in a window instead.
set -euo pipefail
. "$(dirname "$0")/common.sh"

bundle_arg="" out="$root/demo-output/file" display=0 frames=100
positional=()
while [ $# -gt 0 ]; do
  case $1 in
    --display) display=1 ;;
    --frames) frames=$2; shift ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) positional+=("$1") ;;
  esac
  shift
done
[ ${#positional[@]} -ge 1 ] && bundle_arg=${positional[0]}
[ ${#positional[@]} -ge 2 ] && out=${positional[1]}
rm -rf "$out/masks" "$out/overlay.mp4"
mkdir -p "$out/masks"
bundle=$(bundle_or_random "$bundle_arg" abr "$out/random-abr-bundle")

if [ $display = 1 ]; then
  sink="gearnnoverlay alpha=0.5 ! videoconvert ! autovideosink"
else
  sink="tee name=t t. ! queue ! gearnnoverlay alpha=0.5 ! videoconvert ! x264enc speed-preset=ultrafast ! mp4mux ! filesink location=$out/overlay.mp4 t. ! queue ! gearnnmask ! pngenc compression-level=1 ! multifilesink location=$out/masks/mask-%05d.png"
fi
echo "== $video ($frames frames) -> gearnn bundle=$bundle"
start=$(date +%s.%N)
set +e
# shellcheck disable=SC2086
gst-launch-1.0 -m filesrc location="$video" ! decodebin ! identity eos-after="$frames" ! videoconvert ! videoscale ! \
  video/x-raw,width=480,height=360,pixel-aspect-ratio=1/1 ! gearnn bundle="$bundle" ! $sink 2>&1 |
  grep -E "gearnn-level-switch|ERROR|WARNING" | sed 's/^Got message #[0-9]* from element /  /'
status=${PIPESTATUS[0]}
set -e
end=$(date +%s.%N)
[ "$status" = 0 ] || { echo "file.sh: gst-launch-1.0 failed (exit $status)" >&2; exit 1; }
if [ $display = 0 ]; then
  masks=$(find "$out/masks" -name 'mask-*.png' | wc -l)
  [ -s "$out/overlay.mp4" ] || { echo "file.sh: no overlay written" >&2; exit 1; }
  echo "wrote $out/overlay.mp4 and $masks masks in $out/masks ($(echo "$end - $start" | bc) s)"
fi
