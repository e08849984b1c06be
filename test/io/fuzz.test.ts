// Mutation fuzzing of the four input parsers (.pth, safetensors, .npy, list files), bounded and
// seeded: each runs in a child process (fuzz_worker.ts) so that a crash, hang or runaway
// allocation fails the test instead of the runner. Every mutated input must load or end in
// the parser's typed error naming the file. The inputs depend only on the seed; each worker
// stops after its iteration cap or its time share (10 s), so the whole file stays under a minute.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, test } from "node:test";
import { tempDir } from "./helpers.ts";

const SEED = 20261202;
const BUDGET_MS = 10_000;
const MAX_ITERATIONS: Record<string, number> = { pth: 1500, safetensors: 4000, npy: 4000, lists: 6000 };

interface Summary {
  parser: string;
  iterations: number;
  loaded: number;
  typed: number;
  findings: { iteration: number; error: string; input: string }[];
  maxRssMiB: number;
}

describe("fuzz: mutated inputs load or fail with a typed error", () => {
  for (const parser of ["pth", "safetensors", "npy", "lists"]) {
    test(`${parser} (seed ${SEED})`, { timeout: 120_000 }, () => {
      const { dir, cleanup } = tempDir();
      try {
        const r = spawnSync(
          process.execPath,
          ["--import", "tsx", join(import.meta.dirname, "fuzz_worker.ts"), parser, String(SEED), String(MAX_ITERATIONS[parser]), String(BUDGET_MS), dir],
          // Room for the budget plus start-up on a loaded machine; a hang is killed and fails below.
          { encoding: "utf8", timeout: 90_000, maxBuffer: 1 << 24 },
        );
        assert.equal(r.signal, null, `the fuzz worker was killed by ${r.signal} (hang or crash)\n${r.stderr}`);
        assert.equal(r.status, 0, `the fuzz worker crashed:\n${r.stderr}`);
        const s = JSON.parse(r.stdout.trim().split("\n").pop()!) as Summary;
        assert.ok(s.iterations > 0);
        assert.equal(s.loaded + s.typed + s.findings.length, s.iterations);
        assert.deepEqual(s.findings, [], `untyped failures (inputs kept only while the test runs):\n${s.findings.map((f) => `#${f.iteration}: ${f.error}`).join("\n")}`);
      } finally {
        cleanup();
      }
    });
  }
});
