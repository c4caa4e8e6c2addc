#!/usr/bin/env bash
# Back on this machine: what fullsize-run.sh left in FILES (fullsize.tar.gz and
# the float16 parts of the base) into DEST/models/... (the reports, as make.sh
# wrote them there) and DEST/base, a bundle of the base in float32 with its
# manifest's checksum updated, for `gearnn eval --bundle DEST/base` here.
#
#   models/camvid/fullsize-unpack.sh FILES DEST
set -euo pipefail
files=${1:?usage: fullsize-unpack.sh FILES DEST}
dest=${2:?usage: fullsize-unpack.sh FILES DEST}
mkdir -p "$dest/base"
tar -xzf "$files/fullsize.tar.gz" -C "$dest"
cat "$files"/base-fp16.safetensors.part-* > "$dest/base/base-fp16.safetensors"
here=$(dirname "$0")
/usr/bin/python3 "$here/safetensors_dtype.py" "$dest/base/base-fp16.safetensors" "$dest/base/base.safetensors" F32
/usr/bin/python3 - "$dest/base" "$dest/models/camvid-base/manifest.json" <<'PY'
import hashlib, json, sys
bundle, manifest_path = sys.argv[1:]
manifest = json.load(open(manifest_path))
digest = hashlib.sha256(open(f"{bundle}/base.safetensors", "rb").read()).hexdigest()
manifest["base"] = {"file": "base.safetensors", "sha256": digest}
json.dump(manifest, open(f"{bundle}/manifest.json", "w"), indent=2)
PY
rm "$dest/base/base-fp16.safetensors"
echo "wrote $dest/base (float16 weights back in float32) and the reports under $dest/models"
