#!/usr/bin/env bash
# Packs what fullsize-run.sh needs on a GPU machine into one folder that fits a
# 64 MiB transfer: CamVid train+val with every frame as JPEG quality 95 (4:2:0,
# about 32 MiB where the PNGs take 119 MiB), the labels and lists as they are,
# and Debian's packages of the headers the build needs (libpng, libjpeg,
# libcrypto, nlohmann-json, pkgconf) for a machine that lacks them.
#
#   models/camvid/fullsize-pack.sh OUT        (CamVid from $CAMVID, default ../shared/datasets/camvid)
#
# Needs /usr/bin/python3 with PIL (apt-get install python3-pil) and apt-get.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:?usage: fullsize-pack.sh OUT}
data=${CAMVID:-$root/../shared/datasets/camvid}
[ -f "$data/train.txt" ] || { echo "fullsize-pack.sh: no CamVid at $data (set CAMVID)" >&2; exit 1; }
/usr/bin/python3 -c 'import PIL' 2>/dev/null ||
  { echo "fullsize-pack.sh: /usr/bin/python3 has no PIL (apt-get install python3-pil)" >&2; exit 1; }

mkdir -p "$out/camvid" "$out/debs"
cp "$data"/train.txt "$data"/val.txt "$out/camvid/"
cp -r "$data"/trainannot "$data"/valannot "$out/camvid/"
/usr/bin/python3 - "$data" "$out/camvid" <<'PY'
import os, sys
from PIL import Image
data, out = sys.argv[1:]
for split in ("train", "val"):
    os.makedirs(os.path.join(out, split), exist_ok=True)
    for name in sorted(os.listdir(os.path.join(data, split))):
        if name.endswith(".png"):
            image = Image.open(os.path.join(data, split, name)).convert("RGB")
            image.save(os.path.join(out, split, name[:-4] + ".jpg"), quality=95)
PY
(cd "$out/debs" && apt-get download -q libpng-dev libpng16-16 libjpeg62-turbo-dev libjpeg62-turbo libssl-dev \
   libssl3 nlohmann-json3-dev zlib1g-dev pkgconf pkgconf-bin libpkgconf3 2>&1 | grep -v '^W: Download is performed unsandboxed' || true)
ls "$out"/debs/*.deb >/dev/null
du -sh "$out"
