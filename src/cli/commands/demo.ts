/** `videomae demo` (`npm run demo`): the whole workflow at toy scale on embedded synthetic data. */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { formatDemoSummary, runDemo } from "../../demo/demo.ts";
import { defineCommand } from "../command.ts";
import { jsonOutputOption } from "../options/groups.ts";
import { flag, number, text } from "../options/schema.ts";

export const demoCommand = defineCommand({
  name: "demo",
  usage: "[--out DIR] [--quick] [--seed S] [--workers W] [--json]",
  description: `Generates a small synthetic video dataset whose classes differ only in motion, pre-trains a tiny
ViT with dual masking (tube 90 % + running cell 50 %), fine-tunes it, fine-tunes the same
architecture from scratch with the same budget, distils the fine-tuned model into a student of
half its width and depth (accuracy and speed next to the teacher's), evaluates them with
multi-view testing (2 clips × 3 crops), classifies a real clip, writes a reconstruction picture,
and prints a summary table.
About 20 minutes on 2 cores (--quick: a couple of minutes, for smoke tests). Re-running resumes
finished stages from their checkpoints.`,
  options: {
    out: text({ valueName: "DIR", default: join("runs", "demo"), description: "where data, runs and pictures go" }),
    quick: flag("a much shorter run"),
    seed: number({ valueName: "S", default: 0, description: "seed" }),
    workers: number({ valueName: "W", default: 0, description: "data-loading threads (0: the small dataset is decoded once and kept in memory, which beats per-worker caches here)" }),
    ...jsonOutputOption("the summary"),
  },
  async run(v) {
    const out = v.out;
    const summary = await runDemo({
      out,
      quick: v.quick,
      seed: v.seed,
      workers: v.workers,
      log: (m) => process.stderr.write(m + "\n"),
    });
    writeFileSync(join(out, "summary.json"), JSON.stringify(summary, null, 2) + "\n");
    console.log(v.json ? JSON.stringify(summary) : formatDemoSummary(summary, out));
    return 0;
  },
});
