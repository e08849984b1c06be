/**
 * The `videomae` command line: `videomae <command> [options]`. Each command lives in
 * src/cli/commands/ and exports a `Command`. Errors are printed without a stack trace (set
 * VIDEOMAE_DEBUG=1 for one) and give exit code 1; usage errors give 2.
 */
import type { Command } from "./command.ts";
import { UsageError } from "./command.ts";
import { benchCommand } from "./commands/bench.ts";
import { demoCommand } from "./commands/demo.ts";
import { convertCommand } from "./commands/convert.ts";
import { doctorCommand } from "./commands/doctor.ts";
import { evalCommand } from "./commands/eval.ts";
import { extractCommand } from "./commands/extract.ts";
import { forwardCommand } from "./commands/forward.ts";
import { infoCommand } from "./commands/info.ts";
import { predictCommand } from "./commands/predict.ts";
import { reconstructCommand } from "./commands/reconstruct.ts";
import { finetuneCommand, pretrainCommand } from "./commands/train.ts";

const commands: Command[] = [demoCommand, pretrainCommand, finetuneCommand, evalCommand, benchCommand, doctorCommand, infoCommand, forwardCommand, convertCommand, reconstructCommand, predictCommand, extractCommand];

function help(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    "videomae — VideoMAE V2 (dual masking) in TypeScript over libtorch",
    "",
    "Usage: videomae <command> [options]       videomae <command> --help for its options",
    "",
    "Commands:",
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    "Environment: VIDEOMAE_NUM_THREADS (default: all cores), LIBTORCH (build-time libtorch prefix).",
  ].join("\n");
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(help());
    return 0;
  }
  const cmd = commands.find((c) => c.name === name);
  if (!cmd) {
    console.error(`videomae: unknown command '${name}'\n\n${help()}`);
    return 2;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    console.log(cmd.help);
    return 0;
  }
  try {
    return (await cmd.run(rest)) ?? 0;
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`videomae ${cmd.name}: ${e.message}\n\n${cmd.help}`);
      return 2;
    }
    const err = e as Error;
    console.error(`videomae ${cmd.name}: ${process.env.VIDEOMAE_DEBUG ? err.stack : err.message}`);
    return 1;
  }
}
