#!/usr/bin/env bash
# Distillation vs labels on the demo's synthetic motion data: the same tiny student (width 32,
# 2 blocks, from scratch) trained with the same budget (epochs, lr, augmentation, batches)
# either distilled from the demo's fine-tuned model or fine-tuned on the labels, for a few seeds;
# prints best val top-1 and test top-1 (2 clips × 3 crops) of each.
#
#   node bin/videomae.mjs demo --out runs/demo          # once: data + the teacher
#   tools/distill_vs_labels.sh runs/demo "0 1 2" 60     # demo dir, seeds, epochs
set -euo pipefail
demo=${1:-runs/demo}
seeds=${2:-0 1 2}
epochs=${3:-60}
out=$demo/distill-vs-labels
v="node $(dirname "$0")/../bin/videomae.mjs"
common=(--train "$demo/data/train.csv" --val "$demo/data/val.csv" --model vit_small_patch16_224 --img-size 32 --num-frames 8
  --patch-size 8 --embed-dim 32 --depth 2 --num-heads 2 --sampling-rate 2 --workers 0 --cache-mib 128 --epochs "$epochs"
  --batch-size 16 --num-sample 2 --lr 0.02 --warmup-epochs 3 --layer-decay 0.75 --drop-path 0.1 --rand-augment false --flip false
  --erasing 0 --mixup 0 --cutmix 0 --crop-scale-min 0.5 --resume true)
top1() { $v eval --test "$demo/data/test.csv" --checkpoint "$1" --views 2x3 --rate 2 --json 2>/dev/null | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).top1.toFixed(3)))'; }
best() { node -e 'console.log(JSON.parse(require("fs").readFileSync(0,"utf8")).best.toFixed(3))'; }
printf "seed  recipe      best-val  test-top1\n"
for s in $seeds; do
  d=$($v distill "${common[@]}" --teacher "$demo/finetune-pretrained/checkpoint-best.safetensors" --temperature 2 --seed "$s" --out "$out/distill-$s" --json 2>/dev/null | best)
  printf "%-5s distilled   %-9s %s\n" "$s" "$d" "$(top1 "$out/distill-$s/checkpoint-best.safetensors")"
  l=$($v finetune "${common[@]}" --labels "$demo/data/labels.txt" --seed "$s" --out "$out/labels-$s" --json 2>/dev/null | best)
  printf "%-5s labels      %-9s %s\n" "$s" "$l" "$(top1 "$out/labels-$s/checkpoint-best.safetensors")"
done
