#!/usr/bin/env bash
# README demo (placeholder until the GStreamer elements and the trained default
# bundle land): takes one real street frame from opencv-doc's vtest.avi,
# segments it with a random-weight DRN-D-22 bundle through the same engine the
# plugin uses, and measures what an adaptor switch costs. The segmentation
# colours are meaningless with random weights; the switch timings are real.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
gearnn=${GEARNN:-$root/build/src/gearnn}
out=${1:-$root/demo-output}
video=/usr/share/doc/opencv-doc/examples/data/vtest.avi

[ -x "$gearnn" ] || { echo "demo: $gearnn not built; run scripts/setup.sh first" >&2; exit 1; }
[ -f "$video" ] || { echo "demo: $video missing; install opencv-doc (scripts/install-deps.sh)" >&2; exit 1; }
mkdir -p "$out"

echo "== one real frame: $video (frame 120)"
ffmpeg -loglevel error -y -i "$video" -vf "select=eq(n\,120)" -frames:v 1 "$out/frame.png"

echo "== a DRN-D-22 bundle with 10 JPEG levels at a 0.2% budget (random weights: placeholder)"
"$gearnn" bundle random --arch drn_d_22 --classes 19 --levels 10 --budget 0.2% -o "$out/bundle"
"$gearnn" inspect "$out/bundle" | sed -n '1,4p;$p'

echo "== segment the frame at two levels"
"$gearnn" segment "$out/bundle" "$out/frame.png" --level q10 -o "$out/classes-q10.png" --color "$out/color-q10.png"
"$gearnn" segment "$out/bundle" "$out/frame.png" --level q100 -o "$out/classes-q100.png" --color "$out/color-q100.png"

echo "== what a level switch costs"
"$gearnn" bench switch "$out/bundle"

echo
echo "demo output in $out: frame.png, classes-*.png (class index per pixel), color-*.png"
