/**
 * Messages for mistakes and hostile set-ups (issue 11): each case names the option or file and
 * the fix, with the usual exit codes (2: usage, 1: failure). One table, one CLI run per row.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";

import { main } from "../../src/cli/main.ts";
import { checkRange, describeRange, RANGES } from "../../src/cli/options/ranges.ts";
import { checkWritableDir, ensureWritableDir, OutputError, outputError } from "../../src/util/output.ts";
import { fixtures } from "../helpers.ts";

/**
 * Runs the CLI's main() in this process (what bin/videomae.mjs runs), collecting what it writes:
 * one process for the whole table instead of one start-up per row.
 */
async function run(args: string[]): Promise<{ status: number; stderr: string }> {
  let stderr = "";
  const [err, out] = [process.stderr.write, process.stdout.write];
  process.stderr.write = ((chunk: string | Uint8Array) => ((stderr += String(chunk)), true)) as typeof process.stderr.write;
  process.stdout.write = (() => true) as typeof process.stdout.write;
  try {
    return { status: await main(args), stderr };
  } finally {
    [process.stderr.write, process.stdout.write] = [err, out];
  }
}
const ckpt = join(fixtures, "checkpoints", "vit_model_fp32.pth");

describe("messages that name the file or option and the fix", () => {
  const dir = mkdtempSync(join(tmpdir(), "vm-messages-"));
  const video = join(dir, "clip.mp4");
  execFileSync("ffmpeg", ["-v", "error", "-f", "lavfi", "-i", "testsrc=size=32x32:rate=25:duration=0.4", "-pix_fmt", "yuv420p", video]);
  const list = join(dir, "list.csv");
  writeFileSync(list, "clip.mp4 0\n");
  const folder = join(dir, "a-folder");
  mkdirSync(folder);
  const out = join(dir, "run");
  // A folder nobody may create anything in, even root: /proc refuses new entries.
  const readOnly = "/proc/videomae-no-such-run";

  const cases: { args: string[]; code: number; says: RegExp }[] = [
    // numeric ranges (training: config options; tools: parseArgs options)
    { args: ["pretrain", "--lists", list, "--accum-steps", "0"], code: 2, says: /--accum-steps must be an integer ≥ 1, got 0/ },
    { args: ["pretrain", "--lists", list, "--lr", "-1"], code: 2, says: /--lr must be a number > 0, got -1/ },
    { args: ["pretrain", "--lists", list, "--beta1", "2"], code: 2, says: /--beta1 must be a number in \[0, 1\), got 2/ },
    { args: ["finetune", "--train", list, "--clip-grad", "-1"], code: 2, says: /--clip-grad must be a number > 0, got -1 \(.*unset for no clipping\)/ },
    { args: ["pretrain", "--lists", list, "--max-steps", "-1"], code: 2, says: /--max-steps must be an integer ≥ 1, got -1/ },
    { args: ["pretrain", "--lists", list, "--cache-mib", "-5"], code: 2, says: /--cache-mib must be a number ≥ 0, got -5/ },
    { args: ["pretrain", "--lists", list, "--epochs", "0"], code: 2, says: /--epochs must be an integer ≥ 1, got 0/ },
    { args: ["finetune", "--train", list, "--epochs", "3"], code: 2, says: /--warmup-epochs 5 is more than --epochs 3: lower --warmup-epochs/ },
    { args: ["pretrain", "--lists", list, "--max-bad-fraction", "1.5"], code: 2, says: /--max-bad-fraction must be a number in \[0, 1\], got 1\.5 \(1 never stops\)/ },
    { args: ["extract", video, "--out", out, "--checkpoint", ckpt, "--batch", "0"], code: 2, says: /--batch must be an integer ≥ 1, got 0/ },
    { args: ["frames", video, "--indices", "0", "--size", "100000", "--out", join(dir, "f.npy")], code: 2, says: /--size must be an integer in \[1, 16384\], got 100000/ },
    // files that are not what they should be
    { args: ["eval", "--test", list, "--checkpoint", join(dir, "missing.safetensors")], code: 1, says: /checkpoint not found: .*missing\.safetensors; check the --checkpoint path/ },
    { args: ["eval", "--test", list, "--checkpoint", folder], code: 1, says: /--checkpoint .*a-folder is a folder, not a checkpoint file/ },
    { args: ["probe", folder], code: 1, says: /a-folder: is a directory, not a video file/ },
    { args: ["frames", folder, "--indices", "0", "--out", join(dir, "g.npy")], code: 1, says: /a-folder: is a directory, not a video file/ },
    // output folders that cannot be written, found before any work
    { args: ["pretrain", "--lists", list, "--out", readOnly], code: 1, says: /cannot create the output folder \/proc\/videomae-no-such-run: \/proc does not allow creating anything.*choose a folder you may write to \(--out\)/ },
    { args: ["forward", "--model", "vit_small_patch16_224", "--checkpoint", ckpt, "--input", join(dir, "no-input.npy"), "--out", `${readOnly}/y.npy`], code: 1, says: /cannot create the output folder \/proc\/videomae-no-such-run: \/proc does not allow creating folders/ },
    { args: ["extract", video, "--out", readOnly, "--checkpoint", ckpt], code: 1, says: /cannot create the output folder \/proc\/videomae-no-such-run/ },
  ];

  test("the CLI cases", async () => {
    const wrong: string[] = [];
    for (const c of cases) {
      const r = await run(c.args);
      if (r.status !== c.code || !c.says.test(r.stderr)) wrong.push(`videomae ${c.args.join(" ")}\n  exit ${r.status} (want ${c.code})\n  ${r.stderr.split("\n").slice(0, 3).join("\n  ")}`);
    }
    assert.deepEqual(wrong, []);
    assert.ok(!existsSync(join(dir, "f.npy")) && !existsSync(out), "refused before writing anything");
  });

  test("the range table: every bound is described and enforced the same way", () => {
    assert.equal(describeRange(RANGES.beta1!), "a number in [0, 1)");
    assert.doesNotThrow(() => checkRange("beta1", 0.999));
    assert.doesNotThrow(() => checkRange("batch-size", 8));
    assert.throws(() => checkRange("batch-size", 2.5), /--batch-size must be an integer ≥ 1, got 2\.5/);
    assert.doesNotThrow(() => checkRange("not-in-the-table", -1));
  });

  test("write failures name the file: a real ENOSPC (/dev/full), a file in the way", () => {
    let enospc: unknown;
    try {
      writeFileSync("/dev/full", "x");
    } catch (e) {
      enospc = e;
    }
    const err = outputError(enospc, join(dir, "feats", "x.npy"));
    assert.ok(err instanceof OutputError);
    assert.match(err.message, /cannot write .*feats\/x\.npy \(writing\): no space left on the device \[ENOSPC\]; free some space there, or write elsewhere/);
    const file = join(dir, "a-file");
    writeFileSync(file, "");
    assert.throws(() => ensureWritableDir(file), /--out .*a-file is a file, not a folder/);
    assert.throws(() => checkWritableDir(join(file, "sub")), /a-file is a file, not a folder/);
    assert.doesNotThrow(() => checkWritableDir(join(dir, "new", "deeper")));
    assert.ok(!existsSync(join(dir, "new")), "checkWritableDir creates nothing");
  });
});
