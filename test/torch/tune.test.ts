/**
 * The kernel tuner (src/torch/tune.ts): it measures once per machine and caches the winners under
 * $XDG_CACHE_HOME, later processes read the cache, environment variables win over it, a broken or
 * stale cache is re-measured (never a crash), the test suite does not tune unless asked, and bf16
 * inference measured slower than fp32 runs fp32 with one notice. Each case is a child process with
 * its own XDG_CACHE_HOME (the choices are per process).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";

import { CHOICE_PREFERENCE, pickCandidate, TIE_MARGIN } from "../../src/torch/tune.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const cacheHome = mkdtempSync(join(tmpdir(), "videomae-tune-"));
const cachePath = join(cacheHome, "videomae", "kernels.json");
after(() => rmSync(cacheHome, { recursive: true, force: true }));

interface ChildResult {
  source: string;
  choices: Record<string, unknown>;
  overridden: Record<string, string>;
  precision?: string;
  notices: string[];
}

/** Runs ensureKernelChoices (and optionally inferencePrecision("bf16") twice) in a fresh process. */
function child(env: Record<string, string | undefined>, opts: { cacheOnly?: boolean; askBf16?: boolean } = {}): ChildResult {
  const script = `
    import { ensureKernelChoices, inferencePrecision } from "./src/torch/tune.ts";
    const s = ensureKernelChoices({ cacheOnly: ${!!opts.cacheOnly} });
    const notices = [];
    let precision;
    if (${!!opts.askBf16}) for (let i = 0; i < 2; i++) precision = inferencePrecision("bf16", "cpu", (m) => notices.push(m));
    console.log(JSON.stringify({ source: s.source, choices: s.choices, overridden: s.overridden, precision, notices }));`;
  const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
    cwd: root,
    encoding: "utf8",
    env: { ...process.env, XDG_CACHE_HOME: cacheHome, VIDEOMAE_TUNE: "1", ...env },
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split("\n").pop()!) as ChildResult;
}

const CHOICE_ENV = ["VIDEOMAE_FP32_LINEAR", "VIDEOMAE_BF16_LINEAR", "VIDEOMAE_ATTN_ISA", "VIDEOMAE_ATTN_GEMM", "VIDEOMAE_ATTN_BF16", "VIDEOMAE_NUM_THREADS", "OMP_NUM_THREADS"];
const clean = Object.fromEntries(CHOICE_ENV.map((k) => [k, undefined]));

describe("kernel tuner", () => {
  test("ties within the margin go to the preferred candidate; clear winners win", () => {
    assert.equal(pickCandidate({ sgemm: 170, aten: 333, dnnl: 331 }, CHOICE_PREFERENCE.bf16Linear), "dnnl");
    assert.equal(pickCandidate({ sgemm: 170, aten: 400, dnnl: 331 }, CHOICE_PREFERENCE.bf16Linear), "aten");
    assert.equal(pickCandidate({ sgemm: 500, aten: 400, dnnl: 331 }, CHOICE_PREFERENCE.bf16Linear), "sgemm");
    assert.equal(pickCandidate({ blas: 177, dnnl: 196 }), "dnnl");
    assert.equal(pickCandidate({ micro: 180, blas: 184, aten: 149 }, CHOICE_PREFERENCE.attentionGemm), "micro");
  });

  test("measures once, caches per machine, and the next process reads the cache", () => {
    const first = child(clean);
    assert.equal(first.source, "tuned");
    assert.ok(existsSync(cachePath), "cache file written");
    const cache = JSON.parse(readFileSync(cachePath, "utf8"));
    const [record] = Object.values(cache.entries) as { version: number; rates: Record<string, Record<string, number>>; choices: Record<string, unknown> }[];
    assert.equal(typeof record!.version, "number");
    // every choice was measured; the chosen candidate is the fastest measured one, or one within
    // the tie margin of it that the choice's preference order puts first
    for (const key of ["fp32Linear", "bf16Linear", "attentionIsa", "attentionGemm", "attentionBf16"] as const) {
      const rates = record!.rates[key]!;
      const best = Math.max(...Object.values(rates));
      const chosen = record!.choices[key] as string;
      assert.ok(rates[chosen]! >= (1 - TIE_MARGIN) * best, `${key}: ${chosen} is not within the tie margin: ${JSON.stringify(rates)}`);
      assert.equal(chosen, pickCandidate(rates, CHOICE_PREFERENCE[key]), `${key}: ${JSON.stringify(rates)}`);
    }
    const second = child(clean);
    assert.equal(second.source, "cache");
    assert.deepEqual(second.choices, first.choices);
  });

  test("environment variables win over the cache", () => {
    const r = child({ ...clean, VIDEOMAE_BF16_LINEAR: "sgemm", VIDEOMAE_ATTN_GEMM: "blas" });
    assert.equal(r.choices.bf16Linear, "sgemm");
    assert.equal(r.choices.attentionGemm, "blas");
    assert.equal(r.overridden.bf16Linear, "VIDEOMAE_BF16_LINEAR");
  });

  test("bf16 inference measured slower than fp32: runs fp32, with one notice", () => {
    const cache = JSON.parse(readFileSync(cachePath, "utf8"));
    for (const rec of Object.values(cache.entries) as { choices: { bf16Inference: boolean }; rates: { bf16Inference: Record<string, number> } }[]) {
      rec.choices.bf16Inference = false;
      rec.rates.bf16Inference = { bf16: 10, fp32: 20 };
    }
    writeFileSync(cachePath, JSON.stringify(cache));
    const r = child(clean, { askBf16: true });
    assert.equal(r.source, "cache");
    assert.equal(r.precision, "fp32");
    assert.equal(r.notices.length, 1);
    assert.match(r.notices[0]!, /slower than fp32.*running fp32/);
  });

  test("a broken or stale cache is measured again, not a crash", () => {
    writeFileSync(cachePath, "{ not json");
    assert.equal(child(clean, { cacheOnly: true }).source, "defaults"); // ranks under launch: no tuning, no crash
    assert.equal(child(clean).source, "tuned");
    const cache = JSON.parse(readFileSync(cachePath, "utf8"));
    for (const rec of Object.values(cache.entries) as { version: number }[]) rec.version = -1;
    writeFileSync(cachePath, JSON.stringify(cache));
    assert.equal(child(clean, { cacheOnly: true }).source, "defaults");
  });

  test("inside the test suite it neither tunes nor reads the cache unless VIDEOMAE_TUNE=1", () => {
    rmSync(cachePath, { force: true });
    const r = child({ ...clean, VIDEOMAE_TEST: "1", VIDEOMAE_TUNE: undefined });
    assert.equal(r.source, "defaults");
    assert.equal(existsSync(cachePath), false);
  });
});
