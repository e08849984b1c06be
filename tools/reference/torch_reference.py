"""Golden values from PyTorch for the tensor-library and optimizer tests.

Run once with Debian's PyTorch (1.13):  /usr/bin/python3 tools/reference/torch_reference.py
Writes test/fixtures/reference/*.json (committed; the tests never need Python).
Inputs are generated from fixed formulas (no RNG), so the TypeScript tests rebuild them exactly.
"""
import json
import math
import os

import numpy as np
import torch

torch.set_num_threads(2)
OUT = os.path.join(os.path.dirname(__file__), "../../test/fixtures/reference")
os.makedirs(OUT, exist_ok=True)


def ramp(shape, scale=1.0, offset=0.0, dtype=torch.float32):
    """The same deterministic input the tests build: sin(0.37·i + offset)·scale for i = 0..n-1."""
    n = int(np.prod(shape))
    i = torch.arange(n, dtype=torch.float64)
    return (torch.sin(0.37 * i + offset) * scale).reshape(shape).to(dtype)


def flat(t):
    return t.detach().double().reshape(-1).tolist()


def dump(name, obj):
    with open(os.path.join(OUT, name), "w") as f:
        json.dump(obj, f)


# ------------------------------------------------------------------ ops (forward + backward)
ops = {}


def record(name, fn, *inputs):
    xs = [x.clone().requires_grad_(x.is_floating_point()) for x in inputs]
    y = fn(*xs)
    g = ramp(y.shape, 1.0, 0.5, y.dtype)
    (y * g).sum().backward()
    ops[name] = {
        "out_shape": list(y.shape),
        "out": flat(y),
        "grads": [flat(x.grad) if x.grad is not None else None for x in xs],
    }


x = ramp([2, 3, 8], 2.0)
record("layer_norm", lambda x, w, b: torch.nn.functional.layer_norm(x, [8], w, b, 1e-6), x, ramp([8], 0.5, 1.0) + 1, ramp([8], 0.3, 2.0))
record("gelu", lambda x: torch.nn.functional.gelu(x), ramp([5, 7], 3.0))
record("softmax", lambda x: torch.softmax(x, -1), ramp([3, 6], 4.0))
record("log_softmax", lambda x: torch.log_softmax(x, 1), ramp([3, 6], 4.0))
record(
    "conv3d",
    lambda x, w, b: torch.nn.functional.conv3d(x, w, b, stride=(2, 2, 2)),
    ramp([2, 3, 4, 6, 6], 1.0),
    ramp([5, 3, 2, 2, 2], 0.2, 0.3),
    ramp([5], 0.1, 0.7),
)
record("linear", lambda x, w, b: torch.nn.functional.linear(x, w, b), ramp([4, 6]), ramp([3, 6], 0.5, 1.0), ramp([3], 0.1, 2.0))
record("var_unbiased", lambda x: torch.var(x, dim=1, unbiased=True), ramp([4, 9], 2.0))
record("var_biased", lambda x: torch.var(x, dim=1, unbiased=False), ramp([4, 9], 2.0))
record(
    "bilinear",
    lambda x: torch.nn.functional.interpolate(x, size=(7, 5), mode="bilinear", align_corners=False),
    ramp([1, 2, 4, 6], 1.0),
)
record(
    "bicubic",
    lambda x: torch.nn.functional.interpolate(x, size=(7, 9), mode="bicubic", align_corners=False),
    ramp([1, 2, 5, 4], 1.0),
)
record("cross_entropy_smooth", lambda x: torch.nn.functional.cross_entropy(x, torch.tensor([1, 0, 4]), label_smoothing=0.1).reshape(1), ramp([3, 5], 2.0))
record("bmm", lambda a, b: torch.bmm(a, b), ramp([2, 3, 4]), ramp([2, 4, 5], 1.0, 1.0))
dump("ops.json", ops)

# ------------------------------------------------------------------ AdamW with groups, clipping, schedule
def cosine_scheduler(base_value, final_value, epochs, niter_per_ep, warmup_epochs=0, start_warmup_value=0, warmup_steps=-1):
    # The official VideoMAE utils.cosine_scheduler, reproduced for the fixture.
    warmup_schedule = np.array([])
    warmup_iters = warmup_epochs * niter_per_ep
    if warmup_steps > 0:
        warmup_iters = warmup_steps
    if warmup_epochs > 0:
        warmup_schedule = np.linspace(start_warmup_value, base_value, warmup_iters)
    iters = np.arange(epochs * niter_per_ep - warmup_iters)
    schedule = np.array([final_value + 0.5 * (base_value - final_value) * (1 + math.cos(math.pi * i / (len(iters)))) for i in iters])
    schedule = np.concatenate((warmup_schedule, schedule))
    assert len(schedule) == epochs * niter_per_ep
    return schedule


lr_sched = cosine_scheduler(1e-2, 1e-4, 4, 5, warmup_epochs=1)
wd_sched = cosine_scheduler(0.05, 0.1, 4, 5)

w = ramp([4, 3], 0.5).requires_grad_()
b = ramp([4], 0.1, 1.0).requires_grad_()
w2 = ramp([2, 4], 0.3, 2.0).requires_grad_()
opt = torch.optim.AdamW(
    [
        {"params": [w, w2], "weight_decay": 0.05, "lr_scale": 0.5},
        {"params": [b], "weight_decay": 0.0, "lr_scale": 1.0},
    ],
    lr=1e-2,
    betas=(0.9, 0.95),
    eps=1e-8,
)
steps = []
for it in range(20):
    for g in opt.param_groups:
        g["lr"] = lr_sched[it] * g["lr_scale"]
        if g["weight_decay"] > 0:
            g["weight_decay"] = wd_sched[it]
    xin = ramp([5, 3], 1.0, 0.1 * it)
    y = torch.tanh(xin @ w.t() + b) @ w2.t()
    loss = (y ** 2).mean() + 0.1 * y.sum()
    opt.zero_grad()
    loss.backward()
    norm = torch.nn.utils.clip_grad_norm_([w, b, w2], max_norm=0.5)
    opt.step()
    steps.append({"loss": loss.item(), "grad_norm": norm.item(), "w": flat(w), "b": flat(b), "w2": flat(w2)})

dump("adamw.json", {"lr_schedule": lr_sched.tolist(), "wd_schedule": wd_sched.tolist(), "steps": steps})
print("wrote", OUT)
