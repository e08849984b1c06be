"""PyTorch side of `npm run bench`: a tiny line protocol so that our runs and PyTorch's can be
interleaved in one benchmark session. Run by the benchmark with Debian's /usr/bin/python3.

Each input line is a JSON request; each output line the JSON answer:
  {"op": "hello", "threads": 2}                 -> {"torch": "1.13.1", "threads": 2}
  {"op": "gemm", "n": 2048, "dtype": "float32", "reps": 5} -> {"seconds": [..per rep..]}
  {"op": "small_add", "calls": 100000}          -> {"seconds": total}
"""
import json
import sys
import time

import torch

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


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


for line in sys.stdin:
    req = json.loads(line)
    op = req["op"]
    if op == "hello":
        torch.set_num_threads(req["threads"])
        res = {"torch": torch.__version__, "threads": torch.get_num_threads()}
    elif op == "gemm":
        res = gemm(req["n"], req["dtype"], req["reps"])
    elif op == "small_add":
        res = small_add(req["calls"])
    elif op == "quit":
        break
    else:
        res = {"error": f"unknown op {op}"}
    sys.stdout.write(json.dumps(res) + "\n")
    sys.stdout.flush()
