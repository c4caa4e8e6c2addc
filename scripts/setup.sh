#!/usr/bin/env bash
# Installs the Debian packages, configures and builds gst-gearnn into ./build.
# Extra arguments go to `meson setup` (for example -Dtorch_dir=... -Dcuda=enabled).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
if [ -d build/meson-private ]; then
  meson setup --reconfigure build "$@"
else
  meson setup build "$@"
fi
ninja -C build
echo "built: build/src/gearnn, build/gst/libgstgearnn.so"
