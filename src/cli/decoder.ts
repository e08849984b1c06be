/**
 * The video reader chosen by `--decoder libav|ffmpeg-cli` (options/groups.ts: decoderOption),
 * shared by the commands that read videos. The choice becomes this process's default reader
 * (VIDEOMAE_DECODER), which the data loader's worker threads and `launch`ed ranks inherit.
 */
import { libavAvailable, libavUnavailableReason, type DecoderName } from "../video/index.ts";
import { UsageError } from "./usage_error.ts";

/** Makes a --decoder value (checked by the schema) the default reader of this process (undefined: keep the default). */
export function useDecoder(value: DecoderName | string | undefined): void {
  if (value === undefined) return;
  if (value === "libav" && !libavAvailable()) throw new UsageError(`--decoder libav is not available: ${libavUnavailableReason()}`);
  process.env.VIDEOMAE_DECODER = value;
}
