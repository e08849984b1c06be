"""Fixture for test/models/detection.test.ts: a tiny "ViT-g-shaped" AVA detector in the
VideoMAE-Action-Detection key layout (patch 14, mlp ratio 48/11, q/v biases, `norm`, `head`
[80, C], no prefix; weights float16 under "model", as the released ViT-g file apparently is),
and its logits on a non-square padded clip with odd boxes.

The forward is the reference's (spec §1): patch embedding + sinusoid table resized per time slice
bicubically (align_corners=False) → blocks → norm → mean over time → ROIAlign 7×7 (torchvision
semantics, aligned=False, sampling ratio 0; transcribed below in float64 since this PyTorch has
no torchvision) → max over bins → head. The ViT modules are those of videomae_reference.py (its
class definitions are executed here, not copied).

Run once: /usr/bin/python3 tools/reference/detection_reference.py
Writes test/fixtures/detection/{vitg_layout_tiny.pth, expected.json}.
"""
import json
import math
import os

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "../../test/fixtures/detection")

src = open(os.path.join(HERE, "videomae_reference.py")).read()
ns = {"__file__": os.path.join(HERE, "videomae_reference.py")}
exec(compile(src[: src.index("\ngen = torch.Generator().manual_seed(1234)")], "videomae_reference.py", "exec"), ns)  # the module definitions only
torch.set_num_threads(1)

CFG = dict(imgSize=28, numFrames=4, tubeletSize=2, patchSize=14, embedDim=22, depth=2, numHeads=2, mlpRatio=48 / 11, numClasses=80, useMeanPooling=False)


def bilinear(fm, y, x):  # fm [C, H, W] float64
    C, H, W = fm.shape
    if y < -1.0 or y > H or x < -1.0 or x > W:
        return torch.zeros(C, dtype=fm.dtype)
    y, x = max(y, 0.0), max(x, 0.0)
    y0, x0 = int(y), int(x)
    if y0 >= H - 1:
        y0 = y1 = H - 1
        y = float(y0)
    else:
        y1 = y0 + 1
    if x0 >= W - 1:
        x0 = x1 = W - 1
        x = float(x0)
    else:
        x1 = x0 + 1
    ly, lx = y - y0, x - x0
    return (1 - ly) * (1 - lx) * fm[:, y0, x0] + (1 - ly) * lx * fm[:, y0, x1] + ly * (1 - lx) * fm[:, y1, x0] + ly * lx * fm[:, y1, x1]


def roi_align(fmap, rois, out, scale):
    """torchvision.ops.roi_align(fmap, rois, out, scale, sampling_ratio=0, aligned=False)."""
    res = torch.zeros(rois.shape[0], fmap.shape[1], out, out, dtype=torch.float64)
    for k, r in enumerate(rois.tolist()):
        fm = fmap[int(r[0])]
        x1, y1, x2, y2 = [v * scale for v in r[1:]]
        rw, rh = max(x2 - x1, 1.0), max(y2 - y1, 1.0)
        bw, bh = rw / out, rh / out
        gw, gh = math.ceil(rw / out), math.ceil(rh / out)
        for ph in range(out):
            for pw in range(out):
                acc = torch.zeros(fm.shape[0], dtype=torch.float64)
                for iy in range(gh):
                    for ix in range(gw):
                        acc += bilinear(fm, y1 + ph * bh + (iy + 0.5) * bh / gh, x1 + pw * bw + (ix + 0.5) * bw / gw)
                res[k, :, ph, pw] = acc / max(gh * gw, 1)
    return res


def detect(vit, x, rois):
    c = CFG
    B, _, T, H, W = x.shape
    p, D = c["patchSize"], c["embedDim"]
    t, h, w, g = T // c["tubeletSize"], H // p, W // p, c["imgSize"] // p
    tok = vit.patch_embed.proj(x).flatten(2).transpose(1, 2)
    pos = vit.pos_embed.reshape(t, g, g, D).permute(0, 3, 1, 2)
    pos = F.interpolate(pos, size=(h, w), mode="bicubic", align_corners=False).permute(0, 2, 3, 1).reshape(1, t * h * w, D)
    tok = tok + pos
    for blk in vit.blocks:
        tok = blk(tok)
    tok = vit.norm(tok)
    fmap = tok.reshape(B, t, h, w, D).mean(1).permute(0, 3, 1, 2)
    pooled = roi_align(fmap.double(), rois.double(), 7, 1.0 / p)
    return vit.head(pooled.amax(dim=(2, 3)).float())


def main():
    gen = torch.Generator().manual_seed(16)
    vit = ns["VisionTransformer"](CFG)
    ns["randomize"](vit, gen)
    sd = {k: v.half() for k, v in vit.state_dict().items()}
    with torch.no_grad():  # the float32 model computes with the float16-rounded weights
        for k, v in vit.state_dict().items():
            v.copy_(sd[k].float())
    os.makedirs(OUT, exist_ok=True)
    torch.save({"model": sd, "epoch": 7}, os.path.join(OUT, "vitg_layout_tiny.pth"))
    # test/helpers.ts ramp(shape, 1, 0): sin(0.37·i) in float64, rounded to float32
    x = torch.sin(torch.arange(2 * 3 * 4 * 42 * 56, dtype=torch.float64) * 0.37).float().reshape(2, 3, 4, 42, 56)
    x[1, :, :, 28:, :] = 0  # clip 1 is 28×56, zero-padded to the batch's 42×56 as the collate does
    rois = torch.tensor(
        [[0, 3.5, 2.0, 40.0, 30.5], [0, -8.0, 20.0, 12.0, 50.0], [1, 30.0, 5.0, 30.4, 5.2], [1, 50.0, 20.0, 20.0, 10.0], [0, 0.0, 0.0, 55.0, 41.0]]
    )
    with torch.no_grad():
        logits = detect(vit, x, rois)
    json.dump(
        {"config": CFG, "input": "ramp(inputShape, 1, 0) with clip 1 zeroed below row 28", "inputShape": list(x.shape), "rois": rois.tolist(), "logits": logits.tolist(), "keys": {k: list(v.shape) for k, v in sd.items()}},
        open(os.path.join(OUT, "expected.json"), "w"),
    )
    print("logits", logits.shape, float(logits.abs().max()))


if __name__ == "__main__":
    main()
