#!/usr/bin/env bash
# The element in a pipeline against the bare engine (segment_into), same frames,
# same thread count:
#
#   pipelines/bench.sh [BUNDLE] [gearnn-gst-bench options: --frames N --size WxH --threads T --repeat R --json]
#
# Without a bundle it makes a random DRN-D-22 ABR bundle (width 0.25).
set -euo pipefail
. "$(dirname "$0")/common.sh"
bundle_arg=""
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then bundle_arg=$1; shift; fi
bundle=$(bundle_or_random "$bundle_arg" abr "$root/demo-output/bench/random-abr-bundle")
exec "$build/tools/gearnn-gst-bench" "$bundle" --video "$video" --threads "$(nproc)" "$@"
