#!/usr/bin/python3
"""Generate the small checkpoint fixtures under test/fixtures/io/ for test/io/*.test.ts.

Run once, from the repository root, with a Python that has torch and numpy
(made with PyTorch 1.13 and numpy 1.24):

    /usr/bin/python3 tools/reference/make_io_fixtures.py

Outputs (all small, committed): PyTorch checkpoints (*.pth) in the layouts the official
VideoMAE V2 code writes, numpy-written .npy files, and JSON files with the expected values.
Expected tensor data is stored as the hex of the contiguous little-endian bytes, so tests
compare element-wise exactly (bfloat16 via its int16 bit view). The tests never run Python.
"""
import argparse
import io
import json
import os
import struct
import sys
import zipfile
import zlib
from collections import OrderedDict

import numpy as np
import torch

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
OUT = os.path.join(ROOT, "test", "fixtures", "io")

DTYPE_NAMES = {
    torch.float32: "float32", torch.float16: "float16", torch.bfloat16: "bfloat16",
    torch.float64: "float64", torch.int64: "int64", torch.int32: "int32",
    torch.uint8: "uint8", torch.bool: "bool",
}


def out(name):
    return os.path.join(OUT, name)


def tensor_hex(t):
    t = t.detach().contiguous()
    if t.dtype == torch.bfloat16:
        t = t.view(torch.int16)
    return t.numpy().tobytes().hex()


def describe(t):
    return {"dtype": DTYPE_NAMES[t.dtype], "shape": list(t.shape), "hex": tensor_hex(t)}


def official_state_dict(depth=2, dim=8, hidden=16, classes=5, patch=4):
    """A tiny fine-tune-model state dict with the official key names and layouts (spec 6.2)."""
    g = torch.Generator().manual_seed(0)
    r = lambda *s: torch.randn(*s, generator=g)
    sd = OrderedDict()
    sd["patch_embed.proj.weight"] = r(dim, 3, 2, patch, patch)
    sd["patch_embed.proj.bias"] = r(dim)
    for i in range(depth):
        p = f"blocks.{i}."
        sd[p + "norm1.weight"] = r(dim)
        sd[p + "norm1.bias"] = r(dim)
        sd[p + "attn.q_bias"] = r(dim)
        sd[p + "attn.v_bias"] = r(dim)
        sd[p + "attn.qkv.weight"] = r(3 * dim, dim)
        sd[p + "attn.proj.weight"] = r(dim, dim)
        sd[p + "attn.proj.bias"] = r(dim)
        sd[p + "norm2.weight"] = r(dim)
        sd[p + "norm2.bias"] = r(dim)
        sd[p + "mlp.fc1.weight"] = r(hidden, dim)
        sd[p + "mlp.fc1.bias"] = r(hidden)
        sd[p + "mlp.fc2.weight"] = r(dim, hidden)
        sd[p + "mlp.fc2.bias"] = r(dim)
    sd["fc_norm.weight"] = r(dim)
    sd["fc_norm.bias"] = r(dim)
    sd["head.weight"] = r(classes, dim)
    sd["head.bias"] = r(classes)
    return sd


def save(obj, name, **kw):
    torch.save(obj, out(name), **kw)


def save_via_buffer(obj, name):
    """torch.save to memory: the archive root folder is then `archive/` instead of the file stem."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    with open(out(name), "wb") as f:
        f.write(buf.getvalue())


def zip_members(path):
    with zipfile.ZipFile(path) as z:
        return [(i.filename, z.read(i.filename)) for i in z.infolist()]


def write_full_zip64(members, path):
    """A zip where every size/offset goes through ZIP64 (saturated 32-bit fields + zip64 extra
    fields in local and central headers, zip64 EOCD record and locator), although the archive
    is small. Python's zipfile only does that beyond 4 GB, hence this hand-written writer."""
    body = bytearray()
    central = bytearray()
    for name, data in members:
        nb = name.encode()
        off = len(body)
        crc = zlib.crc32(data)
        local_extra = struct.pack("<HHQQ", 1, 16, len(data), len(data))
        body += struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, 0, 0, 0x21, crc,
                            0xFFFFFFFF, 0xFFFFFFFF, len(nb), len(local_extra)) + nb + local_extra + data
        central_extra = struct.pack("<HHQQQ", 1, 24, len(data), len(data), off)
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, 0, 0, 0x21, crc,
                               0xFFFFFFFF, 0xFFFFFFFF, len(nb), len(central_extra), 0, 0, 0, 0,
                               0xFFFFFFFF) + nb + central_extra
    cd_off = len(body)
    body += central
    z64 = len(body)
    n = len(members)
    body += struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, n, n, len(central), cd_off)
    body += struct.pack("<IIQI", 0x07064B50, 0, z64, 1)
    body += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    with open(path, "wb") as f:
        f.write(body)


