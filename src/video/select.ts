/**
 * Which reader decodes video files: the in-process decoder (LibavReader, FFmpeg's libraries in
 * our addon; the default when the addon was built with them) or the ffmpeg/ffprobe programs
 * (FfmpegReader, `--decoder ffmpeg-cli`). VIDEOMAE_DECODER=libav|ffmpeg-cli changes the default;
 * VIDEOMAE_DECODE_THREADS sets the in-process decoder's threads per open video (default 1: the
 * loader's workers already decode several videos at once; 0 lets libavcodec choose).
 */
import { VideoError } from "./errors.ts";
import { FfmpegReader, type FfmpegReaderOptions } from "./ffmpeg-reader.ts";
import { libavAvailable, libavUnavailableReason, LibavReader, type LibavReaderOptions } from "./libav-reader.ts";

export const DECODERS = ["libav", "ffmpeg-cli"] as const;
export type DecoderName = (typeof DECODERS)[number];

export interface VideoReaderOptions extends FfmpegReaderOptions, LibavReaderOptions {
  /** Default: defaultDecoder(). */
  decoder?: DecoderName;
}

export function isDecoderName(s: string): s is DecoderName {
  return (DECODERS as readonly string[]).includes(s);
}

/** VIDEOMAE_DECODER if set, else libav when this build has it, else ffmpeg-cli. */
export function defaultDecoder(): DecoderName {
  const env = process.env.VIDEOMAE_DECODER;
  if (env) {
    if (!isDecoderName(env)) throw new VideoError(`VIDEOMAE_DECODER must be one of ${DECODERS.join(", ")}, got '${env}'`);
    return env;
  }
  return libavAvailable() ? "libav" : "ffmpeg-cli";
}

/** A reader for video files (probe values and frames are the same whichever decoder is chosen). */
export function createVideoReader(o: VideoReaderOptions = {}): FfmpegReader | LibavReader {
  const decoder = o.decoder ?? defaultDecoder();
  if (decoder === "ffmpeg-cli") return new FfmpegReader(o);
  if (!libavAvailable()) throw new VideoError(`--decoder libav is not available: ${libavUnavailableReason()}; use --decoder ffmpeg-cli`);
  const env = process.env.VIDEOMAE_DECODE_THREADS;
  const threads = o.threads ?? (env !== undefined && /^\d+$/.test(env) ? Number(env) : undefined);
  return new LibavReader({ ...o, ...(threads !== undefined ? { threads } : {}) });
}
