#!/usr/bin/env bash
# Installs every Debian 12 package gst-gearnn needs to build, test and run the demo.
# The README commands and .ci/run both call this script; keep the list here only.
set -euo pipefail

packages=(
  # build
  build-essential meson ninja-build pkg-config ccache
  # engine
  libtorch-dev nlohmann-json3-dev libpng-dev libssl-dev
  # tests and the checkpoint converter; clang's libFuzzer and sanitizers for the fuzz targets
  libgtest-dev python3-torch clang libclang-rt-dev
  # offline side: codecs for distortion generators, plots
  libavcodec-dev libavformat-dev libavutil-dev libswscale-dev libjpeg-dev gnuplot-nox
  # plugin
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev libgstreamer-plugins-bad1.0-dev
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav python3-gst-1.0
  # live sources: the RTSP camera of pipelines/rtsp_camera.py and its test
  gir1.2-gst-rtsp-server-1.0
  # demo: ffmpeg makes the DASH ladder, opencv-doc ships a real street video (vtest.avi)
  ffmpeg opencv-doc
)

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi

export DEBIAN_FRONTEND=noninteractive
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
