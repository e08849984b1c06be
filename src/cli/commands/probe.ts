/**
 * `videomae probe VIDEO [--json]`: what the video reader sees in a file — displayed size, frame
 * rate, frame count (the valid frame indices are 0..frames−1), duration, rotation and codec.
 */
import { createVideoReader, type VideoInfo } from "../../video/index.ts";
import { assertFile } from "../../video/probe.ts";
import { defineCommand, UsageError } from "../command.ts";
import { useDecoder } from "../decoder.ts";
import { decoderOption, jsonOutputOption } from "../options/groups.ts";

export const probeCommand = defineCommand({
  name: "probe",
  usage: "VIDEO [--json]",
  description: `Probes the video with the same reader the data loaders use and prints what they will see: the
displayed size (after rotation metadata is applied), frames per second, the number of frames
(valid frame indices are 0..frames-1), duration, rotation and codec. With the in-process decoder
(libav) the frame count is the number of frames the decoder really outputs (the whole video is
decoded once); with ffmpeg-cli it is the container's count, as ffprobe reports it.`,
  options: { ...jsonOutputOption("one object: path, width, height, fps, frameCount, durationSec, rotation, codec"), ...decoderOption },
  operands: true,
  epilogue: `Example:
  videomae probe clip.mp4
  videomae probe clip.mp4 --json`,
  async run(values, positionals) {
    useDecoder(values.decoder);
    if (positionals.length !== 1) throw new UsageError(`expected one VIDEO, got ${positionals.length === 0 ? "none" : positionals.join(" ")}`);
    const path = positionals[0]!;
    await assertFile(path, "check the path on the command line");
    const reader = createVideoReader({ exactFrameCount: true });
    const full = await reader.probe(path);
    // Only the VideoInfo fields: the reader's seek internals are not part of the stable output.
    const info: VideoInfo = {
      path: full.path,
      width: full.width,
      height: full.height,
      fps: full.fps,
      frameCount: full.frameCount,
      durationSec: full.durationSec,
      rotation: full.rotation,
      codec: full.codec,
    };
    if (values.json) {
      console.log(JSON.stringify(info));
      return 0;
    }
    const rows: [string, string][] = [
      ["path", info.path],
      ["size", `${info.width}×${info.height} (width×height)`],
      ["fps", `${Number(info.fps.toFixed(3))}`],
      ["frames", `${info.frameCount} (indices 0..${info.frameCount - 1})`],
      ["duration", `${Number(info.durationSec.toFixed(3))} s`],
      ["rotation", `${info.rotation}°`],
      ["codec", info.codec],
    ];
    for (const [k, v] of rows) console.log(`${k.padEnd(9)} ${v}`);
    return 0;
  },
});
