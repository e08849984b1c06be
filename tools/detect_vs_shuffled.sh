#!/usr/bin/env bash
# The detection learning experiment of issue 16, run once for the report (not a test):
#   1. a synthetic AVA-format detection set (moving shapes; action = kind of motion);
#   2. a tiny VideoMAE V2 encoder pre-trained (dual masking) on its training videos;
#   3. two detectors fine-tuned from that encoder with the same recipe and budget: one on the
#      true labels, one on labels shuffled over the boxes (the control);
#   4. both scored on the validation proposals: frame-mAP@0.5 (ActivityNet evaluator).
# Usage: tools/detect_vs_shuffled.sh [OUT_DIR]    (default /tmp/detect_vs_shuffled; ~8 min on
# one idle core, VIDEOMAE_NUM_THREADS=1; much longer on a loaded machine)
set -euo pipefail
OUT=${1:-/tmp/detect_vs_shuffled}
HERE=$(cd "$(dirname "$0")/.." && pwd)
V="node $HERE/bin/videomae.mjs"
mkdir -p "$OUT"
DATA=$OUT/data

# 64×48 videos, 4 s at 8 fps, keyframes at seconds 1–3; 2–3 shapes each; 4 classes.
[ -f "$DATA/val.csv" ] || $V detect-synth --out "$DATA" --train-videos 96 --val-videos 32 --seed 1

# The tiny backbone (the demo's): 32-px input, patch 8, 8 frames, width 64, 4 blocks.
TINY=(--img-size 32 --patch-size 8 --num-frames 8 --embed-dim 64 --depth 4 --num-heads 4 --sampling-rate 2 --seed 0 --workers 1 --cache-mib 256)
ls "$DATA"/videos/synth_train_*.mp4 | sed 's|$| 0 -1|' > "$OUT/pretrain.csv"
$V pretrain --lists "$OUT/pretrain.csv" --model pretrain_videomae_small_patch16_224 "${TINY[@]}" \
  --decoder-embed-dim 32 --decoder-depth 1 --decoder-num-heads 2 --epochs 12 --batch-size 16 --num-sample 2 \
  --lr 1.5e-2 --warmup-epochs 2 --out "$OUT/pretrain" --resume --json > "$OUT/pretrain.json"

# Detection recipe (spec §3's pieces at toy scale): the reference's crop/flip/colour/box jitter and
# BCE, warm-up + cosine; clips of 8 frames every 4th (the whole 4-s video around each keyframe, so
# a shape moves 1–2 patches). A 4-row head (the set's classes): with AVA's 80 rows, 76
# never-positive logits would first have to be pushed down, which a few hundred updates do not do.
# No layer decay and no drop path: fast fitting on a tiny set.
# 80 epochs = 2880 updates (~3–3.5 min per detector on one idle core; DETECT_EPOCHS overrides):
# the training loss sits at chance (BCE ≈ 0.56 × boxes ≈ 11) for the first 10–25 epochs and only
# then falls, later for some data draws than others; the earlier 8-epoch budget (288 updates)
# stopped on that plateau (34.9 vs 30.2 %, up vs down at chance). Measured frame-mAP, true vs
# shuffled: data seed 1, 8 epochs 41.5 % (true only); 40 epochs 93.1 vs 27.6 %; data seed 2,
# 40 epochs 58.0 vs 24.8 % (loss still ~4 at the end), 80 epochs 90.9 vs 24.7 %; seed 1, 80 epochs
# (this recipe, clean run) 94.4 vs 27.0 %. 40 epochs on the
# set as rendered before the contrast/overlap fix of src/data/synth/detection.ts (shapes dark on
# dark, occluding), seed 1: 71.8 %.
DATAOPTS=(--videos "$DATA/videos" --fps 8 --short-side 48 --label-map "$DATA/labelmap.pbtxt")
RECIPE=(--model vit_small_patch16_224 "${TINY[@]}" --sampling-rate 4 "${DATAOPTS[@]}" --num-classes 4 --crop-size 48 --epochs "${DETECT_EPOCHS:-80}" --warmup-epochs 2
  --batch-size 8 --lr 1.2e-1 --layer-decay 1 --drop-path 0 --finetune "$OUT/pretrain/checkpoint-last.safetensors" --train "$DATA/train.csv")
for run in true shuffled; do
  shuffle=false; [ $run = shuffled ] && shuffle=true
  $V detect-train "${RECIPE[@]}" --shuffle-labels $shuffle --out "$OUT/detect-$run" --resume --json > "$OUT/detect-$run.json"
  $V detect-eval --checkpoint "$OUT/detect-$run/checkpoint-last.safetensors" "${DATAOPTS[@]}" --sampling-rate 4 \
    --proposals "$DATA/proposals_val.csv" --gt "$DATA/val.csv" --excluded "$DATA/excluded_val.csv" --out "$OUT/eval-$run" > "$OUT/eval-$run.txt"
done
echo "== true labels ==";     cat "$OUT/eval-true.txt"
echo "== shuffled labels =="; cat "$OUT/eval-shuffled.txt"
