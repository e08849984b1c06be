#!/usr/bin/env python3
"""Reference values for the pure-TypeScript clip transforms (src/data/transforms/).

Writes test/fixtures/transforms/torch_reference.json. Needs numpy and torch (run with
/usr/bin/python3). The tests only read the JSON; they never run Python.

This machine has neither Pillow nor OpenCV, so torch is the only independent reference:
  * "normalize": (x.float() / 255 - mean) / std for every uint8 value, as ToTensor +
    tensor_normalize compute it (expected to match bit for bit).
  * "rrc": the official fine-tuning random_resized_crop step: crop of the normalised
    (C, T, H, W) tensor, F.interpolate(bilinear, align_corners=False), optionally flipped
    (expected to match to float32 rounding).
  * "aa": F.interpolate(bilinear, antialias=True) on the float pixels of a crop -- the same
    support-scaled triangle filter as Pillow's Image.resize(BILINEAR) but without Pillow's
    22-bit fixed point and uint8 intermediate, so Pillow-style results agree within 1.
  * "linear": F.interpolate(bilinear, align_corners=False) on float pixels -- the same
    half-pixel sampling as OpenCV INTER_LINEAR without its 11-bit fixed point, so within 1.

Usage: /usr/bin/python3 tools/reference/make_transform_fixtures.py
"""
import json
import os

import numpy as np
import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "test", "fixtures", "transforms")

MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]


def f32(t):
    """Shortest decimal that reads back as the same float32 (keeps the JSON small)."""
    return [float(repr(np.float32(v))) for v in t.reshape(-1).tolist()]


def r4(t):
    return [round(v, 4) for v in t.reshape(-1).tolist()]


def make_clip(T, H, W, seed):
    rng = np.random.RandomState(seed)
    # Smooth structure plus noise, so resampling errors show up as real differences.
    y, x = np.mgrid[0:H, 0:W]
    base = np.stack([128 + 100 * np.sin(x / 3.0 + c + t) * np.cos(y / 4.0 - c) for t in range(T) for c in range(3)])
    base = base.reshape(T, 3, H, W).transpose(0, 2, 3, 1)
    clip = np.clip(base + rng.randint(-30, 31, size=base.shape), 0, 255).astype(np.uint8)
    return clip  # (T, H, W, 3)


def normalized(clip):
    x = torch.from_numpy(clip).float() / 255.0  # (T, H, W, C)
    x = (x - torch.tensor(MEAN)) / torch.tensor(STD)
    return x.permute(3, 0, 1, 2).contiguous()  # (C, T, H, W)


def main():
    os.makedirs(OUT, exist_ok=True)
    clip = make_clip(2, 23, 31, seed=7)
    out = {"clip": {"frames": 2, "height": 23, "width": 31, "data": clip.reshape(-1).tolist()}}

    v = torch.arange(256, dtype=torch.uint8).float() / 255.0
    out["normalize"] = [f32((v - torch.tensor(MEAN[c])) / torch.tensor(STD[c])) for c in range(3)]

    norm = normalized(clip)
    rrc = []
    for (bx, by, bw, bh, ow, oh, flip) in [(3, 2, 25, 17, 13, 11, False), (0, 0, 31, 23, 20, 15, True), (5, 4, 9, 12, 7, 16, False)]:
        crop = norm[:, :, by:by + bh, bx:bx + bw]
        r = F.interpolate(crop, size=(oh, ow), mode="bilinear", align_corners=False)
        if flip:
            r = r.flip(-1)
        rrc.append({"box": [bx, by, bw, bh], "out": [ow, oh], "flip": flip, "data": f32(r)})
    out["rrc"] = rrc

    pix = torch.from_numpy(clip).permute(0, 3, 1, 2).float()  # (T, C, H, W)
    aa = []
    for (bx, by, bw, bh, ow, oh) in [(0, 0, 31, 23, 14, 10), (2, 1, 27, 21, 9, 9), (4, 3, 20, 20, 20, 7), (0, 0, 31, 23, 31, 12)]:
        crop = pix[:, :, by:by + bh, bx:bx + bw]
        r = F.interpolate(crop, size=(oh, ow), mode="bilinear", align_corners=False, antialias=True)
        aa.append({"box": [bx, by, bw, bh], "out": [ow, oh], "data": r4(r.permute(0, 2, 3, 1))})
    out["aa"] = aa

    linear = []
    for (ow, oh) in [(14, 10), (37, 29), (31, 23), (17, 23)]:
        r = F.interpolate(pix, size=(oh, ow), mode="bilinear", align_corners=False)
        linear.append({"out": [ow, oh], "data": r4(r.permute(0, 2, 3, 1))})
    out["linear"] = linear

    path = os.path.join(OUT, "torch_reference.json")
    with open(path, "w") as f:
        json.dump(out, f, separators=(",", ":"))
    print(f"wrote {path} (torch {torch.__version__})")


if __name__ == "__main__":
    main()
