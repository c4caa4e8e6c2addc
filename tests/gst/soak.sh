#!/usr/bin/env bash
# The short soak of the test suite: 2,000 frames through gearnn on a small
# random ABR bundle, a level switch every 5 frames, a caps change every 500
# and a flush every 1,000; resident memory at frame 2,000 within 2% of that
# at frame 500.   usage: soak.sh GEARNN_CLI GEARNN_SOAK SCRATCH_DIR
set -euo pipefail
cli=$1 soak=$2 dir=$3
rm -rf "$dir" && mkdir -p "$dir"
"$cli" bundle random --arch drn_d_22 --classes 5 --levels 9 --kind abr --width 0.125 -o "$dir/bundle" > /dev/null
"$soak" "$dir/bundle" --frames 2000 --report-every 500 --max-growth 2
