#!/usr/bin/env bash
# Rebuilds the CamVid models shipped in models/ and their reports, step by step:
#
#   models/camvid/make.sh STEP [STEP...]      (steps below; "all" runs them in order)
#
#   base       the CamVid base DRN (gearnn train, from scratch, without 0006R0, then a short tail), scored on val and 0006R0
#   base_report  only the base's reports (part of base)
#   abr        ABR-ladder bundle (3 resolutions x 3 CRFs) + its baselines + report
#   jpeg       JPEG quality 10..100 bundle + its baselines + report
#   brightness brightness 0.1..2.0 bundle + its baselines + report
#   sweep      the two hardest JPEG levels adapted at budgets 0.1%..1%
#   nearclean  like-for-like check: JPEG 90 and 100 alone, every method, val and 0006R0
#   stream     the ABR bundle measured through the elements on a bitrate ladder
#   stream_exits  the same with the bundle's early exits on too, per representation
#   stream_jpeg  the JPEG bundle through the elements, one MJPEG stream per quality
#   stream_brightness  the brightness bundle through the elements, one MJPEG stream per brightness
#   stream_darkening  the same ladder on that bundle without its brightening levels (gearnn bundle select)
#   exits      FlexDNN early exits added to the ABR bundle, against BranchyNet-style exits and smaller inputs
#   exits_clean  the shipped exits' reports on clean frames (part of exits; alone for a bundle whose exits exist)
#   exit_levels  thresholds of their own for the ABR bundle's distorted levels (its exits kept) + reports
#   expected   each ABR level's mIoU on 0006R0 recorded in the bundle (the meta's expected-miou, the ABR hint)
#
# Every step resumes where it stopped (training checkpoints every epoch, adapt
# keeps finished levels). Work files (checkpoints, whole fine-tuned models,
# distorted-image cache) go to $GEARNN_WORK (default work/camvid, ignored by
# git); what is shipped is copied into models/. CamVid is read from
# $CAMVID (default ../shared/datasets/camvid) and never copied.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
gearnn=${GEARNN:-build/src/gearnn}
data=${CAMVID:-../shared/datasets/camvid}
work=${GEARNN_WORK:-work/camvid}
threads=${THREADS:-$(nproc)}
workers=${WORKERS:-2}     # data loading threads (more on a GPU machine)
device=${DEVICE:-cpu}      # cuda with a CUDA build (README: Full-size models on a GPU)
width=${WIDTH:-0.25}       # 1 = the full DRN-D-22
crop=${CROP:-320x240}      # training crop; 480x360 = CamVid's whole frame here
time_rounds=${TIME_ROUNDS:-7}  # eval-exits and eval-stream --early-exit: times are medians over these rounds
mkdir -p "$work"
run() { echo "+ $*" >&2; "$@"; }
common=(--data "$data" --threads "$threads" --workers "$workers" --cache "$work/cache" --device "$device")

# The base: DRN-D-22 at width 0.25 (1.0M values: 4 MB, tens of frames per
# second on 2 cores), trained on CamVid train without sequence 0006R0, which
# every report then scores as a held-out street (val shares sequence 0016E5
# with train). One stage with SegNet's median-frequency class weights (they
# lift the thin classes that plain NLL leaves near zero), multi-scale crops,
# flips, colour jitter and, on half the images each, blur, noise and JPEG;
# then BN statistics recomputed over the training batches (--recalibrate
# crops; 'frames', whole unaugmented frames, scored 2 points lower on val and
# 0.4 higher on 0006R0: models/camvid/README.md).
heldout=0006R0
base_recipe=(--arch drn_d_22 --width "$width" --exclude-sequence "$heldout" --class-weights median-frequency
             --scale 0.5,2 --crop "$crop" --flip --jitter 0.3 --blur 1.5 --noise 8 --compress 30
             --batch 8 --lr 0.01 --epochs "${BASE_EPOCHS:-200}" --recalibrate crops --val-every 10)