def write_deflated(members, path):
    """Re-pack with deflate compression and zip64 local headers (zipfile's force_zip64)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            with z.open(info, "w", force_zip64=True) as w:
                w.write(data)


def assert_loads_same(path, ref):
    got = torch.load(path, map_location="cpu")
    a, b = got["model"], ref["model"]
    assert list(a) == list(b), path
    for k in a:
        assert torch.equal(a[k], b[k]), (path, k)


def make_checkpoints(expected):
    sd = official_state_dict()
    wrapped = {"model": sd, "epoch": 3, "args": argparse.Namespace(lr=1e-3)}
    save(wrapped, "sd_fp32.pth")
    expected["sd_fp32.pth"] = {"root": "sd_fp32", "wrapper": "model",
                               "tensors": {k: describe(v) for k, v in sd.items()}}

    for dt, name in ((torch.float16, "sd_fp16.pth"), (torch.bfloat16, "sd_bf16.pth")):
        sdh = OrderedDict((k, v.to(dt)) for k, v in sd.items())
        save({"model": sdh, "epoch": 3, "args": argparse.Namespace(lr=1e-3)}, name)
        expected[name] = {"root": name[:-4], "wrapper": "model",
                          "tensors": {k: describe(v) for k, v in sdh.items()},
                          # float32 values of the rounded tensors, to check toFloat32 exactly
                          "float32": {k: tensor_hex(v.float()) for k, v in sdh.items()}}

    # DeepSpeed-style wrapper, saved through a buffer so the archive root is `archive/`.
    save_via_buffer({"module": sd, "epoch": 7}, "sd_module.pth")
    expected["sd_module.pth"] = {"root": "archive", "wrapper": "module", "same_tensors_as": "sd_fp32.pth"}

    # Pre-training layout under torch.compile: `_orig_mod.encoder.*`, decoder keys, bare dict.
    pre = OrderedDict()
    for k, v in sd.items():
        if not k.startswith(("fc_norm", "head")):
            pre["_orig_mod.encoder." + k] = v
    g = torch.Generator().manual_seed(1)
    pre["_orig_mod.encoder.norm.weight"] = torch.randn(8, generator=g)
    pre["_orig_mod.encoder.norm.bias"] = torch.randn(8, generator=g)
    pre["_orig_mod.decoder.norm.weight"] = torch.randn(4, generator=g)
    pre["_orig_mod.encoder_to_decoder.weight"] = torch.randn(4, 8, generator=g)
    pre["_orig_mod.mask_token"] = torch.randn(1, 1, 4, generator=g)
    save(pre, "sd_prefixed.pth")
    expected["sd_prefixed.pth"] = {"root": "sd_prefixed", "wrapper": None,
                                   "tensors": {k: describe(v) for k, v in pre.items()}}

    # Views: non-contiguous, shared storage with offsets, expanded, 0-d, empty, a Parameter.
    base = torch.arange(20, dtype=torch.float32).reshape(4, 5)
    w = torch.randn(3, 4, generator=torch.Generator().manual_seed(2))
    views = OrderedDict()
    views["transposed"] = w.t()                     # strides (1, 4)
    views["rows"] = base[1:3]                       # offset 5, contiguous
    views["cols"] = base[:, 2:4]                    # offset 2, strides (5, 1)
    views["row2"] = base[2]                         # offset 10
    views["every_other"] = base[::2, ::2]           # strides (10, 2)
    views["expanded"] = torch.arange(3, dtype=torch.float32).expand(2, 3)  # stride 0
    views["scalar"] = torch.tensor(2.5)
    views["empty"] = torch.zeros(0, 3)
    views["param"] = torch.nn.Parameter(torch.arange(4, dtype=torch.float32))
    views["permuted_i64"] = torch.arange(24).reshape(2, 3, 4).permute(2, 0, 1)
    save(views, "views.pth")
    expected["views.pth"] = {"root": "views", "wrapper": None,
                             "tensors": {k: describe(v) for k, v in views.items()},
                             "strides": {k: list(v.stride()) for k, v in views.items()},
                             "offsets": {k: v.storage_offset() for k, v in views.items()}}

    ints = OrderedDict()
    ints["i64"] = torch.tensor([0, 1, -1, 2**40, -(2**62), 2**63 - 1], dtype=torch.int64)
    ints["i32"] = torch.tensor([[0, -5], [2**31 - 1, -(2**31)]], dtype=torch.int32)
    ints["b"] = torch.tensor([True, False, True, True])
    ints["u8"] = torch.arange(0, 256, 37, dtype=torch.uint8).reshape(7)
    ints["f64"] = torch.tensor([1.0 / 3.0, -0.0, float("inf"), 1e-310], dtype=torch.float64)
    ints["num_batches_tracked"] = torch.tensor(12)
    save(ints, "ints.pth")
    expected["ints.pth"] = {"root": "ints", "wrapper": None, "tensors": {k: describe(v) for k, v in ints.items()}}

    # A full training checkpoint: optimizer state (int keys), amp scaler dict, numpy scalars,
    # argparse.Namespace, bytes, sets, big ints, tuples — the pickle reader must not choke.
    model = torch.nn.Linear(3, 2)
    torch.manual_seed(3)
    with torch.no_grad():
        model.weight.copy_(torch.randn(2, 3))
        model.bias.copy_(torch.randn(2))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model(torch.ones(1, 3)).sum().backward()
    opt.step()
    misc = {
        "model": model.state_dict(),
        "optimizer": opt.state_dict(),
        "epoch": 5,
        "scaler": {"scale": 65536.0, "growth_factor": 2.0, "backoff_factor": 0.5,
                   "growth_interval": 2000, "_growth_tracker": 0},
        "args": argparse.Namespace(lr=1e-3, model="vit_base_patch16_224", tubelet_size=2, input_size=(16, 224)),
        "np_float": np.float64(0.5),
        "np_int": np.int64(3),
        "big": 2**70,
        "neg": -123456789012,
        "blob": b"\x00\x01\xffabc",
        "tags": {"a", "b"},
        "size": torch.Size([2, 3]),
        "pair": (1, "x", None, True, False, 1.5),
    }
    save(misc, "misc.pth")
    expected["misc.pth"] = {"root": "misc", "wrapper": "model",
                            "tensors": {k: describe(v) for k, v in model.state_dict().items()},
                            "exp_avg_weight": describe(opt.state_dict()["state"][0]["exp_avg"])}

    # A storage type the reader does not decode (int16): loading must still work.
    save(OrderedDict([("w", torch.ones(2)), ("s", torch.zeros(2, dtype=torch.int16))]), "unsupported.pth")

    # Legacy (pre-1.6) format.
    save({"w": torch.ones(2)}, "legacy.pth", _use_new_zipfile_serialization=False)

    # ZIP64 everywhere, root folder renamed to `archive`, and a deflated re-pack.
    members = [(n.replace("sd_fp32/", "archive/", 1), d) for n, d in zip_members(out("sd_fp32.pth"))]
    write_full_zip64(members, out("sd_zip64.pth"))
    write_deflated(zip_members(out("sd_fp32.pth")), out("sd_deflate.pth"))
    for name in ("sd_zip64.pth", "sd_deflate.pth"):
        assert_loads_same(out(name), wrapped)
        with zipfile.ZipFile(out(name)) as z:
            assert z.testzip() is None
    expected["sd_zip64.pth"] = {"root": "archive", "wrapper": "model", "same_tensors_as": "sd_fp32.pth"}
    expected["sd_deflate.pth"] = {"root": "sd_fp32", "wrapper": "model", "same_tensors_as": "sd_fp32.pth"}


def make_npy(expected):
    os.makedirs(out("npy"), exist_ok=True)
    rs = np.random.RandomState(0)
    arrays = {
        "f4_2x3.npy": rs.randn(2, 3).astype("<f4"),
        "f8_scalar.npy": np.array(1.0 / 3.0, dtype="<f8"),
        "f2_5.npy": np.array([0.0, -1.5, 65504.0, 6e-8, np.inf], dtype="<f2"),
        "i8_2x2x2.npy": np.array([[[0, -1], [2**40, -(2**62)]], [[5, 6], [7, 2**63 - 1]]], dtype="<i8"),
        "i4_7.npy": np.arange(-3, 4, dtype="<i4"),
        "u1_3x4.npy": np.arange(12, dtype="u1").reshape(3, 4) * 21,
        "b1_4.npy": np.array([True, False, False, True]),
        "f4_empty_0x3.npy": np.zeros((0, 3), dtype="<f4"),
        # a 6-digit first axis changes numpy's header-growth padding; no data bytes
        "u1_100000x0.npy": np.zeros((100000, 0), dtype="u1"),
    }
    for name, a in arrays.items():
        np.save(out("npy/" + name), a)
        expected[name] = {"dtype": str_dtype(a), "shape": list(a.shape), "hex": a.tobytes().hex()}
    a = rs.randn(3, 2).astype("<f4")
    for ver in ((2, 0), (3, 0)):
        name = f"f4_3x2_v{ver[0]}.npy"
        with open(out("npy/" + name), "wb") as f:
            np.lib.format.write_array(f, a, version=ver)
        expected[name] = {"dtype": "float32", "shape": [3, 2], "hex": a.tobytes().hex()}
    np.save(out("npy/fortran_2x3.npy"), np.asfortranarray(rs.randn(2, 3).astype("<f4")))
    np.save(out("npy/big_endian_f4.npy"), np.arange(3, dtype=">f4"))


def str_dtype(a):
    return {"float32": "float32", "float64": "float64", "float16": "float16", "int64": "int64",
            "int32": "int32", "uint8": "uint8", "bool": "bool"}[str(a.dtype)]


def make_convert_cases():
    """float32 inputs (bit patterns) with numpy's float16 and torch's bfloat16 roundings."""
    f = lambda x: int(np.array(x, dtype="<f4").view("<u4"))
    edge = [0.0, -0.0, 1.0, -1.0, 65504.0, 65519.99, 65520.0, 1e9, -1e9, float("inf"), float("-inf"),
            2.0 ** -14, 2.0 ** -24, 2.0 ** -25, 3 * 2.0 ** -25, 2.0 ** -25 * 1.0000001, 5 * 2.0 ** -26,
            1e-45, 1.17549435e-38]
    bits = [f(x) for x in edge]
    # float16 ties: halfway between neighbours in the normal and subnormal ranges.
    for m in range(0, 8):
        bits.append(f(1.0 + (2 * m + 1) * 2.0 ** -11))
        bits.append(f((2 * m + 1) * 2.0 ** -25))
        bits.append(f(-(1024 + 2 * m + 1) * 2.0 ** -25))
    # bfloat16 ties: low 16 bits exactly 0x8000, odd and even kept halves.
    for hi in (0x3F80, 0x3F81, 0x4049, 0x404A, 0x7F7F, 0xBF80, 0x0001, 0x0000):
        bits.append((hi << 16) | 0x8000)
        bits.append((hi << 16) | 0x7FFF)
        bits.append((hi << 16) | 0x8001)
    rs = np.random.RandomState(1)
    bits += [int(b) for b in rs.randint(0, 2**32, size=1500, dtype=np.uint64)]
    arr = np.array(bits, dtype="<u4")
    f32 = arr.view("<f4")
    finite_or_inf = ~np.isnan(f32)
    arr, f32 = arr[finite_or_inf], f32[finite_or_inf]
    with np.errstate(over="ignore"):
        f16 = f32.astype("<f2").view("<u2")
    bf16 = torch.from_numpy(f32.copy()).to(torch.bfloat16).view(torch.int16).numpy().view("<u2")
    return {"f32": [int(x) for x in arr], "f16": [int(x) for x in f16], "bf16": [int(x) for x in bf16]}


def make_pickles():
    """The same object pickled with protocols 1-5 (torch.save uses 2), for the pickle VM tests."""
    import pickle
    os.makedirs(out("pickles"), exist_ok=True)
    shared = [7, 8]
    obj = {
        "int": 1, "i2": 300, "neg": -70000, "big": 2**70, "negbig": -(2**64), "f": 1.5,
        "s": "h\u00e9llo \u2713", "b": b"\x00\xff", "ba": bytearray(b"xy"),
        "t": (1, 2, 3), "t1": (1,), "t0": (), "t5": (1, 2, 3, 4, 5), "l": [1, [2]],
        "none": None, "bools": [True, False], "set": {1}, "fs": frozenset({2}),
        "od": OrderedDict([("z", 1), ("a", 2)]), "shared": [shared, shared],
        "ns": argparse.Namespace(x=1), 3: "int key",
    }
    for proto in range(1, 6):
        with open(out(f"pickles/p{proto}.pkl"), "wb") as f:
            pickle.dump(obj, f, protocol=proto)


def main():
    os.makedirs(OUT, exist_ok=True)
    make_pickles()
    expected = {}
    make_checkpoints(expected)
    with open(out("expected.json"), "w") as fh:
        json.dump(expected, fh, indent=1)
    npy_expected = {}
    make_npy(npy_expected)
    with open(out("npy/expected.json"), "w") as fh:
        json.dump(npy_expected, fh, indent=1)
    with open(out("convert_cases.json"), "w") as fh:
        json.dump(make_convert_cases(), fh)
    total = sum(os.path.getsize(os.path.join(d, n)) for d, _, ns in os.walk(OUT) for n in ns)
    print(f"wrote fixtures to {os.path.normpath(OUT)} ({total} bytes) with torch {torch.__version__}, numpy {np.__version__}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
