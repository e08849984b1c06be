/**
 * The `videomae` command line: `videomae <command> [options]`. Each command lives in
 * src/cli/commands/ and exports a `Command`. Errors are printed without a stack trace (set
 * VIDEOMAE_DEBUG=1 for one) and give exit code 1; usage errors give 2.
 */
import type { Command } from "./command.ts";
import { UsageError } from "./command.ts";
import { COMMANDS, type CommandName } from "./command_list.ts";

/**
 * Each command's module, loaded only when run: commands that need no tensors (probe, frames,
 * synth, info, convert) then work even before the native addon is built. Keyed by the names of
 * command_list.ts, so a command without a loader (or a loader without a command) does not compile.
 */
const LOADERS: Record<CommandName, () => Promise<Command>> = {
  demo: async () => (await import("./commands/demo.ts")).demoCommand,
  pretrain: async () => (await import("./commands/train.ts")).pretrainCommand,
  finetune: async () => (await import("./commands/train.ts")).finetuneCommand,
  distill: async () => (await import("./commands/distill.ts")).distillCommand,
  eval: async () => (await import("./commands/eval.ts")).evalCommand,
  predict: async () => (await import("./commands/predict.ts")).predictCommand,
  "detect-train": async () => (await import("./commands/detect.ts")).detectTrainCommand,
  "detect-eval": async () => (await import("./commands/detect.ts")).detectEvalCommand,
  detect: async () => (await import("./commands/detect.ts")).detectCommand,
  "detect-synth": async () => (await import("./commands/detect.ts")).detectSynthCommand,
  extract: async () => (await import("./commands/extract.ts")).extractCommand,
  export: async () => (await import("./commands/export.ts")).exportCommand,
  web: async () => (await import("./commands/web.ts")).webCommand,
  reconstruct: async () => (await import("./commands/reconstruct.ts")).reconstructCommand,
  info: async () => (await import("./commands/info.ts")).infoCommand,
  forward: async () => (await import("./commands/forward.ts")).forwardCommand,
  convert: async () => (await import("./commands/convert.ts")).convertCommand,
  probe: async () => (await import("./commands/probe.ts")).probeCommand,
  frames: async () => (await import("./commands/frames.ts")).framesCommand,
  synth: async () => (await import("./commands/synth.ts")).synthCommand,
  launch: async () => (await import("./commands/launch.ts")).launchCommand,
  bench: async () => (await import("./commands/bench.ts")).benchCommand,
  doctor: async () => (await import("./commands/doctor.ts")).doctorCommand,
};

/**
 * Commands that run models on the CPU: before them, the kernel choices of this machine are read
 * from the tuner's cache or measured once (src/torch/tune.ts, < 5 s). Data-parallel ranks only
 * read the cache: `launch` tunes before it starts them, so all ranks run the same kernels.
 */
const TUNED: ReadonlySet<CommandName> = new Set<CommandName>([
  "demo", "pretrain", "finetune", "distill", "eval", "predict", "detect-train", "detect-eval", "detect", "extract", "reconstruct", "forward", "launch", "bench",
]);

async function prepareKernels(): Promise<void> {
  const { ensureKernelChoices } = await import("../torch/tune.ts");
  ensureKernelChoices({ cacheOnly: process.env.LOCAL_RANK !== undefined, log: (s) => process.stderr.write(`videomae: ${s}\n`) });
}

/** A command by name (undefined: there is none). */
export async function loadCommand(name: string): Promise<Command | undefined> {
  return name in LOADERS ? LOADERS[name as CommandName]() : undefined;
}

function help(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    "videomae — VideoMAE V2 (dual masking) in TypeScript over libtorch",
    "",
    "Usage: videomae <command> [options]       videomae <command> --help for its options",
    "",
    "Commands:",
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    "Environment: VIDEOMAE_NUM_THREADS (default: all cores, or the kernel tuner's choice), LIBTORCH (build-time libtorch prefix),",
    "  VIDEOMAE_TUNE=0 (no kernel tuning: static defaults; `videomae doctor --tune` re-measures), VIDEOMAE_BF16_LINEAR, VIDEOMAE_ATTN_ISA/_GEMM/_BF16 (fix one kernel choice),",
    "  RANK/WORLD_SIZE/MASTER_ADDR/MASTER_PORT (data-parallel, as set by `videomae launch` or torchrun), VIDEOMAE_DIST_TIMEOUT (s).",
  ].join("\n");
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(help());
    return 0;
  }
  const entry = COMMANDS.find((c) => c.name === name);
  if (!entry) {
    console.error(`videomae: unknown command '${name}'\n\n${help()}`);
    return 2;
  }
  const cmd = await LOADERS[entry.name]();
  const own = rest.includes("--") ? rest.slice(0, rest.indexOf("--")) : rest; // after --: another command's arguments
  if (own.includes("--help") || own.includes("-h")) {
    console.log(cmd.help);
    return 0;
  }
  try {
    if (TUNED.has(entry.name)) await prepareKernels();
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
