import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCoreBench } from "../../bench/core.ts";
import { table } from "../../bench/stats.ts";
import { parseOptions, type Command } from "../command.ts";

export const benchCommand: Command = {
  name: "bench",
  help: `Usage: videomae bench [--quick] [--json] [--no-torch] [--out FILE]

Runs our implementation and a PyTorch reference (Debian's /usr/bin/python3 with torch, when
importable) on the same shapes and threads, interleaving their repetitions, and reports medians
and the ratio ours/PyTorch. Threads: VIDEOMAE_NUM_THREADS (default: all cores).

Options:
  --quick       small sizes and few repetitions (a smoke run, ~20 s)
  --json        print only the JSON result
  --no-torch    skip the PyTorch reference
  --out FILE    where to write the JSON result (default: .bench/core-<timestamp>.json)

Example:
  npm run bench              # full run, table + JSON file
  videomae bench --quick --json`,
  async run(argv) {
    const { values } = parseOptions(argv, {
      quick: { type: "boolean" },
      json: { type: "boolean" },
      "no-torch": { type: "boolean" },
      out: { type: "string" },
    });
    const log = values.json ? undefined : (s: string) => console.error(`  ${s}`);
    const res = await runCoreBench({ quick: values.quick, withTorch: !values["no-torch"], log });
    const out = values.out ?? join(".bench", `core-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
    mkdirSync(join(out, ".."), { recursive: true });
    writeFileSync(out, JSON.stringify(res, null, 2) + "\n");
    if (values.json) {
      console.log(JSON.stringify(res));
      return 0;
    }
    console.log(`\nthreads ${res.threads}, BLAS ${res.blas}, PyTorch ${res.torchVersion ?? "—"}${res.torchNote ? ` (${res.torchNote})` : ""}\n`);
    console.log(
      table(
        ["GEMM n×n×n", "dtype", "ours GFLOP/s", "PyTorch GFLOP/s", "ours/PyTorch"],
        res.gemm.map((g) => [String(g.n), g.dtype, g.oursGflops, g.torchGflops ?? NaN, g.ratio ?? NaN]),
      ),
    );
    console.log(
      `\nsmall op (add of two 4-element tensors): ours ${res.smallOp.oursNsPerCall.toFixed(0)} ns/call` +
        (res.smallOp.torchNsPerCall ? `, PyTorch (from Python) ${res.smallOp.torchNsPerCall.toFixed(0)} ns/call` : ""),
    );
    console.log(`\nJSON written to ${out}`);
    return 0;
  },
};
