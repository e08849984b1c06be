"""PyTorch side of `npm run bench`: a tiny line protocol so that our runs and PyTorch's can be
interleaved in one benchmark session. Run by the benchmark with Debian's /usr/bin/python3.

Each input line is a JSON request; each output line the JSON answer. A request that fails (bad
JSON, unknown op, bad argument, an exception in torch) gets {"error": "..."} and the server keeps
serving; only {"op": "quit"} or the end of input stops it.

  {"op": "hello", "threads": 2}                 -> {"torch": "1.13.1", "threads": 2, "blas": [..loaded BLAS libraries..]}
  {"op": "gemm", "n": 2048, "dtype": "float32", "reps": 5} -> {"seconds": [..per rep..]}
  {"op": "small_add", "calls": 100000}          -> {"seconds": total}
  {"op": "component", "name": "attention", "shape": {"B":1,"N":1568,"D":768,"H":12,"hidden":3072,
   "frames":16,"img":224,"patch":16,"tubelet":2}, "dtype": "fp32", "backward": false, "reps": 3}
      -> {"seconds": median per call}   (one piece of a block; src/bench/profile.ts)
  {"op": "model_inference", "size": "s"|"b", "dtype": "fp32"|"bf16", "reps": 3,
   "batch": 1, "config": {..optional overrides, camelCase as videomae_reference.py..}}
      -> {"seconds": [..per rep..], "memory": {...}, "model": {...}}
  {"op": "pretrain_step", "size": "s"|"b", "batch": 2, "decoder": "run_cell"|"none",
   "dtype": "fp32"|"bf16", "reps": 3, "config": {..}}
      -> {"seconds": [..per rep..], "loss": last loss, "memory": {...}, "model": {...}}

Models are the transcription of the official modules in videomae_reference.py (only its
definitions are executed), with the official ViT-S/B configs. bf16 = torch.autocast("cpu",
bfloat16) around forward (and loss, as engine_for_pretraining.py); weights stay float32.
A pretrain step is a training iteration: forward, loss, backward, AdamW (betas 0.9/0.95, weight
decay 0.05 except 1-D/bias/mask_token) step, zero_grad(set_to_none=True). Masks: tube 0.9
(ViT 16x224²: 160 visible tokens) and running cell 0.5 (784 kept) from the reference generators,
drawn once per workload; "none" = V1 (the decoder reconstructs exactly the encoder-masked tokens).

The first request of a workload builds it (model, input, masks, optimizer) and runs `warmup`
(default 1) untimed reps; later requests with the same parameters reuse it.

Memory (bytes; Linux /proc, the same method as the TypeScript side, src/bench/memory.ts):
  base    VmRSS just before the workload was built (previous workload freed, gc run)
  before  VmRSS just before the timed reps
  peak    VmHWM over the timed reps: the kernel's high-water mark is reset through
          /proc/self/clear_refs ("5") right before them, so this is the exact peak RSS of the
          reps (no sampling), including memory the allocator kept from earlier reps
  maxrss  getrusage ru_maxrss, the whole process lifetime (for reference)
The benchmark reports peak - base: everything the workload holds at its peak (weights, grads,
AdamW moments, activations), without the interpreter's and libraries' own footprint.
"""
import gc
import json
import os
import resource
import sys
import time
import traceback

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}

# The module definitions of videomae_reference.py (everything before its generation code).
_src = open(os.path.join(HERE, "videomae_reference.py")).read()
_ns = {"__name__": "videomae_reference_defs", "__file__": os.path.join(HERE, "videomae_reference.py")}
exec(compile(_src[: _src.index("gen = torch.Generator().manual_seed(1234)")], "videomae_reference.py", "exec"), _ns)
R = type("R", (), _ns)  # attribute access: R.VisionTransformer, R.tube_mask, ...

BACKBONE = dict(imgSize=224, numFrames=16, tubeletSize=2, patchSize=16, mlpRatio=4, numClasses=400, decoderDepth=4)
SIZES = {
    "s": dict(BACKBONE, embedDim=384, depth=12, numHeads=6, decoderEmbedDim=192, decoderNumHeads=3),
    "b": dict(BACKBONE, embedDim=768, depth=12, numHeads=12, decoderEmbedDim=384, decoderNumHeads=6),
}
IMAGENET_MEAN = torch.tensor([0.485, 0.456, 0.406])[None, :, None, None, None]
IMAGENET_STD = torch.tensor([0.229, 0.224, 0.225])[None, :, None, None, None]


