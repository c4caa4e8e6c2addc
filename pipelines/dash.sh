#!/usr/bin/env bash
# DASH (or HLS) with adaptive bitrate, end to end on this machine:
#
#   pipelines/dash.sh [BUNDLE] [OUT_DIR] [--seconds S] [--threads N] [--forced [--sync]] [--schedule T:BPS,...]
#                     [--hls]
#
# 1. ffmpeg makes a three-representation ladder from $GEARNN_VIDEO (default: the CamVid clip models/camvid-clip/0006R0.mp4):
#    240x180 at CRF 38, 320x240 at CRF 30, 480x360 at CRF 22 (1 s segments,
#    x264's default preset, as a service encodes); with --hls an HLS ladder
#    (MPEG-TS segments, master.m3u8) defined by bitrate as HLS services do:
#    240x180 at 80 kbit/s, 320x240 at 300 kbit/s, 480x360 at 1200 kbit/s (VBV-capped);
# 2. python3 -m http.server serves it on 127.0.0.1 (a free port);
# 3. urisourcebin ! parsebin ! h264parse ! gearnnquality ! avdec_h264 !
#    gearnn ! gearnnoverlay plays it (dashdemux2 or hlsdemux2 inside parsebin). By default the server's bandwidth
#    follows a schedule (pipelines/throttled_http.py: 3 Mbit/s, a drop to
#    200 kbit/s at 7 s, a partial recovery to 600 kbit/s at 14 s) and
#    dashdemux2 picks each representation from its own measured rate, in real
#    time. --forced instead moves dashdemux2's connection-bitrate (lowest
#    representation, then the highest at frame 40, then the middle one at
#    frame 120), as fast as inference goes: the same switches every run;
#    --schedule T:BPS,... sets another bandwidth schedule;
# 4. the log shows each representation and each adaptor switch; OUT_DIR
#    (default demo-output/dash/) gets overlay.mp4, masks/, summary.json and log.txt.
set -euo pipefail
. "$(dirname "$0")/common.sh"

bundle_arg="" out="$root/demo-output/dash" seconds=20 threads=$(nproc) sync=() forced=0 hls=0
schedule=0:3000000,7:200000,14:600000
positional=()
while [ $# -gt 0 ]; do
  case $1 in
    --seconds) seconds=$2; shift ;;
    --threads) threads=$2; shift ;;
    --sync) sync=(--sync) ;;
    --forced) forced=1 ;;
    --hls) hls=1 ;;
    --schedule) schedule=$2; shift ;;
    -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
    *) positional+=("$1") ;;
  esac
  shift
done
[ ${#positional[@]} -ge 1 ] && bundle_arg=${positional[0]}
[ ${#positional[@]} -ge 2 ] && out=${positional[1]}
mkdir -p "$out"
bundle=$(bundle_or_random "$bundle_arg" abr "$out/random-abr-bundle")

ladder="$out/ladder"
rm -rf "$ladder" "$out/masks"
mkdir -p "$ladder"
if [ "$hls" = 1 ]; then
  echo "== HLS ladder from $video (${seconds} s): 240x180 at 80k, 320x240 at 300k, 480x360 at 1200k"
  rungs=()
  for r in 0:240:180:80 1:320:240:300 2:480:360:1200; do
    IFS=: read -r i w h k <<< "$r"
    rungs+=(-filter:v:$i scale=$w:$h -b:v:$i ${k}k -maxrate:v:$i ${k}k -bufsize:v:$i $((2 * k))k)
  done
  ffmpeg -hide_banner -loglevel error -y -i "$video" -t "$seconds" -map 0:v -map 0:v -map 0:v \
    -c:v libx264 -pix_fmt yuv420p "${rungs[@]}" -g 10 -keyint_min 10 -sc_threshold 0 \
    -f hls -hls_time 1 -hls_playlist_type vod -hls_segment_filename "$ladder/rep%v_%03d.ts" \
    -master_pl_name master.m3u8 -var_stream_map "v:0 v:1 v:2" "$ladder/rep%v.m3u8"
  grep -o 'BANDWIDTH=[0-9]*,RESOLUTION=[0-9x]*' "$ladder/master.m3u8" | sed 's/^/  /'
else
  echo "== DASH ladder from $video (${seconds} s): 240x180 CRF 38, 320x240 CRF 30, 480x360 CRF 22"
  ffmpeg -hide_banner -loglevel error -y -i "$video" -t "$seconds" -map 0:v -map 0:v -map 0:v \
    -c:v libx264 -pix_fmt yuv420p \
    -filter:v:0 scale=240:180 -crf:v:0 38 -filter:v:1 scale=320:240 -crf:v:1 30 -filter:v:2 scale=480:360 -crf:v:2 22 \
    -g 10 -keyint_min 10 -sc_threshold 0 \
    -f dash -seg_duration 1 -use_template 1 -use_timeline 0 -adaptation_sets "id=0,streams=v" "$ladder/manifest.mpd"
  grep -o 'bandwidth="[0-9]*" width="[0-9]*" height="[0-9]*"' "$ladder/manifest.mpd" | sed 's/^/  /'
fi

echo "== play through gearnn (bundle $bundle)"
if [ "$forced" = 1 ]; then
  abr=(--start-bps r0 --switch 40:r2 --switch 120:r1 "${sync[@]}")
else
  abr=(--throttle "$schedule" --sync)
fi
"$python" "$root/pipelines/dash_play.py" --serve "$ladder" --bundle "$bundle" --threads "$threads" "${abr[@]}" \
  --overlay "$out/overlay.mp4" --masks "$out/masks" --summary "$out/summary.json" 2>&1 | tee "$out/log.txt"
echo "wrote $out/overlay.mp4, $out/masks/, $out/summary.json, $out/log.txt"
