#!/usr/bin/env bash
# The full-width DRN-D-22 on all of CamVid, on a machine with an NVIDIA GPU and
# PyTorch: unpacks what fullsize-pack.sh packed, builds gearnn against that
# PyTorch's LibTorch (CUDA; no FFmpeg, no GStreamer), runs `make.sh base` and
# then the steps in STEPS (default jpeg; "jpeg brightness" takes about 8
# minutes on an H200) at width 1 on whole 480x360 frames, and leaves in OUT
#   fullsize.tar.gz                  every file make.sh wrote under models/ (reports,
#                                    manifests, training logs, adaptors), the recipe notes
#   base-fp16.safetensors.part-NN    the trained base in float16, split in 15 MiB parts
# (fullsize-unpack.sh turns them back into a bundle and the reports).
#
#   models/camvid/fullsize-run.sh PACK OUT [SECONDS]
#
# SECONDS (default 540): a step still running then is stopped and what is done
# is kept. BASE_EPOCHS, JPEG_LEVELS, WORKERS (default 12), and for a dry run
# on a CPU DEVICE, WIDTH and CROP, go to make.sh.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
usage="usage: fullsize-run.sh PACK OUT [SECONDS]"
pack=$(cd "${1:?$usage}" && pwd)
out=$(mkdir -p "${2:?$usage}" && cd "$2" && pwd)
deadline=$(( $(date +%s) + ${3:-540} ))
work=${FULLSIZE_WORK:-/tmp/gearnn-fullsize}
cd "$root"
mkdir -p "$work"
touch "$work/started"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true

# Headers the machine lacks come from the packed Debian packages; their
# libraries go on LD_LIBRARY_PATH alone, so the machine's own stay in use.
if ! pkg-config --exists libpng libjpeg libcrypto 'nlohmann_json >= 3.9' 2>/dev/null; then
  sysroot=$work/sysroot lib=$work/sysroot/usr/lib/x86_64-linux-gnu
  for deb in "$pack"/debs/*.deb; do dpkg -x "$deb" "$sysroot"; done
  mkdir -p "$work/runtime"
  cp -P "$lib"/libpng16.so.16* "$lib"/libjpeg.so.62* "$lib"/libcrypto.so.3 "$lib"/libpkgconf.so.3* "$work/runtime/"
  export LD_LIBRARY_PATH=$work/runtime${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  command -v pkg-config >/dev/null || export PKG_CONFIG=$sysroot/usr/bin/pkgconf
  export PKG_CONFIG_LIBDIR=$lib/pkgconfig:$sysroot/usr/share/pkgconfig PKG_CONFIG_SYSROOT_DIR=$sysroot
  echo "build headers: Debian packages from $pack/debs"
fi

start=$(date +%s)
torch_dir=$(python3 -c 'import os, torch; print(os.path.dirname(torch.__file__))')
[ -d "$work/build" ] || meson setup "$work/build" -Dtorch_dir="$torch_dir" -Dcuda=enabled -Dffmpeg=disabled \
  -Dgst_plugin=disabled -Dtests=disabled -Dsanitized_tests=disabled
ninja -C "$work/build" src/gearnn
echo "== build took $(( $(date +%s) - start )) s"

python3 - "$pack/camvid" "$work/camvid" <<'PY'
import multiprocessing, os, shutil, sys
from PIL import Image
pack, data = sys.argv[1:]

def to_png(job):
    source, target = job
    Image.open(source).convert("RGB").save(target, compress_level=1)

jobs = []
for split in ("train", "val"):
    os.makedirs(os.path.join(data, split), exist_ok=True)
    shutil.copytree(os.path.join(pack, split + "annot"), os.path.join(data, split + "annot"), dirs_exist_ok=True)
    shutil.copy(os.path.join(pack, split + ".txt"), data)
    for name in os.listdir(os.path.join(pack, split)):
        jobs.append((os.path.join(pack, split, name), os.path.join(data, split, name[:-4] + ".png")))
with multiprocessing.Pool() as pool:
    pool.map(to_png, jobs)
print(f"{len(jobs)} frames decoded from JPEG quality 95")
PY

export CAMVID=$work/camvid GEARNN=$work/build/src/gearnn GEARNN_WORK=$work/camvid-work
command -v gnuplot >/dev/null || export GEARNN_GNUPLOT=none  # the plots are drawn later, from plot.gp
export DEVICE=${DEVICE:-cuda} WIDTH=${WIDTH:-1} CROP=${CROP:-480x360} WORKERS=${WORKERS:-12}

collect() {
  rm -rf "$work/stage" && mkdir -p "$work/stage"
  (cd "$root" && find models -newer "$work/started" -type f ! -name base.safetensors -exec cp --parents {} "$work/stage/" \;)
  cp "$GEARNN_WORK"/*-notes.md "$work/stage/" 2>/dev/null || true
  tar -czf "$out/fullsize.tar.gz" -C "$work/stage" .
}
step() {
  local left=$(( deadline - $(date +%s) ))
  [ "$left" -gt 60 ] || { echo "fullsize-run.sh: no time left for $1"; return 1; }
  timeout "$left" models/camvid/make.sh "$1" || { echo "fullsize-run.sh: make.sh $1 stopped ($?)"; collect; return 1; }
  collect
}

step base
python3 models/camvid/safetensors_dtype.py "$GEARNN_WORK/base/base.safetensors" "$out/base-fp16.safetensors" F16
(cd "$out" && split -b 15M -d base-fp16.safetensors base-fp16.safetensors.part- && rm base-fp16.safetensors)
for name in ${STEPS:-jpeg}; do step "$name"; done
echo "== fullsize-run.sh done in $(( $(date +%s) - start )) s"
