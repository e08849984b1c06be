/**
 * `--decoder libav|ffmpeg-cli`, shared by the commands that read videos (pretrain, finetune,
 * eval, predict, extract, frames, probe). The choice becomes this process's default reader
 * (VIDEOMAE_DECODER), which the data loader's worker threads and `launch`ed ranks inherit.
 */
import { DECODERS, isDecoderName, libavAvailable, libavUnavailableReason } from "../video/index.ts";
import { UsageError } from "./command.ts";

export const DECODER_HELP = `  --decoder NAME   video decoder: libav (in-process, FFmpeg's libraries; the default when the
                   addon was built with them) or ffmpeg-cli (one ffmpeg/ffprobe process per read)`;

export const decoderOption = { decoder: { type: "string" } } as const;

/** Validates a --decoder value and makes it the default reader of this process (undefined: keep the default). */
export function useDecoder(value: string | undefined): void {
  if (value === undefined) return;
  if (!isDecoderName(value)) throw new UsageError(`--decoder must be one of ${DECODERS.join(", ")}, got '${value}'`);
  if (value === "libav" && !libavAvailable()) throw new UsageError(`--decoder libav is not available: ${libavUnavailableReason()}`);
  process.env.VIDEOMAE_DECODER = value;
}

/** Takes `--decoder NAME` / `--decoder=NAME` out of argv (for commands parsing the rest themselves) and applies it. */
export function takeDecoder(argv: string[]): string[] {
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") {
      rest.push(...argv.slice(i));
      break;
    }
    if (a === "--decoder") {
      if (i + 1 >= argv.length) throw new UsageError("--decoder needs a value (libav or ffmpeg-cli)");
      useDecoder(argv[++i]);
    } else if (a.startsWith("--decoder=")) useDecoder(a.slice("--decoder=".length));
    else rest.push(a);
  }
  return rest;
}
