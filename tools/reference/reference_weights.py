"""The tiny reference models' weights as videomae_reference.py wrote them
(test/fixtures/models/reference.{bin,json}: one float32 blob and a manifest of named tensors),
for the fixture scripts that re-save them in other layouts."""
import json
import os
from collections import OrderedDict

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "../../test/fixtures")

manifest = json.load(open(os.path.join(FIX, "models/reference.json")))
blob = np.fromfile(os.path.join(FIX, "models/reference.bin"), dtype="<f4")


def ref(name):
    """One named tensor of the manifest."""
    e = manifest["tensors"][name]
    n = int(np.prod(e["shape"])) if e["shape"] else 1
    return torch.from_numpy(blob[e["offset"] : e["offset"] + n].copy()).reshape(e["shape"])


def state_dict(case):
    """The official-key state dict of one reference case ("vit", "pretrain", …)."""
    prefix = f"{case}/sd/"
    return OrderedDict((k[len(prefix):], ref(k)) for k in manifest["tensors"] if k.startswith(prefix))
