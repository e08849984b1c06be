"""Official-format .pth checkpoints of the tiny reference models, for the loader tests.

Run once with Debian's PyTorch:  /usr/bin/python3 tools/reference/make_checkpoint_fixtures.py
Reads the weights written by videomae_reference.py (test/fixtures/models/reference.{bin,json})
and saves them the ways official checkpoints come (torch.save zip format), plus expected outputs
where the saved weights differ from the reference (fp16 rounding, label-map heads):

  vit_model_fp32.pth      {"model": OrderedDict, "epoch": 3, "args": Namespace}  (fine-tune style)
  vit_bare_fp16.pth       bare OrderedDict in float16 (the released fine-tuned/distilled weights)
  vit_head7.pth           {"module": ...} with a 7-row head; label map [6, 0, 2, 4, 1] selects the
                          reference's 5 rows back (rows 3 and 5 are decoys)
  vit_bad.pth             wrong fc1 shape + an unknown key (mangled)
  pretrain_compiled.pth   {"model": {"_orig_mod." + key: ...}} (torch.compile style) of the
                          pre-training model; also usable to fine-tune (encoder. prefix)
  expected.json           logits of vit_bare_fp16.pth on the reference input, label map

Also, with --vit-s OUT.pth, writes a random ViT-S (16×224², 400 classes) checkpoint plus
OUT.input.npy / OUT.logits.npy / OUT.features.npy for the by-hand `videomae forward` check.
"""
import argparse
import json
import os
import sys
from collections import OrderedDict

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "../../test/fixtures")
OUT = os.path.join(FIX, "checkpoints")

# The module definitions of videomae_reference.py (everything before its generation code).
src = open(os.path.join(HERE, "videomae_reference.py")).read()
defs = src[: src.index("gen = torch.Generator().manual_seed(1234)")]
ns = {"__name__": "videomae_reference_defs", "__file__": os.path.join(HERE, "videomae_reference.py")}
exec(compile(defs, "videomae_reference.py", "exec"), ns)
VisionTransformer = ns["VisionTransformer"]

from reference_weights import manifest, ref, state_dict  # noqa: E402 (beside this script)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vit-s", help="also write a random ViT-S checkpoint here (not committed)")
    args = ap.parse_args()
    torch.set_num_threads(2)
    os.makedirs(OUT, exist_ok=True)
    vit_sd = state_dict("vit")
    pre_sd = state_dict("pretrain")

    torch.save({"model": vit_sd, "epoch": 3, "args": argparse.Namespace(lr=1e-3, model="tiny")}, os.path.join(OUT, "vit_model_fp32.pth"))
    fp16 = OrderedDict((k, v.half()) for k, v in vit_sd.items())
    torch.save(fp16, os.path.join(OUT, "vit_bare_fp16.pth"))

    label_map = [6, 0, 2, 4, 1]  # model class i ← checkpoint row label_map[i]
    g = torch.Generator().manual_seed(5)
    w7 = torch.randn((7, vit_sd["head.weight"].shape[1]), generator=g)
    b7 = torch.randn((7,), generator=g)
    for i, row in enumerate(label_map):
        w7[row] = vit_sd["head.weight"][i]
        b7[row] = vit_sd["head.bias"][i]
    head7 = OrderedDict(vit_sd)
    head7["head.weight"], head7["head.bias"] = w7, b7
    torch.save({"module": head7}, os.path.join(OUT, "vit_head7.pth"))

    bad = OrderedDict(vit_sd)
    bad["blocks.0.mlp.fc1.weight"] = torch.zeros(7, 32)
    bad["extra.weight"] = torch.zeros(3)
    torch.save({"model": bad}, os.path.join(OUT, "vit_bad.pth"))

    torch.save({"model": OrderedDict(("_orig_mod." + k, v) for k, v in pre_sd.items()), "epoch": 1}, os.path.join(OUT, "pretrain_compiled.pth"))

    # Expected logits with the fp16-rounded weights (upcast to float32 on load, as we do).
    cfg = manifest["cases"]["vit"]["config"]
    model = VisionTransformer(cfg)
    model.load_state_dict(OrderedDict((k, v.float()) for k, v in fp16.items()), strict=False)
    model.eval()
    with torch.no_grad():
        logits = model(ref("vit/input"))
    json.dump({"fp16_logits": logits.reshape(-1).tolist(), "label_map": label_map}, open(os.path.join(OUT, "expected.json"), "w"))

    if args.vit_s:
        cfg_s = dict(imgSize=224, numFrames=16, tubeletSize=2, patchSize=16, embedDim=384, depth=12, numHeads=6, mlpRatio=4, numClasses=400)
        torch.manual_seed(0)
        big = VisionTransformer(cfg_s)
        ns["randomize"] = None
        with torch.no_grad():
            for name, p in big.named_parameters():
                if p.dim() >= 2:
                    p.copy_(torch.randn(p.shape) / np.sqrt(int(np.prod(p.shape[1:]))))
                elif name.endswith("weight"):
                    p.copy_(1 + 0.2 * torch.randn(p.shape))
                else:
                    p.copy_(0.2 * torch.randn(p.shape))
        big.eval()
        x = torch.randn(1, 3, 16, 224, 224)
        with torch.no_grad():
            feats = big.forward_features(x)
            logits = big.head(feats)
        torch.save({"model": big.state_dict()}, args.vit_s)
        np.save(args.vit_s + ".input.npy", x.numpy())
        np.save(args.vit_s + ".logits.npy", logits.numpy())
        np.save(args.vit_s + ".features.npy", feats.numpy())
        print("wrote", args.vit_s)
    print("wrote", OUT)


if __name__ == "__main__":
    main()
