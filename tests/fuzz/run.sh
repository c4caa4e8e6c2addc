#!/usr/bin/env bash
# Builds the fuzz targets with clang's libFuzzer, AddressSanitizer and
# UndefinedBehaviorSanitizer, and runs each for a bounded time, starting from
# its seed corpus in tests/fuzz/corpus/NAME (which holds the regression cases
# of earlier findings too). A crash, a hang (over 5 s on one input), a leak
# or a sanitizer report fails the run and leaves the input in OUT/.
#
#   tests/fuzz/run.sh OUT [MAX_SECONDS_PER_TARGET]     (meson test runs it as "fuzz")
#
# For a longer hunt: the target binaries in OUT take libFuzzer's options, for
# example OUT/fuzz_h264_slice -max_total_time=600 tests/fuzz/corpus/h264_slice
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:?usage: run.sh OUT [SECONDS]}
seconds=${2:-60}
if ! command -v clang++ > /dev/null; then
  echo "SKIP: no clang++ (scripts/install-deps.sh installs it)"
  exit 77
fi
mkdir -p "$out"
flags=(-std=c++17 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -I"$src/src")
torch=(-isystem /usr/include/torch/csrc/api/include -Wl,--push-state,--no-as-needed,-ltorch_cpu,--pop-state
       -ltorch -lc10)

declare -A sources=(
  [h264_slice]="src/measure/h264_slice.cpp"
  [jpeg_dqt]="src/distort/jpeg_quality.cpp"
  [manifest]="src/manifest.cpp src/distortion.cpp src/checked_file.cpp"
  [tensor_file]="src/tensor_file.cpp src/checked_file.cpp"
)
# A fixed seed and a fixed number of runs make each run reproducible (a time
# limit alone would test a different set of inputs on a slower machine);
# `SECONDS` caps a run on a very slow one. About 15 s each here.
declare -A runs=([h264_slice]=300000 [jpeg_dqt]=60000 [manifest]=30000 [tensor_file]=150000)
status=0
for name in h264_slice jpeg_dqt manifest tensor_file; do
  exe="$out/fuzz_$name"
  extra=()
  [ "$name" = tensor_file ] && extra=("${torch[@]}")
  files=("$src/tests/fuzz/fuzz_$name.cpp")
  for f in ${sources[$name]}; do files+=("$src/$f"); done
  newest=$(ls -t "${files[@]}" "$src/tests/fuzz/run.sh" | head -n 1)
  if [ ! -x "$exe" ] || [ "$newest" -nt "$exe" ]; then
    echo "== build fuzz_$name"
    clang++ "${flags[@]}" "${files[@]}" "${extra[@]}" -o "$exe"
  fi
  work="$out/corpus-$name"
  mkdir -p "$work"
  echo "== fuzz_$name: ${runs[$name]} runs, at most ${seconds} s (seeds: tests/fuzz/corpus/$name)"
  if ! ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
      "$exe" -seed=1 -runs="${runs[$name]}" -max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$out/$name-" "$work" "$src/tests/fuzz/corpus/$name" > "$out/$name.log" 2>&1; then
    echo "FAIL: fuzz_$name; the input is in $out/$name-*; its log:"
    tail -n 40 "$out/$name.log"
    status=1
  else
    grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$out/$name.log" | tr '\n' ' '
    echo
  fi
done
exit $status
