#!/usr/bin/env bash
# The engine against PyTorch on the same network, weights, frame and thread
# count, in one run: the engine's segment_into() and its exact forward() +
# argmax (gearnn bench forward), then PyTorch eager and frozen TorchScript on
# models/drn_reference.py with the bundle's base weights, forward + argmax.
#
#   tools/bench_peers.sh [BUNDLE] [--size WxH] [--threads T] [--frames N]
#
# BUNDLE defaults to models/camvid-abr; needs Debian's python3-torch.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${GEARNN_BUILD:-$root/build}
bundle=$root/models/camvid-abr
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then bundle=$1; shift; fi
size=480x360 threads=$(nproc) frames=20
while [ $# -gt 0 ]; do
  case $1 in
    --size) size=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --frames) frames=$2; shift 2 ;;
    *) echo "bench_peers.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[ -x "$build/src/gearnn" ] || { echo "bench_peers.sh: no $build/src/gearnn; run scripts/setup.sh first" >&2; exit 1; }
/usr/bin/python3 -c "import torch" 2> /dev/null ||
  { echo "bench_peers.sh: /usr/bin/python3 has no torch (apt-get install python3-torch)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$build/src/gearnn" bench forward "$bundle" --size "$size" --threads "$threads" --frames "$frames" \
  --save-input "$work/input.safetensors" --json > "$work/engine.json"
/usr/bin/python3 "$root/tools/bench_pytorch.py" "$bundle" "$work/input.safetensors" --threads "$threads" \
  --frames "$frames" > "$work/pytorch.json"
/usr/bin/python3 - "$work/engine.json" "$work/pytorch.json" <<'PY'
import json, sys
engine, torch = (json.load(open(p)) for p in sys.argv[1:3])
seg = engine["segment_ms_median"]
rows = [("engine segment_into()", seg),
        ("engine forward() + argmax", engine["forward_ms_median"]),
        ("PyTorch eager forward + argmax", torch["eager_forward_argmax_ms_median"]),
        ("PyTorch eager forward alone", torch["eager_forward_ms_median"]),
        ("TorchScript frozen forward + argmax", torch["torchscript_frozen_forward_argmax_ms_median"])]
print(f"{engine['architecture']} width {engine['width_multiplier']}, {engine['frame']}, "
      f"{engine['threads']} threads (PyTorch {torch['torch']}: {torch['threads']}), medians of {engine['frames']}")
for name, ms in rows:
    print(f"  {name:38s} {ms:8.2f} ms   {ms / seg:5.2f} x segment_into")
print(json.dumps({"engine": engine, "pytorch": torch}))
PY
