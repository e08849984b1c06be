#!/usr/bin/env bash
# The GPU check: on a machine with an NVIDIA GPU and a pip torch but no network (the device
# tool's H200 machine: /opt/torch/.venv), build the addon against that torch's libtorch, run the
# device-relevant part of the suite on CUDA, then benchmark ViT-B on the GPU side by side with the
# official PyTorch modules (eager and torch.compile'd). Budget: under 10 minutes.
#
#   here:   bash scripts/gpu-pack.sh                  # once: node, its headers + npm, node_modules
#   there:  bash scripts/gpu-check.sh                 # with .gpu/ carried along
#
# Options (environment):
#   VIDEOMAE_PYTHON   the Python with a CUDA torch (default /opt/torch/.venv/bin/python3, else python3)
#   GPU_CHECK_BATCH   clips per step in the benchmark (default 32)
#   GPU_CHECK_SKIP    space-separated steps to skip: build tests dist bench
#   OUT               where the logs go (the device tool sets it; default /tmp/gpu-check)
#
# Each step appends to $OUT/gpu-check.log; the script goes on after a failed step and exits
# non-zero at the end if any failed, so one run shows everything. Extending it: add a step
# function and a `run_step NAME FUNCTION` line.
set -uo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"
OUT="${OUT:-/tmp/gpu-check}"
mkdir -p "$OUT"
log="$OUT/gpu-check.log"
: > "$log"
say() { echo "[gpu-check $(date +%H:%M:%S)] $*" | tee -a "$log"; }
failed=()
skip=" ${GPU_CHECK_SKIP:-} "

# ---- Node.js: this machine's, or the carried one ----------------------------------------------
if ! command -v node >/dev/null || [[ ! -f "$(dirname "$(command -v node)")/../include/node/node_api.h" ]]; then
  [[ -f .gpu/node.xz ]] || { say "no node here and no .gpu/node.xz: run scripts/gpu-pack.sh where Node is, carry .gpu"; exit 2; }
  prefix=/tmp/gpu-node
  mkdir -p "$prefix/bin"
  xz -dc .gpu/node.xz > "$prefix/bin/node" && chmod +x "$prefix/bin/node"
  tar -C "$prefix" -xJf .gpu/node-prefix.tar.xz
  export PATH="$prefix/bin:$PATH"
fi
if [[ ! -d node_modules/tsx ]]; then
  [[ -f .gpu/node_modules.tar.xz ]] || { say "no node_modules and no .gpu/node_modules.tar.xz"; exit 2; }
  tar -xJf .gpu/node_modules.tar.xz
fi
say "node $(node --version) at $(command -v node)"

# ---- torch ------------------------------------------------------------------------------------
py="${VIDEOMAE_PYTHON:-}"
if [[ -z "$py" ]]; then
  if [[ -x /opt/torch/.venv/bin/python3 ]]; then py=/opt/torch/.venv/bin/python3; else py=python3; fi
fi
export VIDEOMAE_PYTHON="$py"
torch_dir="$("$py" -c 'import os, torch; print(os.path.dirname(torch.__file__))' 2>>"$log")" || { say "no torch importable by $py"; exit 2; }
"$py" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "gpus", torch.cuda.device_count(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")' 2>&1 | tee -a "$log"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 | tee -a "$log" || true
export LIBTORCH="$torch_dir"
# The CUDA runtime headers for the addon's GPU statistics (native/config.mjs looks here too).
[[ -z "${CUDA_HOME:-}" && -d /usr/local/cuda/include ]] && export CUDA_HOME=/usr/local/cuda

run_step() {
  local name="$1"; shift
  if [[ "$skip" == *" $name "* ]]; then say "step $name: skipped (GPU_CHECK_SKIP)"; return; fi
  say "step $name: $*"
  local t0=$SECONDS
  if "$@" 2>&1 | tee -a "$log" > "$OUT/$name.log"; then
    say "step $name: ok ($((SECONDS - t0)) s)"
  else
    say "step $name: FAILED ($((SECONDS - t0)) s; tail below, whole log in $OUT/$name.log)"
    tail -n 40 "$OUT/$name.log" | tee -a "$log"
    failed+=("$name")
  fi
}

# ---- 1. the addon against the pip torch's libtorch (node-gyp offline, --nodedir from the prefix) --
build() {
  node native/config.mjs defines
  node scripts/build-native.mjs
}
run_step build build

# ---- 2. the suite's device-relevant part on CUDA --------------------------------------------
# test/torch/device.test.ts runs every case on cuda:0 here; the rest of these files exercise the
# CPU paths of the same addon (unchanged by CUDA). Not run here: video decoding (no FFmpeg
# libraries there), ONNX/browser (onnxruntime and Chromium are not carried).
tests() {
  local files
  files=$(ls test/torch/*.test.ts test/nn/*.test.ts test/models/*.test.ts test/optim/*.test.ts test/masking/*.test.ts test/io/*.test.ts 2>/dev/null)
  node "$repo/bin/videomae.mjs" doctor
  VIDEOMAE_TEST=1 node scripts/run-tests.mjs $files
}
run_step tests tests

# ---- 3. two ranks: NCCL with 2 GPUs, else gloo on CUDA tensors sharing GPU 0 --------------------
# test/distributed/overlap_worker.ts on each rank: a tiny pre-training model's gradients averaged
# after backward, overlapped with backward, and overlapped with checkpointed blocks must be equal
# (exactly: with 2 ranks every element is a + b), and equal on both ranks.
dist() {
  local gpus backend envs=()
  gpus=$("$py" -c 'import torch; print(torch.cuda.device_count())')
  if ((gpus >= 2)); then backend=nccl; else backend=gloo; envs=(DIST_CHECK_DEVICE=cuda:0); fi
  echo "2 ranks, backend $backend ($gpus GPU(s))"
  env "${envs[@]}" node bin/videomae.mjs launch --nproc-per-node 2 --backend "$backend" --timeout 120 -- \
    node --import tsx test/distributed/overlap_worker.ts | tee "$OUT/dist.jsonl"
  node -e '
    const rows = require("fs").readFileSync(process.argv[1], "utf8").split("\n").map((l) => l.replace(/^\[rank \d+\] /, "")).filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
    const ok = rows.length === 2 && rows.every((r) => r.overlapDiff === 0 && r.checkpointDiff === 0) && rows[0].checksum === rows[1].checksum;
    console.log(ok ? "gradients equal on both ranks, overlapped and checkpointed alike" : "MISMATCH: " + JSON.stringify(rows));
    process.exit(ok ? 0 : 1);' "$OUT/dist.jsonl"
}
run_step dist dist

# ---- 4. ViT-B on the GPU, ours vs PyTorch eager / compiled -----------------------------------
bench() {
  node bin/videomae.mjs bench --device cuda --batch "${GPU_CHECK_BATCH:-32}" --reps 5 --out "$OUT/bench-gpu.json"
}
run_step bench bench

if ((${#failed[@]})); then
  say "FAILED steps: ${failed[*]}"
  exit 1
fi
say "all steps passed"
