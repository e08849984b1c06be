"""Golden values for the distillation loss (src/train/losses.ts) from PyTorch.

Run once with Debian's PyTorch (1.13):  /usr/bin/python3 tools/reference/distill_reference.py
Writes test/fixtures/distill/loss.json (committed; the tests never need Python). Inputs are
sin ramps (the same formula as test/helpers.ts `ramp`), computed in float64:

  loss = tau^2 * kl_div(log_softmax(s / tau), p, "batchmean") + alpha * CE(s, y, smoothing)
         + beta * mse(linear(f_s, W, b), f_t_mixed)
  p = lam * softmax(t[:, map] / tau) + (1 - lam) * (same).flip(0)   (mixup-mixed soft targets)
"""
import json
import os

import numpy as np
import torch
import torch.nn.functional as F

torch.set_num_threads(2)
OUT = os.path.join(os.path.dirname(__file__), "../../test/fixtures/distill")
os.makedirs(OUT, exist_ok=True)


def ramp(shape, scale=1.0, offset=0.0):
    n = int(np.prod(shape))
    i = torch.arange(n, dtype=torch.float64)
    return (torch.sin(0.37 * i + offset) * scale).reshape(shape)


def grad(x):
    """x's gradient, zeros where the loss does not use x."""
    return (x.grad if x.grad is not None else torch.zeros_like(x)).detach().reshape(-1).tolist()


B, KT, KS, DS, DT = 4, 7, 5, 3, 6
LABEL_MAP = [6, 0, 3, 2, 5]
LABELS = [1, 4, 0, 2]

cases = []
for name, tau, lam, alpha, beta, tscale in [
    ("kl_tau1", 1.0, 1.0, 0.0, 0.0, 3.0),
    ("kl_tau4", 4.0, 1.0, 0.0, 0.0, 3.0),
    ("kl_tau2_mixed", 2.0, 0.7, 0.0, 0.0, 3.0),
    ("kl_saturated_teacher", 1.0, 1.0, 0.0, 0.0, 300.0),  # teacher softmax underflows to exact zeros in float32
    ("full_tau2_mixed", 2.0, 0.7, 0.5, 0.25, 3.0),
]:
    s = ramp([B, KS], 2.0, 0.1).requires_grad_(True)
    t = ramp([B, KT], tscale, 1.3)
    fs = ramp([B, DS], 1.5, 0.7).requires_grad_(True)
    w = ramp([DT, DS], 0.4, 2.1).requires_grad_(True)
    b = ramp([DT], 0.2, 0.9).requires_grad_(True)
    ft = ramp([B, DT], 1.0, 2.7)
    p = torch.softmax(t[:, LABEL_MAP] / tau, 1)
    p = lam * p + (1 - lam) * p.flip(0)
    kd = F.kl_div(F.log_softmax(s / tau, 1), p, reduction="batchmean") * tau * tau
    loss = kd
    ce = F.cross_entropy(s, torch.tensor(LABELS), label_smoothing=0.1)
    feat = F.mse_loss(F.linear(fs, w, b), lam * ft + (1 - lam) * ft.flip(0))
    if alpha:
        loss = loss + alpha * ce
    if beta:
        loss = loss + beta * feat
    loss.backward()
    cases.append({
        "name": name, "tau": tau, "lam": lam, "alpha": alpha, "beta": beta, "teacherScale": tscale,
        "kd": kd.item(), "ce": ce.item(), "feat": feat.item(), "loss": loss.item(),
        "grad_student_logits": grad(s), "grad_student_features": grad(fs),
        "grad_proj_weight": grad(w), "grad_proj_bias": grad(b),
    })

with open(os.path.join(OUT, "loss.json"), "w") as f:
    json.dump({"torch": torch.__version__, "B": B, "teacherClasses": KT, "studentClasses": KS, "studentDim": DS, "teacherDim": DT,
               "labelMap": LABEL_MAP, "labels": LABELS, "cases": cases}, f, indent=1)
print("wrote", os.path.join(OUT, "loss.json"))
