#!/usr/bin/env bash
# The soak under AddressSanitizer's leak checker and UBSan: gearnn-soak-sanitized
# (engine, plugin and tool built with both sanitizers) pushes 1,000 frames with
# level switches, caps changes and flushes. Fails on any sanitizer error, when
# the soak does not finish, and on any leak whose allocation stack passes
# through the project's code (a frame in gearnn::, gstgearnn:: or gst_gearnn_*,
# or a frame in one of its source files under SOURCE_ROOT); leaks wholly inside
# the uninstrumented libraries (GLib, GStreamer, LibTorch) are counted and
# listed, not failed. The resident-memory limit is left to the plain soak:
# ASan's quarantine grows it on purpose.
#   usage: soak_sanitized.sh GEARNN_CLI GEARNN_SOAK_SANITIZED SCRATCH_DIR SOURCE_ROOT
set -uo pipefail
cli=$1 soak=$2 dir=$3 root=$4
rm -rf "$dir" && mkdir -p "$dir"
"$cli" bundle random --arch drn_d_22 --classes 5 --levels 9 --kind abr --width 0.125 -o "$dir/bundle" > /dev/null || exit 1

# Exit code 23 says "leaks found" (ASan would exit 1, like any failure); they are judged below.
export ASAN_OPTIONS="detect_leaks=1:exitcode=23:log_path=$dir/asan:fast_unwind_on_malloc=0:malloc_context_size=100"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$dir/ubsan"
"$soak" "$dir/bundle" --frames 1000 --report-every 250 --caps-every 250 --flush-every 300 --max-growth 1000 \
  > "$dir/soak.log" 2>&1
status=$?
cat "$dir/soak.log"
shopt -s nullglob
reports=("$dir"/asan.* "$dir"/ubsan.*)
fail() {
  echo "FAIL: $1"
  [ ${#reports[@]} -gt 0 ] && head -n 80 "${reports[@]}"
  exit 1
}
if [ ${#reports[@]} -gt 0 ] &&
   grep -q -E "ERROR: AddressSanitizer|ERROR: UndefinedBehaviorSanitizer|runtime error:|CHECK failed|LeakSanitizer has encountered a fatal error" \
     "${reports[@]}"; then
  fail "a sanitizer error"
fi
[ "$status" -eq 0 ] || [ "$status" -eq 23 ] || fail "the sanitized soak exited with $status"
grep -q "^resident memory from the first report to the last" "$dir/soak.log" || fail "the soak did not finish"
if [ "$status" -eq 23 ] && ! grep -q -E "^(Direct|Indirect) leak of" "${reports[@]}" /dev/null; then
  fail "LeakSanitizer's exit code without a leak report"
fi
# One leak record: from "Direct/Indirect leak of" to the blank line after its
# stack. The project's frames: its namespaces and GObject prefix, or its
# source files (meson compiles them as ../src/..., ../gst/..., ../tools/...
# from the build folder; an absolute path under SOURCE_ROOT too).
root="$root" awk '
  function ours(line) {
    return line ~ /(gearnn::|gstgearnn::|gst_gearnn_| [.][.]\/(src|gst|tools)\/[^ ]*[.](cpp|h):[0-9])/ ||
           (index(line, " " ENVIRON["root"] "/") && line ~ /[.](cpp|h):[0-9]/)
  }
  /^(Direct|Indirect) leak of/ { record = $0 "\n"; inside = 1; mine = 0; next }
  inside && NF == 0 { if (mine) { project++; printf "%s\n", record } else other++; inside = 0; next }
  inside { record = record $0 "\n"; if (ours($0)) mine = 1 }
  END {
    printf "leaks attributed to gst-gearnn: %d; inside the uninstrumented libraries: %d\n", project, other
    exit project > 0
  }' "${reports[@]}" /dev/null
