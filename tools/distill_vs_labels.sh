#!/usr/bin/env bash
# Distillation vs labels on the demo's synthetic motion data (issue 14), the paper's setting at toy
# scale: a small student (width 32, 2 blocks, ≈ 1/6 of the teacher's parameters) initialised from
# its OWN dual-masking MAE encoder (pre-trained here with the demo's pre-training recipe, once),
# then trained with one budget (epochs, lr, augmentation, batches — the demo's labelled recipe)
#   labels   fine-tuned on the labels (cross-entropy, smoothing 0.1)
#   kd-t1    distilled from the demo's fine-tuned teacher (width 64, 4 blocks): τ²·KL, τ = 1, α = 0
#   kd-t2a1  the same with τ = 2 plus 1·cross-entropy on the labels
# for several seeds. Prints, per seed and recipe: best val top-1 (1 centred clip, 24 videos), test
# top-1 of that checkpoint (2 clips × 3 crops, 24 videos), test agreement with the teacher (same
# top-1 class) and the run's wall time. Every stage resumes/skips when its output exists.
#
#   node bin/videomae.mjs demo --out runs/demo            # once: data + pre-trained MAE + the teacher
#   tools/distill_vs_labels.sh runs/demo "0 1 2 3 4" 60   # demo dir, seeds, epochs
#
# Set VIDEOMAE_NUM_THREADS on a shared machine; runs are sequential.
set -euo pipefail
demo=${1:-runs/demo}
seeds=${2:-0 1 2 3 4}
epochs=${3:-60}
out=$demo/distill-vs-labels-mae
v="node $(dirname "$0")/../bin/videomae.mjs"
teacher=$demo/finetune-pretrained/checkpoint-best.safetensors
arch=(--img-size 32 --num-frames 8 --patch-size 8 --embed-dim 32 --depth 2 --num-heads 2
  --sampling-rate 2 --workers 0 --cache-mib 128)
mkdir -p "$out"

# The student's own MAE encoder: the demo's pre-training recipe (60 epochs, dual masking) at the student's size.
pt=$out/pretrain-student/checkpoint-last.safetensors
if [ ! -f "$pt" ]; then
  $v pretrain --lists "$demo/data/pretrain.csv" --model pretrain_videomae_small_patch16_224 "${arch[@]}" --decoder-embed-dim 32 \
    --decoder-depth 1 --decoder-num-heads 2 --epochs 60 --batch-size 16 --num-sample 2 --lr 0.015 --warmup-epochs 4 --seed 0 \
    --resume true --out "$out/pretrain-student" --json >"$out/pretrain-student.log" 2>&1
fi

common=(--train "$demo/data/train.csv" --val "$demo/data/val.csv" --model vit_small_patch16_224 "${arch[@]}" --finetune "$pt" --epochs "$epochs"
  --batch-size 16 --num-sample 2 --lr 0.02 --warmup-epochs 3 --layer-decay 0.75 --drop-path 0.1 --rand-augment false --flip false
  --erasing 0 --mixup 0 --cutmix 0 --crop-scale-min 0.5 --resume true)
declare -A recipe=(
  [labels]="finetune --labels $demo/data/labels.txt"
  [kd-t1]="distill --teacher $teacher --temperature 1 --alpha 0"
  [kd-t2a1]="distill --teacher $teacher --temperature 2 --alpha 1"
)
# Test (2 clips × 3 crops): writes DIR/test.json and DIR/test-predictions.jsonl.
evaluate() { $v eval --test "$demo/data/test.csv" --checkpoint "$1" --views 2x3 --rate 2 --workers 0 --predictions "$2/test-predictions.jsonl" --json >"$2/test.json" 2>/dev/null; }
[ -f "$out/teacher/test.json" ] || { mkdir -p "$out/teacher"; evaluate "$teacher" "$out/teacher"; }
report() { # run dir, seconds → best-val test-top1 test-agreement seconds
  node -e '
    const fs = require("fs"), [dir, tdir, secs] = process.argv.slice(1);
    const top1 = (d) => fs.readFileSync(d + "/test-predictions.jsonl", "utf8").trim().split("\n").map((l) => JSON.parse(l).top5[0].index);
    const s = top1(dir), t = top1(tdir);
    const best = JSON.parse(fs.readFileSync(dir + "/result.json", "utf8")).best;
    const test = JSON.parse(fs.readFileSync(dir + "/test.json", "utf8")).top1;
    const pct = (x) => (100 * x).toFixed(1).padStart(6);
    console.log(`${pct(best)}   ${pct(test)}     ${pct(s.filter((c, i) => c === t[i]).length / s.length)}        ${secs}`);
  ' "$1" "$out/teacher" "$2"
}
printf "teacher (%s): test top-1 %s\n" "$teacher" "$(node -e 'console.log((100*JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")).top1).toFixed(1))' "$out/teacher/test.json")"
printf "seed  recipe    best-val  test-top1  test-agreement  seconds\n"
for s in $seeds; do
  for r in labels kd-t1 kd-t2a1; do
    d=$out/$r-$s
    mkdir -p "$d"
    if [ ! -f "$d/result.json" ]; then
      t0=$(date +%s)
      # shellcheck disable=SC2086
      $v ${recipe[$r]} "${common[@]}" --seed "$s" --out "$d" --json >"$d/result.json.tmp" 2>"$d/log.txt"
      mv "$d/result.json.tmp" "$d/result.json"
      echo $(($(date +%s) - t0)) >"$d/seconds"
    fi
    [ -f "$d/test.json" ] || evaluate "$d/checkpoint-best.safetensors" "$d"
    printf "%-5s %-9s %s\n" "$s" "$r" "$(report "$d" "$(cat "$d/seconds")")"
  done
done
