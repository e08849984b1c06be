#!/usr/bin/env python3
"""Golden values for the pure-TypeScript masking and position-table code.

Writes test/fixtures/masking/position.json and test/fixtures/masking/running_cell.json.
Needs numpy (run with /usr/bin/python3). The tests only read the JSON; they never run Python.

Position table: the official `get_sinusoid_encoding_table` (models/modeling_finetune.py), written
out below with the same numpy calls in the same order. numpy >= 1.22 evaluates float64
`np.power` with an AVX512-SKX SIMD kernel when the CPU has it, and that kernel differs from libm
`pow` in the last bit for some exponents. So the table is computed twice, in child processes:
  * "baseline": SIMD dispatch switched off (NPY_DISABLE_CPU_FEATURES) -> libm pow, the result on
    any CPU without AVX512; this is the golden table (sha256 of the whole float32 table plus
    sampled rows).
  * "native": this machine's default dispatch; every float32 element that differs from the
    baseline is recorded so the test can document the effect.

Running cell: a transcription of the official `Cell` / `RunningCellMaskingGenerator`
(dataset/masking_generator.py); all four precomputed volumes are dumped per window.

Usage: /usr/bin/python3 tools/reference/make_masking_fixtures.py
"""
import base64
import hashlib
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "test", "fixtures", "masking")

# (n_position, d): encoder widths S/B/L/H/g and decoder widths at 16x224^2, plus small tables.
TABLES = [
    (1568, 384), (1568, 768), (1568, 1024), (1568, 1280), (2048, 1408),
    (1568, 192), (1568, 512), (2048, 512), (8, 6), (32, 32), (32, 16), (5, 7),
]
SAMPLE_ROWS = [0, 1, 2, 7, 196, 777, 1567, 2047]
# Widths whose 10000^(2k/d) divisors are checked one by one: 1..256 plus every model width.
POW_WIDTHS = list(range(1, 257)) + [320, 384, 512, 640, 768, 1024, 1280, 1408, 1536, 2048]

SIMD_FEATURES = ("SSSE3 SSE41 POPCNT SSE42 AVX F16C FMA3 AVX2 AVX512F AVX512CD "
                 "AVX512_SKX AVX512_CLX AVX512_CNL AVX512_ICL")


