/**
 * The option schema (issue 13): every command's --help shows each option with its description
 * and default; every command rejects a bad choice or number with exit code 2 and a message naming
 * what is allowed; --config FILE.json merges under the flags, with unknown keys refused.
 */
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";

import type { Command } from "../../src/cli/command.ts";
import { commandNames } from "../../src/cli/command_list.ts";
import { loadCommand, main } from "../../src/cli/main.ts";
import { configFileOption } from "../../src/cli/options/groups.ts";
import { parseCommandLine } from "../../src/cli/options/parse.ts";
import { flag, kebab } from "../../src/cli/options/schema.ts";
import { pretrainOptions } from "../../src/cli/options/training.ts";
import { describeRange, rangeOf } from "../../src/cli/options/ranges.ts";

/**
 * Runs main() in this process, collecting what it prints (console.log/error: help and usage
 * errors; the test runner's own output, on the process streams, is left alone).
 */
async function run(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const [log, error] = [console.log, console.error];
  console.log = (...a: unknown[]) => void (stdout += a.join(" ") + "\n");
  console.error = (...a: unknown[]) => void (stderr += a.join(" ") + "\n");
  try {
    return { status: await main(args), stdout, stderr };
  } finally {
    [console.log, console.error] = [log, error];
  }
}

async function load(name: string): Promise<Command> {
  const cmd = await loadCommand(name);
  assert.ok(cmd, `the ${name} command`);
  return cmd;
}

/** The option entries of a help text: `--name …` with its wrapped continuation lines joined. */
function helpEntries(help: string): Map<string, string> {
  const entries = new Map<string, string>();
  const section = help.slice(help.indexOf("\nOptions:\n") + 10);
  let current: string | undefined;
  for (const line of section.split("\n")) {
    const m = /^ {2}(--[a-z0-9-]+)/.exec(line);
    if (m) entries.set((current = m[1]!), line.trim());
    else if (current && /^ {4,}\S/.test(line)) entries.set(current, `${entries.get(current)} ${line.trim()}`);
    else current = undefined;
  }
  return entries;
}

describe("option schema", () => {
  test("every command's --help shows each option with its description and its default", async () => {
    const missing: string[] = [];
    for (const name of commandNames()) {
      const cmd = await load(name);
      const entries = helpEntries(cmd.help);
      for (const [key, spec] of Object.entries(cmd.options)) {
        const flag = `--${kebab(key)}`;
        const entry = entries.get(flag);
        if (!entry) missing.push(`${name} ${flag}: not in --help`);
        else if (!entry.includes(spec.description.split(" ").slice(0, 3).join(" "))) missing.push(`${name} ${flag}: no description`);
        else if (!/[(;] ?(default: .+|required)\)$/.test(entry)) missing.push(`${name} ${flag}: no default (${entry})`);
      }
    }
    assert.deepEqual(missing, []);
  });

  test("every command rejects a bad choice or number with exit code 2, naming what is allowed", async () => {
    const wrong: string[] = [];
    let checked = 0;
    for (const name of commandNames()) {
      const cmd = await load(name);
      for (const [key, spec] of Object.entries(cmd.options)) {
        const flag = `--${kebab(key)}`;
        let bad: string;
        let says: string[];
        if (spec.choices) [bad, says] = ["bogus", [...spec.choices]];
        else if (spec.kind === "number") {
          const range = spec.range ?? rangeOf(key);
          [bad, says] = range?.min !== undefined ? ["-1e9", [describeRange(range)]] : ["ten", ["must be a number"]];
        } else if (key === "device") [bad, says] = ["gpu", ["auto", "cpu", "cuda", "cuda:N"]];
        else continue;
        checked++;
        const r = await run([name, flag, bad]);
        if (r.status !== 2 || !says.every((s) => r.stderr.includes(s)) || !r.stderr.includes(flag)) {
          wrong.push(`videomae ${name} ${flag} ${bad}: exit ${r.status}, ${r.stderr.split("\n")[0]}`);
        }
      }
    }
    assert.deepEqual(wrong, []);
    assert.ok(checked > 100, `${checked} options checked`);
  });

  test("the issue's cases: --precision bf61, a negative batch size, an unknown device", async () => {
    const bf61 = await run(["pretrain", "--lists", "x.csv", "--precision", "bf61"]);
    assert.equal(bf61.status, 2);
    assert.match(bf61.stderr, /--precision must be one of fp32, bf16, fp16, got 'bf61'/);
    for (const name of ["eval", "predict", "forward"]) {
      const r = await run([name, "--precision", "bf61"]);
      assert.equal(r.status, 2, name);
      assert.match(r.stderr, /--precision must be one of fp32, bf16, got 'bf61'/, name);
    }
    const batch = await run(["eval", "--batch-size", "-4"]);
    assert.equal(batch.status, 2);
    assert.match(batch.stderr, /--batch-size must be an integer ≥ 1, got -4/);
    const device = await run(["predict", "x.mp4", "--device", "cuda:x"]);
    assert.equal(device.status, 2);
    assert.match(device.stderr, /--device must be one of auto, cpu, cuda, cuda:N .*got 'cuda:x'/);
  });

  test("--config FILE.json: defaults < file < flags; keys in any case; unknown keys and bad values name the file", () => {
    const schema = { ...pretrainOptions, config: configFileOption };
    const dir = mkdtempSync(join(tmpdir(), "vm-options-"));
    const file = join(dir, "run.json");
    writeFileSync(file, JSON.stringify({ warmup_epochs: 5, lr: 0.01, "batch-size": 4, resume: true, lists: ["a.csv", "b.csv"] }));
    const { options } = parseCommandLine("pretrain", schema, ["--config", file, "--lr", "0.02", "--epochs=3"]);
    assert.equal(options.lr, 0.02, "the flag wins");
    assert.equal(options.warmupEpochs, 5);
    assert.equal(options.batchSize, 4);
    assert.deepEqual(options.lists, ["a.csv", "b.csv"]);
    assert.equal(options.resume, true);
    assert.equal(options.epochs, 3);
    assert.equal(options.maskRatio, 0.9, "the default");

    writeFileSync(file, JSON.stringify({ lrr: 1 }));
    assert.throws(() => parseCommandLine("pretrain", schema, ["--config", file]), /run\.json: unknown option 'lrr'\. Valid options: .*\blr\b/);
    writeFileSync(file, JSON.stringify({ precision: "bf61" }));
    assert.throws(() => parseCommandLine("pretrain", schema, ["--config", file]), /run\.json: --precision must be one of fp32, bf16, fp16, got 'bf61'/);
    assert.throws(() => parseCommandLine("pretrain", schema, ["--config", join(dir, "none.json")]), /cannot read --config .*none\.json/);
  });

  test("flags: --no-flag and --flag false turn a switch off; a missing value is a usage error", async () => {
    const schema = { flip: flag("random horizontal flip", true), resume: flag("resume") };
    assert.equal(parseCommandLine("finetune", schema, ["--no-flip"]).options.flip, false);
    assert.deepEqual(parseCommandLine("finetune", schema, ["--flip", "false", "--resume", "true"]).options, { flip: false, resume: true }, "--flag true|false, as scripts write it");
    assert.deepEqual(parseCommandLine("finetune", schema, ["--flip=false", "--resume=false"]).options, { flip: false, resume: false });
    const r = await run(["eval", "--test"]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /option '--test <LIST>' argument missing/);
  });
});
