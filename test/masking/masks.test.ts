// Single-sample generators: tube (spec §3.1), running cell (§3.2), uniform random.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Rng } from "../../src/util/rng.ts";
import {
  MaskingError,
  RandomMaskGenerator,
  RunningCellMaskGenerator,
  TubeMaskGenerator,
  runningCellPattern,
  type MaskWindow,
} from "../../src/masking/index.ts";

interface RunningCellCase {
  window: [number, number, number];
  ratio: number;
  maskedPerCell: number;
  volumes: string[];
}
const fixture = JSON.parse(readFileSync(new URL("../fixtures/masking/running_cell.json", import.meta.url), "utf8")) as {
  cases: RunningCellCase[];
  trunc: { ratio: number; n: number; k: number }[];
};

const sum = (a: Uint8Array) => a.reduce((s, v) => s + v, 0);

/** One slice's 2×2 cell pattern as the spec writes it: TL TR BL BR, M = removed, . = kept. */
function cellText(mask: Uint8Array, window: MaskWindow, t: number): string {
  const [, h, w] = window;
  const at = (y: number, x: number) => (mask[t * h * w + y * w + x] ? "M" : ".");
  return at(0, 0) + at(0, 1) + at(1, 0) + at(1, 1);
}

test("tube: k = trunc(ratio·h'w') per slice, the same spatial mask in every slice", () => {
  const g = new TubeMaskGenerator([8, 14, 14], 0.9);
  assert.equal(g.maskedPerSlice, 176);
  assert.equal(g.numTokens, 1568);
  assert.equal(g.numMasked, 1408);
  const rng = new Rng(1);
  for (let s = 0; s < 20; s++) {
    const m = g.generate(rng);
    assert.equal(m.length, 1568);
    assert.equal(sum(m), 1408);
    const slice0 = m.subarray(0, 196);
    assert.equal(sum(slice0), 176);
    for (let t = 1; t < 8; t++) assert.deepEqual(m.subarray(t * 196, (t + 1) * 196), slice0);
    assert.ok(m.every((v) => v === 0 || v === 1));
  }
  const giant = new TubeMaskGenerator([8, 16, 16], 0.9);
  assert.equal(giant.maskedPerSlice, 230);
  assert.equal(giant.numTokens - giant.numMasked, 208);
});

test("tube: the spatial pattern is uniform over positions", () => {
  const g = new TubeMaskGenerator([2, 4, 4], 0.5);
  const rng = new Rng(7);
  const counts = new Array<number>(16).fill(0);
  const draws = 4000;
  for (let i = 0; i < draws; i++) {
    const m = g.generate(rng);
    for (let p = 0; p < 16; p++) counts[p]! += m[p]!;
  }
  // Each location is masked with probability 8/16; 4000 draws → sd ≈ 32.
  for (const c of counts) assert.ok(Math.abs(c - 2000) < 200, `count ${c}`);
});

test("mask ratios truncate exactly like Python's int(ratio * n)", () => {
  for (const { ratio, n, k } of fixture.trunc) {
    assert.equal(new TubeMaskGenerator([1, 1, n], ratio).maskedPerSlice, k, `tube ${ratio}·${n}`);
    assert.equal(new RandomMaskGenerator(n, ratio).numMasked, k, `random ${ratio}·${n}`);
  }
});

test("random: exactly trunc(ratio·N) removed, no tube structure", () => {
  const g = new RandomMaskGenerator([8, 14, 14], 0.9);
  assert.equal(g.numTokens, 1568);
  assert.equal(g.numMasked, 1411); // trunc(0.9 · 1568) = trunc(1411.2)
  const rng = new Rng(3);
  let differsAcrossSlices = false;
  for (let i = 0; i < 5; i++) {
    const m = g.generate(rng);
    assert.equal(sum(m), 1411);
    for (let t = 1; t < 8; t++) {
      for (let p = 0; p < 196; p++) if (m[t * 196 + p] !== m[p]) differsAcrossSlices = true;
    }
  }
  assert.ok(differsAcrossSlices);
  assert.equal(new RandomMaskGenerator(10, 0).generate(rng).reduce((a, b) => a + b, 0), 0);
  assert.equal(new RandomMaskGenerator(10, 1).generate(rng).reduce((a, b) => a + b, 0), 10);
});

test("running cell, ratio 0.5, s = 0 reproduces the spec §3.2 table: M..M ..MM .MM. MM.. M..M ..MM .MM. MM..", () => {
  const window: MaskWindow = [8, 14, 14];
  const g = new RunningCellMaskGenerator(window, 0.5);
  const vol = g.volumes[0]!;
  const slices = Array.from({ length: 8 }, (_, t) => cellText(vol, window, t));
  assert.equal(slices.join(" "), "M..M ..MM .MM. MM.. M..M ..MM .MM. MM..");
  // Pointer q = s + t + 1: q mod 4 = 1, 2, 3, 0 give the four patterns of the table.
  const queue = [1, 1, 0, 0];
  assert.deepEqual(runningCellPattern(queue, 1), [1, 0, 0, 1]);
  assert.deepEqual(runningCellPattern(queue, 2), [0, 0, 1, 1]);
  assert.deepEqual(runningCellPattern(queue, 3), [0, 1, 1, 0]);
  assert.deepEqual(runningCellPattern(queue, 4), [1, 1, 0, 0]);
  // Start offset s shifts the sequence by s slices.
  for (let s = 1; s < 4; s++) {
    const shifted = Array.from({ length: 8 }, (_, t) => cellText(g.volumes[s]!, window, t));
    assert.deepEqual(shifted.slice(0, 8 - s), slices.slice(s));
  }
});