# Stage 2, a tail: the poly schedule ends stage 1 at a learning rate near zero,
# and four more epochs at 0.001 on plain crops (the same loss, through --init)
# still lift it by 1 to 1.5 points, which every method fine-tuned from the base
# would otherwise collect and count as its own gain (models/camvid/README.md).
base_tail_recipe=(--epochs 4 --lr 0.001 --crop "$crop" --flip --exclude-sequence "$heldout" --val-split none --quiet)
# Adaptation: whole-model fine-tuning (the DNN-switching model and the source of
# Eq. 1), then the adaptor alone; 320x240 crops of every level's images. The
# adaptor's ~2,000 values learn at lr 0.1: at the paper's 0.001 they barely
# move in 4 epochs (models/camvid/README.md: The adaptor's learning rate).
adapt_recipe=(--full-epochs "${FULL_EPOCHS:-3}" --adaptor-epochs "${ADAPTOR_EPOCHS:-4}" --adaptor-lr "${ADAPTOR_LR:-0.1}"
              --crop "$crop" --flip --exclude-sequence "$heldout" --quiet)
# Baselines trained from the base for as many epochs as an adapted level gets.
baseline_epochs=${BASELINE_EPOCHS:-4}

abr_levels="h264:480x360@18,480x360@28,480x360@38,320x240@18,320x240@28,320x240@38,240x180@18,240x180@28,240x180@38"
abr_base_level="h264:480x360@18"
abr_distorted_levels="h264:480x360@28,480x360@38,320x240@18,320x240@28,320x240@38,240x180@18,240x180@28,240x180@38"
jpeg_levels=${JPEG_LEVELS:-jpeg:10,20,30,40,50,60,70,80,90,100}
jpeg_base_level="jpeg:100"
brightness_levels="brightness:0.1,0.2,0.4,0.6,0.8,1,1.5,2"
brightness_base_level="brightness:1"

step_base() {
  # training.json is written last: a finished stage 1 is not trained again.
  [ -f "$work/base-stage1/training.json" ] ||
    run "$gearnn" train "${common[@]}" "${base_recipe[@]}" --resume -o "$work/base-stage1"
  run "$gearnn" train "${common[@]}" --init "$work/base-stage1" "${base_tail_recipe[@]}" --resume -o "$work/base"
  mkdir -p models/camvid-base
  cp "$work/base/manifest.json" "$work/base/base.safetensors" "$work/base/training.json" models/camvid-base/
  cp "$work/base-stage1/training.json" models/camvid-base/training-stage1.json
  "$gearnn" inspect models/camvid-base > models/camvid-base/inspect.txt
  step_base_report
}

# The base's reports: undistorted val and 0006R0, with test-time BN adaptation.
step_base_report() {
  local base
  base=$(base_bundle)
  run "$gearnn" eval "${common[@]}" --split train --only-sequence "$heldout" --levels clean --bundle "$base" \
    --methods original,bn-frame,bn-set --title "CamVid base on $heldout, held out of training" \
    -o models/camvid/base-report/heldout
  run "$gearnn" eval "${common[@]}" --split val --levels clean --bundle "$base" \
    --methods original,bn-frame,bn-set --title "CamVid base on val" -o models/camvid/base-report/val
}

# The base the bundle steps start from: the output of `base`, or on a fresh
# checkout (no work folder) the shipped copy of it, models/camvid-base. Every
# bundle references that one file.
base_bundle() {
  if [ -f "$work/base/manifest.json" ]; then echo "$work/base"; else echo models/camvid-base; fi
}

