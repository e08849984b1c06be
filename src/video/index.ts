/** Video decoding behind the VideoReader interface: in-process (FFmpeg libraries) or through the ffmpeg/ffprobe programs. */
export type { Clip, ResizeSpec, VideoInfo, VideoReader, WindowClip, WindowOptions } from "./reader.ts";
export { frameView, resolveOutputSize } from "./reader.ts";
export { FfmpegReader, type FfmpegReaderOptions } from "./ffmpeg-reader.ts";
export { CachedReader } from "./cached-reader.ts";
export { FrameFolderReader, parseFrameTemplate, type FrameFolderReaderOptions, type FrameTemplate } from "./frame-folder.ts";
export { ensureFfmpeg, type FfmpegCaps, type FfmpegPaths } from "./ffmpeg.ts";
export { parseProbe, probeVideo, type FfmpegVideoInfo } from "./probe.ts";
export { FfmpegNotFoundError, FrameIndexError, VideoDecodeError, VideoError, VideoFileNotFoundError } from "./errors.ts";
export { LibavReader, libavAvailable, libavUnavailableReason, type LibavReaderOptions } from "./libav-reader.ts";
export { createVideoReader, defaultDecoder, isDecoderName, DECODERS, type DecoderName, type VideoReaderOptions } from "./select.ts";