test("running cell: the 2×2 pattern tiles the whole slice; 98 of 196 kept per slice", () => {
  const window: MaskWindow = [8, 14, 14];
  const g = new RunningCellMaskGenerator(window, 0.5);
  assert.equal(g.maskedPerCell, 2);
  assert.equal(g.numMasked, 784);
  for (const vol of g.volumes) {
    for (let t = 0; t < 8; t++) {
      const slice = vol.subarray(t * 196, (t + 1) * 196);
      assert.equal(196 - sum(slice), 98);
      for (let y = 0; y < 14; y++) {
        for (let x = 0; x < 14; x++) assert.equal(slice[y * 14 + x], slice[(y % 2) * 14 + (x % 2)]);
      }
    }
    // Each location is kept 2 consecutive slices then removed for 2 ("running"): kept 4 of 8.
    for (let p = 0; p < 196; p++) {
      let kept = 0;
      for (let t = 0; t < 8; t++) kept += 1 - vol[t * 196 + p]!;
      assert.equal(kept, 4);
    }
  }
});

test("running cell volumes match the official Cell / RunningCellMaskingGenerator (numpy fixture)", () => {
  for (const c of fixture.cases) {
    const g = new RunningCellMaskGenerator(c.window, c.ratio);
    assert.equal(g.maskedPerCell, c.maskedPerCell);
    assert.equal(g.volumes.length, 4);
    for (let s = 0; s < 4; s++) {
      assert.equal(Array.from(g.volumes[s]!).join(""), c.volumes[s], `window ${c.window} ratio ${c.ratio} s=${s}`);
    }
  }
});

test("running cell: each sample is one of the four volumes, chosen uniformly", () => {
  const g = new RunningCellMaskGenerator([8, 4, 4], 0.5);
  const rng = new Rng(11);
  const seen = new Array<number>(4).fill(0);
  for (let i = 0; i < 2000; i++) {
    const m = g.generate(rng);
    const s = g.volumes.findIndex((v) => v.every((x, j) => x === m[j]));
    assert.ok(s >= 0);
    seen[s]!++;
  }
  for (const c of seen) assert.ok(c > 400 && c < 600, `counts ${seen}`);
});

test("running cell: odd grids and ratios outside 1–3 removed tokens per cell are rejected clearly", () => {
  assert.throws(() => new RunningCellMaskGenerator([8, 7, 7], 0.5), /even height and width.*7×7/);
  assert.throws(() => new RunningCellMaskGenerator([8, 14, 13], 0.5), MaskingError);
  assert.throws(() => new RunningCellMaskGenerator([8, 14, 14], 0.2), /removes trunc\(4·ratio\) = 0/);
  assert.throws(() => new RunningCellMaskGenerator([8, 14, 14], 1), /= 4 of 4/);
  assert.equal(new RunningCellMaskGenerator([2, 2, 2], 0.25).maskedPerCell, 1);
  assert.equal(new RunningCellMaskGenerator([2, 2, 2], 0.99).maskedPerCell, 3);
});

test("invalid windows and ratios", () => {
  assert.throws(() => new TubeMaskGenerator([8, 14] as unknown as MaskWindow, 0.9), /three positive integers/);
  assert.throws(() => new TubeMaskGenerator([8, 0, 14], 0.9), MaskingError);
  assert.throws(() => new TubeMaskGenerator([8, 14, 14], 1.5), /\[0, 1\]/);
  assert.throws(() => new TubeMaskGenerator([8, 14, 14], Number.NaN), /\[0, 1\]/);
  assert.throws(() => new RandomMaskGenerator(0, 0.5), /positive integer/);
  assert.throws(() => new TubeMaskGenerator([2, 2, 2], 0.5).fill(new Uint8Array(3), new Rng(0)), /need 8/);
});

test("deterministic under a seed; fill writes into a subarray view", () => {
  const g = new TubeMaskGenerator([8, 14, 14], 0.9);
  assert.deepEqual(g.generate(new Rng(42)), g.generate(new Rng(42)));
  assert.notDeepEqual(g.generate(new Rng(42)), g.generate(new Rng(43)));
  const big = new Uint8Array(3 * 1568).fill(7);
  g.fill(big.subarray(1568, 3136), new Rng(42));
  assert.deepEqual(big.subarray(1568, 3136), g.generate(new Rng(42)));
  assert.ok(big.subarray(0, 1568).every((v) => v === 7));
  assert.ok(big.subarray(3136).every((v) => v === 7));
});
