#!/usr/bin/env bash
# README demo: the main use, an adaptive-bitrate DASH stream, end to end.
# Makes a three-representation H.264 ladder from a street-level clip like the
# training data (models/camvid-clip/0006R0.mp4, a CamVid sequence that no
# shipped model was trained on; GEARNN_VIDEO=FILE plays another, such as
# opencv-doc's vtest.avi, an elevated camera the model was not made for),
# serves it on 127.0.0.1, plays it through gearnnquality, gearnn
# with the shipped CamVid ABR bundle (models/camvid-abr) and gearnnoverlay
# while the ABR switches representation, and writes an overlay video, one mask
# per frame and a summary to demo-output/ (or OUT_DIR).
#
#   pipelines/demo.sh [OUT_DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/demo-output}
bundle=$root/models/camvid-abr

[ -f "$bundle/manifest.json" ] || { echo "demo: $bundle/manifest.json missing" >&2; exit 1; }
threads=$(nproc)
export GEARNN_VIDEO=${GEARNN_VIDEO:-$root/models/camvid-clip/0006R0.mp4}
echo "== the video: $GEARNN_VIDEO"
echo "== the default bundle: $bundle"
sed -n '1,3p' "$bundle/inspect.txt"
echo "== DASH on 127.0.0.1 through gearnn ($threads threads)"
"$root/pipelines/dash.sh" "$bundle" "$out/dash" --seconds 20 --threads "$threads"
echo
echo "demo output: $out/dash/overlay.mp4 (segmentation over the video), $out/dash/masks/ (class index per"
echo "pixel, one PNG per frame), $out/dash/summary.json, $out/dash/log.txt"