# adapt_and_compare NAME LEVELS BASE_LEVEL: the bundle, mixed and stability
# training, the five-method report, and the shipped copy in models/camvid-NAME.
adapt_and_compare() {
  local name=$1 levels=$2 base_level=$3
  local bundle="$work/$name" ship="models/camvid-$name" base
  base=$(base_bundle)
  run "$gearnn" adapt "${common[@]}" "${adapt_recipe[@]}" --budget 0.2% --base "$base" --levels "$levels" \
    --base-level "$base_level" -o "$bundle"
  # Both inherit the base's class weights (train --init); so does adapt.
  run "$gearnn" train "${common[@]}" --init "$base" --mix "$levels" --epochs "$baseline_epochs" --lr 0.001 \
    --crop "$crop" --flip --exclude-sequence "$heldout" --val-split none --quiet --resume -o "$bundle-mixed"
  run "$gearnn" train "${common[@]}" --init "$base" --stability-alpha 2 --stability-sigma 0.1 \
    --epochs "$baseline_epochs" --lr 0.001 --crop "$crop" --flip --exclude-sequence "$heldout" --val-split none \
    --quiet --resume -o "$bundle-stability"
  local notes="$work/$name-notes.md"
  cat > "$notes" <<EOF
## How the models were made

\`models/camvid/make.sh $name\` (DEVICE=$device, WIDTH=$width, CROP=$crop), from the base of \`make.sh base\`:

- base: \`gearnn train ${base_recipe[*]}\` on CamVid train without $heldout, then
  \`gearnn train --init STAGE1 ${base_tail_recipe[*]}\`; every model below
  was fine-tuned from it with its loss (median-frequency class weights) on the same frames
- GearNN and DNN switching: \`gearnn adapt ${adapt_recipe[*]} --budget 0.2% --levels $levels --base-level $base_level\`;
  switching keeps each level's whole fine-tuned model, GearNN its adaptor
- mixed training: $baseline_epochs epochs from the base, lr 0.001, each image from a random level per epoch
- stability training: $baseline_epochs epochs from the base, lr 0.001, alpha 2, sigma 0.1 (RGB/255 units), clean images
- bn-frame, bn-set: test-time BN adaptation of the base, no labels: each frame normalised by its own
  BN statistics, or the statistics re-estimated on all of the level's frames of the scored split
EOF
  local methods=original,switching,mixed,stability,bn-frame,bn-set,gearnn
  run "$gearnn" eval "${common[@]}" --split val --levels "$levels" --bundle "$bundle" --methods "$methods" \
    --switching "$bundle.switching" --mixed "$bundle-mixed" --stability "$bundle-stability" \
    --title "GearNN on CamVid val: $name levels" --notes "$notes" -o "$ship/report"
  run "$gearnn" eval "${common[@]}" --split train --only-sequence "$heldout" --levels "$levels" --bundle "$bundle" \
    --methods "$methods" --switching "$bundle.switching" --mixed "$bundle-mixed" --stability "$bundle-stability" \
    --title "GearNN on CamVid $heldout (held out of every training): $name levels" --notes "$notes" \
    -o "$ship/report-$heldout"
  # Every bundle adapts the same base: it is shipped once, in camvid-base (the hash still guards it).
  cmp -s "$bundle/base.safetensors" models/camvid-base/base.safetensors ||
    { echo "make.sh: $bundle was not adapted from models/camvid-base (run make.sh base first?)" >&2; exit 1; }
  rm -f "$ship"/adaptor-*.safetensors "$ship/base.safetensors"
  cp "$bundle"/manifest.json "$bundle"/adaptor-*.safetensors "$ship/"
  sed -i 's#"file": "base.safetensors"#"file": "../camvid-base/base.safetensors"#' "$ship/manifest.json"
  "$gearnn" inspect "$ship" > "$ship/inspect.txt"
}

# The ABR bundle through the elements (gearnn-eval-stream), as a five-rung
# bitrate ladder mixing resolution and quality as services do: on 0006R0, a
# street no training step saw, and on CamVid val, whose frames no training
# step used (its sequence, 0016E5, is also in train).
stream_ladder="h264:480x360@1200k,480x360@500k,320x240@400k,320x240@150k,240x180@80k"
step_stream() { stream_reports abr "$stream_ladder" streams "a bitrate ladder"; }

# stream_reports NAME LADDER WORK WHAT: gearnn-eval-stream of models/camvid-NAME
# on 0006R0 and on val (its stream-report-0006R0 and stream-report), the
# encoded streams in $work/WORK-0006R0 and $work/WORK, with DNN switching too
# where the NAME step's whole models are in the work folder.
stream_reports() {
  local name=$1 ladder=$2 streams=$3 what=$4 ship="models/camvid-$1" switching=()
  [ -d "$work/$name.switching" ] && switching=(--switching "$work/$name.switching")
  local eval_stream=("${EVAL_STREAM:-build/tools/gearnn-eval-stream}" --data "$data" --threads "$threads"
                     --bundle "$ship" "${switching[@]}" --ladder "$ladder")
  run "${eval_stream[@]}" --split train --only-sequence "$heldout" --work "$work/$streams-$heldout" \
    --title "camvid-$name through the elements: CamVid $heldout (held out of every training) as $what" \
    -o "$ship/stream-report-$heldout"
  run "${eval_stream[@]}" --split val --work "$work/$streams" \
    --title "camvid-$name through the elements: CamVid val as $what" -o "$ship/stream-report"
}

# The same ladder with the bundle's early exits on as well (adaptors and exits
# together), per representation: mIoU, time and MACs per frame, frames per
# exit, at the threshold scales of the exits step's reports. Its adaptive and
# fixed rows repeat the stream step's.
step_stream_exits() {
  local eval_stream=("${EVAL_STREAM:-build/tools/gearnn-eval-stream}" --data "$data" --threads "$threads"
                     --bundle models/camvid-abr --ladder "$stream_ladder" --early-exit 0.95,1,1.02
                     --time-rounds "$time_rounds")
  run "${eval_stream[@]}" --split train --only-sequence "$heldout" --work "$work/streams-$heldout" \
    --title "camvid-abr with early exits through the elements: CamVid $heldout (held out) as a bitrate ladder" \
    -o "models/camvid-abr/stream-exits-report-$heldout"
  run "${eval_stream[@]}" --split val --work "$work/streams" \
    --title "camvid-abr with early exits through the elements: CamVid val as a bitrate ladder" \
    -o models/camvid-abr/stream-exits-report
}

# The JPEG bundle through the elements: each quality of its levels as an
# MJPEG stream (one JPEG per frame, as a camera at that quality setting sends),
# played through jpegparse ! gearnnquality ! jpegdec ! gearnn, on 0006R0 and
# on val, with DNN switching where the jpeg step's whole models are in the
# work folder.
step_stream_jpeg() { stream_reports jpeg "$jpeg_levels" jpeg-streams "MJPEG at each quality"; }

# The brightness bundle through the elements: the frames darkened or
# brightened by each of its levels' factors and by three in between (0.3, 0.5,
# 1.2: lighting falls between levels too), sent as MJPEG at quality 95 (the
# --carrier default, a camera's stream), on 0006R0 and on val, with DNN
# switching where the brightness step's whole models are in the work folder.
brightness_ladder="brightness:0.1,0.2,0.3,0.4,0.5,0.6,0.8,1,1.2,1.5,2"
step_stream_brightness() {
  stream_reports brightness "$brightness_ladder" brightness-streams "MJPEG at each brightness"
}

# The same streams played on the brightness bundle without its brightening
# levels (1.5, 2): a bright street's undistorted frames measure as brightened
# ones (model card), so here they run the base instead.
step_stream_darkening() {
  local ship=models/camvid-brightness bundle="$work/brightness-darkening"
  local darkening=brightness:0.1,brightness:0.2,brightness:0.4,brightness:0.6,brightness:0.8,brightness:1
  rm -rf "$bundle"
  run "$gearnn" bundle select "$ship" --levels "$darkening" -o "$bundle"
  local eval_stream=("${EVAL_STREAM:-build/tools/gearnn-eval-stream}" --data "$data" --threads "$threads"
                     --bundle "$bundle" --ladder "$brightness_ladder")
  run "${eval_stream[@]}" --split train --only-sequence "$heldout" --work "$work/brightness-streams-$heldout" \
    --title "camvid-brightness without brightening levels through the elements: CamVid $heldout (held out)" \
    -o "$ship/stream-report-darkening-$heldout"
  run "${eval_stream[@]}" --split val --work "$work/brightness-streams" \
    --title "camvid-brightness without brightening levels through the elements: CamVid val" \
    -o "$ship/stream-report-darkening"
}

# Like for like: at a level that barely differs from clean (JPEG 90; 100 runs
# the base), a fine-tuning that uses the base's own loss and data should gain
# about nothing; a gain there would measure a recipe difference, not GearNN.
step_nearclean() {
  local bundle="$work/nearclean" ship=models/camvid/nearclean base levels=jpeg:90,100
  base=$(base_bundle)
  run "$gearnn" adapt "${common[@]}" "${adapt_recipe[@]}" --budget 0.2% --base "$base" --levels "$levels" \
    --base-level jpeg:100 -o "$bundle"
  run "$gearnn" train "${common[@]}" --init "$base" --mix "$levels" --epochs "$baseline_epochs" --lr 0.001 \
    --crop "$crop" --flip --exclude-sequence "$heldout" --val-split none --quiet --resume -o "$bundle-mixed"
  run "$gearnn" train "${common[@]}" --init "$base" --stability-alpha 2 --stability-sigma 0.1 \
    --epochs "$baseline_epochs" --lr 0.001 --crop "$crop" --flip --exclude-sequence "$heldout" --val-split none \
    --quiet --resume -o "$bundle-stability"
  local methods=original,switching,mixed,stability,bn-frame,bn-set,gearnn
  local models=(--switching "$bundle.switching" --mixed "$bundle-mixed" --stability "$bundle-stability")
  run "$gearnn" eval "${common[@]}" --split val --levels "$levels" --bundle "$bundle" --methods "$methods" \
    "${models[@]}" --title "Near-clean JPEG on CamVid val, like for like" -o "$ship/val"
  run "$gearnn" eval "${common[@]}" --split train --only-sequence "$heldout" --levels "$levels" --bundle "$bundle" \
    --methods "$methods" "${models[@]}" --title "Near-clean JPEG on CamVid $heldout (held out), like for like" \
    -o "$ship/$heldout"
}

# FlexDNN's early exits in the ABR bundle: heads trained on the base's trunk
# (CamVid train without 0006R0), searched, thresholded and planned on val for
# at most 1 mIoU point lost; BranchyNet-style exits (the first heads at every
# stride-8 stage, thresholds only) for comparison; the report on val and on
# 0006R0, clean frames and the ladder's levels, with and without adaptors.
# Every distorted level gets thresholds of its own, chosen on its distorted
# val frames for the same loss (both kinds of exits, like for like).
# The first heads have 2 convs of 64 channels, 10 epochs, 4 per pruning step
# (the command's defaults, twice the stage's width and 20 epochs, take about
# eight times as long on 2 cores; an earlier run from 2 x 256 pruned base.6
# to 2 x 64 anyway). The shipped exits took 3,257 s for this whole step.
# Heads with dilated convs (dilation 4: a wider view at stride 8 for the same
# MACs) trained to follow the network's own probabilities as well as the labels
# (--distill 1); BranchyNet-style exits get the same heads, without search or plan.
exit_recipe=(--epochs "${EXIT_EPOCHS:-10}" --prune-epochs "${EXIT_PRUNE_EPOCHS:-4}" --channels "${EXIT_CHANNELS:-64}"
             --dilation "${EXIT_DILATION:-4}" --distill "${EXIT_DISTILL:-1}" --exclude-sequence "$heldout" --max-loss 1
             --level-thresholds "$abr_distorted_levels")
# BranchyNet-style exits: the same first heads at every stage, thresholds only.
make_branchy() {
  run "$gearnn" exits "${common[@]}" "${exit_recipe[@]}" --fixed --bundle models/camvid-abr --work "$work/exits.work" \
    -o "$work/abr-branchy"
}
step_exits() {
  local ship=models/camvid-abr
  run "$gearnn" exits "${common[@]}" "${exit_recipe[@]}" --bundle "$ship" --work "$work/exits.work" -o "$ship"
  make_branchy
  local report=(--bundle "$ship" --branchy "$work/abr-branchy" --levels "h264:480x360@18,320x240@28,240x180@38"
                --time-rounds "$time_rounds")
  run "$gearnn" eval-exits "${common[@]}" "${report[@]}" --split val \
    --title "Early exits in camvid-abr on CamVid val" -o "$ship/exits-report"
  run "$gearnn" eval-exits "${common[@]}" "${report[@]}" --split train --only-sequence "$heldout" \
    --title "Early exits in camvid-abr on CamVid $heldout (held out of every training)" -o "$ship/exits-report-$heldout"
  step_exits_clean
  "$gearnn" inspect "$ship" > "$ship/inspect.txt"
}

# The shipped exits at the shipped base on clean CamVid frames (the ladder's
# levels are in exits-report*): val and 0006R0, against BranchyNet-style exits
# (made again from the same recipe when the work folder lacks them) and the
# base on smaller inputs.
step_exits_clean() {
  local ship=models/camvid-abr
  [ -f "$work/abr-branchy/manifest.json" ] || make_branchy
  local report=(--bundle "$ship" --branchy "$work/abr-branchy" --time-rounds "$time_rounds")
  run "$gearnn" eval-exits "${common[@]}" "${report[@]}" --split val \
    --title "Early exits in camvid-abr on clean CamVid val" -o "$ship/exits-clean-report"
  run "$gearnn" eval-exits "${common[@]}" "${report[@]}" --split train --only-sequence "$heldout" \
    --title "Early exits in camvid-abr on clean CamVid $heldout (held out of every training)" \
    -o "$ship/exits-clean-report-$heldout"
}

# Each ABR level's accuracy on the held-out street, written into the bundle's
# manifest (weights untouched): what the element reports as expected-miou and
# what its ABR hint (target-miou) compares with the target.
step_expected() {
  run "$gearnn" eval "${common[@]}" --split train --only-sequence "$heldout" --levels "$abr_levels" \
    --bundle models/camvid-abr --methods gearnn --write-expected --quiet -o "$work/expected-abr"
  "$gearnn" inspect models/camvid-abr > models/camvid-abr/inspect.txt
}

# For a bundle whose exits were made before thresholds per level (the exits
# step makes them itself): the shipped exits kept, each distorted ABR level given thresholds of its own
# (chosen on its distorted val frames, at most 1 point lost), and the reports
# on the ladder's levels; without BranchyNet-style rows, whose bundle is a
# work file of the exits step.
step_exit_levels() {
  local ship=models/camvid-abr levels="h264:480x360@18,320x240@28,240x180@38"
  run "$gearnn" exits "${common[@]}" --bundle "$ship" --keep-heads --level-thresholds "$abr_distorted_levels" \
    --max-loss 1 -o "$ship"
  run "$gearnn" eval-exits "${common[@]}" --bundle "$ship" --levels "$levels" --time-rounds "$time_rounds" --split val \
    --title "Early exits in camvid-abr on CamVid val, thresholds per level" -o "$ship/exits-levels-report"
  run "$gearnn" eval-exits "${common[@]}" --bundle "$ship" --levels "$levels" --time-rounds "$time_rounds" \
    --split train --only-sequence "$heldout" \
    --title "Early exits in camvid-abr on CamVid $heldout (held out of every training), thresholds per level" \
    -o "$ship/exits-levels-report-$heldout"
  "$gearnn" inspect "$ship" > "$ship/inspect.txt"
}

step_abr() { mkdir -p models/camvid-abr && adapt_and_compare abr "$abr_levels" "$abr_base_level"; }
step_jpeg() { mkdir -p models/camvid-jpeg && adapt_and_compare jpeg "$jpeg_levels" "$jpeg_base_level"; }
step_brightness() {
  mkdir -p models/camvid-brightness && adapt_and_compare brightness "$brightness_levels" "$brightness_base_level"
}

# The two hardest JPEG levels at four budgets, all from one whole-model
# fine-tuning per level (the first budget's; later budgets copy it), so that
# only the adaptors differ. DNN switching is that fine-tuned model.
step_sweep() {
  local levels="jpeg:10,20" budget first="$work/sweep-0.1" ship=models/camvid-jpeg/budget-sweep base
  base=$(base_bundle)
  mkdir -p "$ship"
  for budget in 0.1 0.2 0.5 1; do
    local out="$work/sweep-$budget"
    if [ "$budget" != 0.1 ]; then
      for level in jpeg_10 jpeg_20; do
        if [ ! -d "$out.work/$level/full" ]; then
          mkdir -p "$out.work/$level" && cp -r "$first.work/$level/full" "$out.work/$level/"
        fi
      done
    fi
    run "$gearnn" adapt "${common[@]}" "${adapt_recipe[@]}" --budget "$budget%" --base "$base" \
      --levels "$levels" -o "$out"
    run "$gearnn" eval "${common[@]}" --split val --levels "$levels" --bundle "$out" \
      --switching "$first.switching" --methods original,gearnn,switching --quiet -o "$out-report"
    # Shipped: the layers chosen (the manifest's "selection") and the per-class IoU.
    cp "$out/manifest.json" "$ship/manifest-$budget.json"
    cp "$out-report/results.csv" "$ship/results-$budget.csv"
  done
  plot_sweep "$ship"
}

# Budget sweep table and plot: mIoU of GearNN and of DNN switching per budget.
plot_sweep() {
  local dir=$1 budget
  mkdir -p "$dir"
  {
    echo "# budget_percent budget_values gearnn_jpeg10 gearnn_jpeg20 switching_jpeg10 switching_jpeg20"
    for budget in 0.1 0.2 0.5 1; do
      local csv="$dir/results-$budget.csv"
      printf '%s %s' "$budget" "$(sed -n 's/.*"budget": *\([0-9]*\).*/\1/p' "$dir/manifest-$budget.json" | head -n 1)"
      for m in gearnn switching; do
        for l in jpeg:10 jpeg:20; do
          printf ' %s' "$(awk -F, -v m=$m -v l=$l '$1 == m && $2 == l {print $3}' "$csv")"
        done
      done
      echo
    done
  } > "$dir/sweep.dat"
  cat > "$dir/sweep.gp" <<'GP'
set terminal pngcairo size 800,480 noenhanced font 'sans,11'
set output 'sweep.png'
set title 'CamVid val: adaptor budget against mIoU (JPEG Q10 and Q20)'
set xlabel 'adaptor budget (% of the base)'
set ylabel 'mIoU (%)'
set logscale x
set xtics (0.1, 0.2, 0.5, 1)
set grid
set key outside right center
plot 'sweep.dat' using 1:3 with linespoints lw 2 title 'GearNN Q10', \
     '' using 1:4 with linespoints lw 2 title 'GearNN Q20', \
     '' using 1:5 with lines dt 2 lw 2 title 'switching Q10', \
     '' using 1:6 with lines dt 2 lw 2 title 'switching Q20'
set output
set terminal svg size 800,480 noenhanced font 'sans,11' background rgb 'white'
set output 'sweep.svg'
replot
GP
  (cd "$dir" && gnuplot sweep.gp)
  cat "$dir/sweep.dat"
}

[ $# -gt 0 ] || { sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 2; }
[ -x "$gearnn" ] || { echo "make.sh: $gearnn is not built (scripts/setup.sh)" >&2; exit 1; }
[ -f "$data/train.txt" ] || { echo "make.sh: no CamVid at $data (set CAMVID)" >&2; exit 1; }
for step in "$@"; do
  if [ "$step" = all ]; then set -- base abr stream jpeg brightness sweep; break; fi
done
for step in "$@"; do
  declare -F "step_$step" >/dev/null || { echo "make.sh: unknown step '$step'" >&2; exit 2; }
  start=$(date +%s)
  echo "== $step"
  "step_$step"
  echo "== $step took $(( $(date +%s) - start )) s"
done
