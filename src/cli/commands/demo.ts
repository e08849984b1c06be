/** `videomae demo` (`npm run demo`): the whole workflow at toy scale on embedded synthetic data. */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { formatDemoSummary, runDemo } from "../../demo/demo.ts";
import { num, parseOptions, type Command } from "../command.ts";

export const demoCommand: Command = {
  name: "demo",
  help: `Usage: videomae demo [--out DIR] [--quick] [--seed S] [--workers W] [--json]

Generates a small synthetic video dataset whose classes differ only in motion, pre-trains a tiny
ViT with dual masking (tube 90 % + running cell 50 %), fine-tunes it, fine-tunes the same
architecture from scratch with the same budget, distils the fine-tuned model into a student of
half its width and depth (accuracy and speed next to the teacher's), evaluates them with
multi-view testing (2 clips × 3 crops), classifies a real clip, writes a reconstruction picture,
and prints a summary table.
About 20 minutes on 2 cores (--quick: a couple of minutes, for smoke tests). Re-running resumes
finished stages from their checkpoints.

Options:
  --out DIR      where data, runs and pictures go (default runs/demo)
  --quick        a much shorter run
  --seed S       seed (default 0)
  --workers W    data-loading threads (default 0: the small dataset is decoded once and kept in
                 memory, which beats per-worker caches here)
  --json         print the summary as JSON`,
  async run(argv) {
    const { values: v } = parseOptions(argv, {
      out: { type: "string" },
      quick: { type: "boolean" },
      seed: { type: "string" },
      workers: { type: "string" },
      json: { type: "boolean" },
    });
    const out = v.out ?? join("runs", "demo");
    const summary = await runDemo({
      out,
      quick: Boolean(v.quick),
      seed: num(v.seed, 0, "seed"),
      workers: num(v.workers, 0, "workers"),
      log: (m) => process.stderr.write(m + "\n"),
    });
    writeFileSync(join(out, "summary.json"), JSON.stringify(summary, null, 2) + "\n");
    console.log(v.json ? JSON.stringify(summary) : formatDemoSummary(summary, out));
    return 0;
  },
};