# ------------------------------------------------------------------------------------------------
# Memory


def _status(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    return 0


def _reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


# ------------------------------------------------------------------------------------------------
# Workloads


def config_of(req):
    size = req.get("size", "s")
    if size not in SIZES and "config" not in req:
        raise ValueError(f"unknown size {size!r} (use 's' or 'b', or pass a config)")
    return dict(SIZES.get(size, SIZES["s"]), **req.get("config", {}))


def official_loss(videos, pred, enc, dec, c):
    """engine_for_pretraining.py with its einops rearrange written as reshape/permute (what einops
    does); equivalent to videomae_reference.pretrain_loss, without its per-call index tables."""
    with torch.no_grad():
        v = videos * IMAGENET_STD.to(videos.device, videos.dtype) + IMAGENET_MEAN.to(videos.device, videos.dtype)
        B, C, T, H, W = v.shape
        tu, p = c["tubeletSize"], c["patchSize"]
        # 'b c (t p0) (h p1) (w p2) -> b (t h w) (p0 p1 p2) c'
        sq = v.reshape(B, C, T // tu, tu, H // p, p, W // p, p).permute(0, 2, 4, 6, 3, 5, 7, 1)
        sq = sq.reshape(B, (T // tu) * (H // p) * (W // p), tu * p * p, C)
        norm = (sq - sq.mean(dim=-2, keepdim=True)) / (sq.var(dim=-2, unbiased=True, keepdim=True).sqrt() + 1e-6)
        patches = norm.reshape(B, norm.shape[1], -1)
        labels = patches[~dec].reshape(B, -1, patches.shape[-1])
    loss = ((pred - labels) ** 2).mean(dim=-1)
    w = enc[~dec].reshape(B, -1)
    return (loss * w).sum() / w.sum()


def make_masks(c, batch, decoder, seed=0):
    t, h, w = c["numFrames"] // c["tubeletSize"], c["imgSize"] // c["patchSize"], c["imgSize"] // c["patchSize"]
    rng = np.random.RandomState(seed)
    enc = np.stack([R.tube_mask(rng, (t, h, w), 0.9) for _ in range(batch)]).astype(bool)
    if decoder == "none":
        return torch.from_numpy(enc), None
    if decoder != "run_cell":
        raise ValueError(f"unknown decoder mask {decoder!r} (use 'run_cell' or 'none')")
    vols = R.running_cell_volumes((t, h, w), 0.5)
    dec = np.stack([vols[rng.randint(4)] for _ in range(batch)]).astype(bool)
    return torch.from_numpy(enc), torch.from_numpy(dec)


def param_groups(model, weight_decay=0.05, skip=("mask_token",)):
    """The official get_parameter_groups: no decay for 1-D params, biases and the skip list."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (no_decay if p.ndim == 1 or name.endswith(".bias") or name in skip else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


LAYER_NORM_SHIM = "layer_norm input upcast to float32 under autocast (libtorch 1.13 CPU autocast lacks it)"


def layer_norm_needs_shim():
    """Debian's PyTorch 1.13: CPU autocast leaves layer_norm out of its policy and the kernel
    rejects a bf16 input with float32 weights ("expected scalar type BFloat16 but found Float")."""
    try:
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
            torch.nn.LayerNorm(4)(torch.zeros(1, 4, dtype=torch.bfloat16))
        return False
    except RuntimeError:
        return True


def shim_layer_norms(model):
    """As if layer_norm were on autocast's fp32 list (our side does the same, workloads.ts)."""
    for m in model.modules():
        if isinstance(m, torch.nn.LayerNorm):
            m.forward = (lambda ln: lambda x: torch.nn.functional.layer_norm(x.float(), ln.normalized_shape, ln.weight, ln.bias, ln.eps))(m)


def maybe_shim(model, bf16, info):
    if bf16 and layer_norm_needs_shim():
        shim_layer_norms(model)
        info["shim"] = LAYER_NORM_SHIM


def _place(model, device, compiled, info):
    """Moves the model to `device` and, when asked, wraps it in torch.compile (compiled on the
    first, untimed warm-up call)."""
    model = model.to(device)
    if compiled:
        model = torch.compile(model)
        info["compiled"] = True
    return model


class Inference:
    def __init__(self, c, batch, bf16, device="cpu", compiled=False):
        model = R.VisionTransformer(c).eval()
        self.device = torch.device(device)
        self.x = torch.randn(batch, 3, c["numFrames"], c["imgSize"], c["imgSize"]).to(self.device)
        self.bf16 = bf16
        self.info = {"params": sum(p.numel() for p in model.parameters()), "tokens": model.patch_embed.num_patches}
        if self.device.type == "cpu":
            maybe_shim(model, bf16, self.info)  # CUDA autocast keeps layer_norm in float32 itself
        self.model = _place(model, self.device, compiled, self.info)

    def step(self):
        with torch.no_grad(), torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16):
            out = self.model(self.x)
        return float(out.float().sum())  # a checksum; on a GPU, reading it waits for the work


class PretrainStep:
    def __init__(self, c, batch, decoder, bf16, device="cpu", compiled=False):
        self.c = c
        model = R.PretrainVisionTransformer(c).train()
        self.device = torch.device(device)
        self.x = torch.randn(batch, 3, c["numFrames"], c["imgSize"], c["imgSize"]).to(self.device)
        enc, dec = make_masks(c, batch, decoder)
        self.enc = enc.to(self.device)
        self.dec = None if dec is None else dec.to(self.device)
        # Loss rows: decoder-kept positions; V1 keeps exactly the encoder-masked ones.
        self.loss_dec = ~self.enc if self.dec is None else self.dec
        self.bf16 = bf16
        n_vis = int((~enc[0]).sum())
        self.info = {"params": sum(p.numel() for p in model.parameters()), "visible": n_vis, "kept": int((~self.loss_dec[0]).sum())}
        if self.device.type == "cpu":
            maybe_shim(model, bf16, self.info)
        model = model.to(self.device)
        # The optimizer as the official code builds it; on a GPU torch picks its fused/foreach form.
        self.opt = torch.optim.AdamW(param_groups(model), lr=1.5e-4, betas=(0.9, 0.95))
        self.model = torch.compile(model) if compiled else model
        if compiled:
            self.info["compiled"] = True

    def step(self):
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16):
            pred = self.model(self.x, self.enc, self.dec)
            loss = official_loss(self.x, pred, self.enc, self.loss_dec, self.c)
        loss.backward()
        self.opt.step()
        self.opt.zero_grad(set_to_none=True)
        return loss.item()


_current = {"key": None, "work": None, "base": 0}


def _dtype_flag(req):
    dtype = req.get("dtype", "fp32")
    if dtype not in ("fp32", "bf16"):
        raise ValueError(f"unknown dtype {dtype!r} (use 'fp32' or 'bf16')")
    return dtype == "bf16"


def run_workload(req):
    reps = int(req.get("reps", 1))
    if reps < 1:
        raise ValueError("reps must be >= 1")
    bf16 = _dtype_flag(req)
    c = config_of(req)
    op = req["op"]
    batch = int(req.get("batch", 1 if op == "model_inference" else 2))
    decoder = req.get("decoder", "run_cell")
    device = req.get("device", "cpu")
    compiled = bool(req.get("compile", False))
    cuda = device.startswith("cuda")
    key = json.dumps([op, c, batch, decoder, bf16, device, compiled], sort_keys=True)
    if _current["key"] != key:
        _current.update(key=None, work=None)
        gc.collect()
        if cuda:
            torch.cuda.empty_cache()
        base = _status("VmRSS")
        work = (
            Inference(c, batch, bf16, device, compiled)
            if op == "model_inference"
            else PretrainStep(c, batch, decoder, bf16, device, compiled)
        )
        for _ in range(int(req.get("warmup", 1))):
            work.step()
        _current.update(key=key, work=work, base=base)
    work = _current["work"]
    before = _status("VmRSS")
    exact = _reset_peak()
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    seconds, value = [], None
    for _ in range(reps):
        t = time.perf_counter()
        value = work.step()
        seconds.append(time.perf_counter() - t)
    peak = _status("VmHWM") if exact else 0
    memory = {
        "base": _current["base"],
        "before": before,
        "peak": peak,
        "peakExact": exact,
        "maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }
    if cuda:
        memory["gpuPeak"] = torch.cuda.max_memory_allocated()
    return {"seconds": seconds, "value": value, "memory": memory, "model": work.info}


# ------------------------------------------------------------------------------------------------
# Components of a block (src/bench/profile.ts runComponentOurs has the same definitions)


def component(name, s, dtype, backward, reps):
    """Median seconds per call of one piece of a block on its shapes; s = {B, N, D, H, hidden,
    frames, img, patch, tubelet}. "attention" is the official composition softmax(q·scale·Kᵀ)·V."""
    B, N, D, H, hidden = s["B"], s["N"], s["D"], s["H"], s["hidden"]
    bf16 = dtype == "bf16"

    def leaf(*shape):
        return (torch.randn(*shape) * 0.5).requires_grad_(backward)

    width = {"fc2": hidden, "gelu": hidden, "attention": 3 * D, "attention_plain": 3 * D}.get(name, D)
    x = torch.randn(B, 3, s["frames"], s["img"], s["img"]) if name == "patch_embed" else leaf(B, N, width)
    W = {
        "patch_embed": leaf(D, 3, s["tubelet"], s["patch"], s["patch"]),
        "layer_norm": leaf(D),
        "qkv": leaf(3 * D, D),
        "proj": leaf(D, D),
        "fc1": leaf(hidden, D),
        "fc2": leaf(D, hidden),
    }
    bias = leaf(hidden if name == "fc1" else 3 * D if name == "qkv" else D)
    F_ = torch.nn.functional

    def f():
        if name == "patch_embed":
            return F_.conv3d(x, W[name], bias, stride=(s["tubelet"], s["patch"], s["patch"]))
        if name == "layer_norm":
            return F_.layer_norm(x.float(), (D,), W[name], bias, 1e-6)
        if name in ("qkv", "proj", "fc1", "fc2"):
            return F_.linear(x, W[name], bias)
        if name == "gelu":
            return F_.gelu(x)
        if name in ("attention", "attention_plain"):
            d = D // H
            qkv = x.reshape(B, N, 3, H, d).permute(2, 0, 3, 1, 4)
            q, k, v = qkv[0] * d**-0.5, qkv[1], qkv[2]
            return ((q @ k.transpose(-2, -1)).softmax(dim=-1) @ v).transpose(1, 2).reshape(B, N, -1)
        raise ValueError(f"unknown component {name!r}")

    times = []
    for i in range(reps + 1):
        t = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16), torch.set_grad_enabled(backward):
            y = f()
        if backward:
            y.backward(torch.randn(y.shape).to(y.dtype))
        if i > 0:
            times.append(time.perf_counter() - t)
        for p in [x, bias, *W.values()]:
            p.grad = None
    return {"seconds": float(np.median(times))}


# ------------------------------------------------------------------------------------------------
# Micro benchmarks (src/bench/core.ts)


def gemm(n, dtype, reps):
    a = torch.randn(n, n).to(DTYPES[dtype])
    b = torch.randn(n, n).to(DTYPES[dtype])
    torch.mm(a, b)
    out = []
    for _ in range(reps):
        t = time.perf_counter()
        torch.mm(a, b)
        out.append(time.perf_counter() - t)
    return {"seconds": out}


def small_add(calls):
    a = torch.zeros(4)
    b = torch.ones(4)
    for _ in range(1000):
        a + b
    t = time.perf_counter()
    for _ in range(calls):
        a + b
    return {"seconds": time.perf_counter() - t}


def loaded_blas():
    """The BLAS library torch actually loaded (Debian: openblas-pthread by default; the benchmark
    can point LD_LIBRARY_PATH at openblas-openmp, the build our addon uses)."""
    with open("/proc/self/maps") as f:
        paths = {line.split()[-1] for line in f if len(line.split()) >= 6}
    return sorted(p for p in paths if "blas" in os.path.basename(p) and ".so" in p)


def handle(req):
    op = req.get("op") if isinstance(req, dict) else None
    if op == "hello":
        torch.set_num_threads(int(req["threads"]))
        return {"torch": torch.__version__, "threads": torch.get_num_threads(), "blas": loaded_blas()}
    if op == "gemm":
        return gemm(int(req["n"]), req["dtype"], int(req["reps"]))
    if op == "small_add":
        return small_add(int(req["calls"]))
    if op == "component":
        return component(req["name"], req["shape"], req.get("dtype", "fp32"), bool(req.get("backward", False)), int(req.get("reps", 3)))
    if op in ("model_inference", "pretrain_step"):
        return run_workload(req)
    if op == "release":
        _current.update(key=None, work=None)
        gc.collect()
        return {"ok": True}
    return {"error": f"unknown op {op!r}"}


def main():
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            req = json.loads(line)
            if isinstance(req, dict) and req.get("op") == "quit":
                break
            res = handle(req)
        except Exception as e:  # noqa: BLE001 - every failure goes back to the caller
            res = {"error": f"{type(e).__name__}: {e}", "trace": traceback.format_exc(limit=3)}
        sys.stdout.write(json.dumps(res) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