def get_sinusoid_encoding_table(n_position, d_hid):
    import numpy as np

    def get_position_angle_vec(position):
        return [position / np.power(10000, 2 * (hid_j // 2) / d_hid) for hid_j in range(d_hid)]

    sinusoid_table = np.array([get_position_angle_vec(pos_i) for pos_i in range(n_position)])
    sinusoid_table[:, 0::2] = np.sin(sinusoid_table[:, 0::2])
    sinusoid_table[:, 1::2] = np.cos(sinusoid_table[:, 1::2])
    # torch.tensor(..., dtype=torch.float) rounds float64 -> float32 to nearest, as astype does.
    return sinusoid_table.astype(np.float32)


def child(out_dir):
    import numpy as np
    for n, d in TABLES:
        np.save(os.path.join(out_dir, f"t_{n}_{d}.npy"), get_sinusoid_encoding_table(n, d))


def run_child(out_dir, disable_simd):
    env = dict(os.environ)
    if disable_simd:
        env["NPY_DISABLE_CPU_FEATURES"] = SIMD_FEATURES
    else:
        env.pop("NPY_DISABLE_CPU_FEATURES", None)
    subprocess.run([sys.executable, __file__, "--child", out_dir], check=True, env=env)


def position_fixture():
    import numpy as np
    with tempfile.TemporaryDirectory() as base_dir, tempfile.TemporaryDirectory() as native_dir:
        run_child(base_dir, True)
        run_child(native_dir, False)
        tables = []
        for n, d in TABLES:
            base = np.load(os.path.join(base_dir, f"t_{n}_{d}.npy"))
            native = np.load(os.path.join(native_dir, f"t_{n}_{d}.npy"))
            le = base.astype("<f4")
            diffs = []
            for pos, j in zip(*np.nonzero(base.view(np.uint32) != native.view(np.uint32))):
                diffs.append({
                    "pos": int(pos), "j": int(j),
                    "baselineBits": int(base.view(np.uint32)[pos, j]),
                    "nativeBits": int(native.view(np.uint32)[pos, j]),
                })
            rows = sorted(set(r for r in SAMPLE_ROWS if r < n) | set(x["pos"] for x in diffs))
            tables.append({
                "n": n, "d": d,
                "sha256": hashlib.sha256(le.tobytes()).hexdigest(),
                "rows": {str(r): base64.b64encode(le[r].tobytes()).decode() for r in rows},
                "nativeDiffs": diffs,
            })
    return {
        "generator": "tools/reference/make_masking_fixtures.py",
        "numpy": np.__version__,
        "pow": pow_fixture(),
        "note": "float32 little-endian rows in base64; sha256 over the whole row-major table; "
                "nativeDiffs = elements where numpy's SIMD np.power path differs from libm",
        "tables": tables,
    }


def pow_fixture():
    """Divisors 10000^(2k/d): correctly rounded (exact decimal power, rounded once) vs libm pow.

    glibc's pow is accurate to ~0.52 ulp, not correctly rounded, so it disagrees with the exact
    rounding on a few near-halfway exponents; the TypeScript code computes the correctly rounded
    value. Both sha256 values are over the float64 little-endian divisors in (d, k) order.
    """
    import math
    import struct
    from decimal import Decimal, getcontext
    getcontext().prec = 60
    exact, libm = hashlib.sha256(), hashlib.sha256()
    examples = []
    count = 0
    for d in POW_WIDTHS:
        for k in range((d + 1) // 2):
            e = 2 * k / d
            cr = float(Decimal(10000) ** Decimal(e))  # Decimal(e) is the exact binary value of e
            lm = math.pow(10000, e)
            exact.update(struct.pack("<d", cr))
            libm.update(struct.pack("<d", lm))
            count += 1
            if cr != lm:
                examples.append({"d": d, "k": k, "correct": repr(cr), "libm": repr(lm)})
    return {
        "widths": POW_WIDTHS,
        "count": count,
        "sha256CorrectlyRounded": exact.hexdigest(),
        "sha256Libm": libm.hexdigest(),
        "libmMismatches": examples,
    }


class Cell:
    def __init__(self, num_masks, num_patches):
        import numpy as np
        self.num_masks = num_masks
        self.num_patches = num_patches
        self.size = num_masks + num_patches
        self.queue = np.hstack([np.ones(num_masks), np.zeros(num_patches)])
        self.queue_ptr = 0

    def set_ptr(self, pos=-1):
        import numpy as np
        self.queue_ptr = np.random.randint(self.size) if pos < 0 else pos

    def get_cell(self):
        import numpy as np
        cell_idx = (np.arange(self.size) + self.queue_ptr) % self.size
        return self.queue[cell_idx]

    def run_cell(self):
        self.queue_ptr += 1


def running_cell_maps(input_size, mask_ratio):
    import numpy as np
    frames, height, width = input_size
    num_masks_per_cell = int(4 * mask_ratio)
    assert 0 < num_masks_per_cell < 4
    cell = Cell(num_masks_per_cell, 4 - num_masks_per_cell)
    mask_list = []
    for ptr_pos in range(cell.size):
        cell.set_ptr(ptr_pos)
        mask = []
        for _ in range(frames):
            cell.run_cell()
            mask_unit = cell.get_cell().reshape(2, 2)
            mask_map = np.tile(mask_unit, [height // 2, width // 2])
            mask.append(mask_map.flatten())
        mask_list.append(np.stack(mask, axis=0))
    return np.stack(mask_list, axis=0)  # (4, T', h'*w')


def running_cell_fixture():
    cases = []
    for window, ratio in [((8, 14, 14), 0.5), ((8, 16, 16), 0.5), ((5, 4, 6), 0.25),
                          ((3, 2, 2), 0.75), ((2, 4, 4), 0.5), ((4, 2, 4), 0.6), ((6, 2, 2), 0.9)]:
        maps = running_cell_maps(window, ratio)
        cases.append({
            "window": list(window), "ratio": ratio,
            "maskedPerCell": int(4 * ratio),
            "volumes": ["".join(str(int(v)) for v in vol.flatten()) for vol in maps],
        })
    # int(ratio * n) truncation as the tube / random generators compute it.
    trunc = [{"ratio": r, "n": n, "k": int(r * n)}
             for r, n in [(0.9, 196), (0.9, 256), (0.9, 16), (0.29, 100), (0.7, 10), (0.58, 100),
                          (0.75, 196), (0.95, 196), (0.15, 1568), (0.9, 1568), (0.3, 10), (0.1, 30)]]
    return {"generator": "tools/reference/make_masking_fixtures.py", "cases": cases, "trunc": trunc}


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        child(sys.argv[2])
        return
    os.makedirs(OUT, exist_ok=True)
    for name, data in [("position.json", position_fixture()), ("running_cell.json", running_cell_fixture())]:
        with open(os.path.join(OUT, name), "w") as f:
            json.dump(data, f, indent=1)
            f.write("\n")
        print("wrote", os.path.join(OUT, name))


if __name__ == "__main__":
    main()
