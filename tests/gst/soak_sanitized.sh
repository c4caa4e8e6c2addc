#!/usr/bin/env bash
# The soak under AddressSanitizer's leak checker and UBSan: gearnn-soak-sanitized
# (engine, plugin and tool built with both sanitizers) pushes 1,000 frames with
# level switches, caps changes and flushes. Fails on any sanitizer error and on
# any leak whose allocation stack passes through the project's code (a frame
# in gearnn::, gstgearnn:: or gst_gearnn_*, or one of its source files); leaks
# wholly inside the uninstrumented libraries (GLib, GStreamer, LibTorch) are
# counted and listed, not failed. The resident-memory limit is left to the
# plain soak: ASan's quarantine grows it on purpose.
#   usage: soak_sanitized.sh GEARNN_CLI GEARNN_SOAK_SANITIZED SCRATCH_DIR
set -uo pipefail
cli=$1 soak=$2 dir=$3
rm -rf "$dir" && mkdir -p "$dir"
"$cli" bundle random --arch drn_d_22 --classes 5 --levels 9 --kind abr --width 0.125 -o "$dir/bundle" > /dev/null || exit 1

export ASAN_OPTIONS="detect_leaks=1:log_path=$dir/asan:fast_unwind_on_malloc=0:malloc_context_size=40"
export LSAN_OPTIONS="exitcode=0"   # leaks are judged below, by whose code they come from
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
"$soak" "$dir/bundle" --frames 1000 --report-every 250 --caps-every 250 --flush-every 300 --max-growth 1000
status=$?
reports=("$dir"/asan.*)
[ -e "${reports[0]}" ] || reports=()
if [ "$status" -ne 0 ]; then
  echo "FAIL: the sanitized soak exited with $status"
  [ ${#reports[@]} -gt 0 ] && head -n 60 "${reports[@]}"
  exit 1
fi
if [ ${#reports[@]} -gt 0 ] && grep -q "ERROR: AddressSanitizer\|runtime error:" "${reports[@]}"; then
  echo "FAIL: a sanitizer error:"
  head -n 60 "${reports[@]}"
  exit 1
fi
# One leak record: from "Direct/Indirect leak of" to the blank line after its stack.
awk -v ours='(gearnn::|gstgearnn::|gst_gearnn_| [.][.]/(src|gst|tools)/[^ ]*[.](cpp|h):)' '
  /^(Direct|Indirect) leak of/ { record = $0 "\n"; inside = 1; next }
  inside && NF == 0 { if (record ~ ours) { project++; printf "%s\n", record } else other++; inside = 0; next }
  inside { record = record $0 "\n" }
  END {
    printf "leaks attributed to gst-gearnn: %d; inside the uninstrumented libraries: %d\n", project, other
    exit project > 0
  }' ${reports[@]+"${reports[@]}"} /dev/null
