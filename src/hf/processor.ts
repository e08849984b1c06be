/**
 * `VideoMAEImageProcessor`, the shape of transformers' processor: decoded RGB frames in, the
 * model's `pixelValues` out — shortest edge resized to `size.shortestEdge`, centre crop to
 * `cropSize`, /255, normalised with `imageMean` / `imageStd` — laid out (B, T, C, H, W) as
 * transformers does. The numbers come from a `preprocessor_config.json` (transformers' field
 * names) or from a model config (its input size; ImageNet mean/std, the normalisation every
 * VideoMAE / V2 model was trained with). The resize and crop are the evaluation transform of
 * training (data/transforms, OpenCV-style bilinear), so a clip is prepared exactly as `eval` does.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { evalTransform } from "../data/transforms/presets.ts";
import { IMAGENET_MEAN, IMAGENET_STD } from "../data/transforms/normalize.ts";
import { ConfigError, type ModelConfig } from "../models/config.ts";
import { stack, tensor, tidy, type Tensor } from "../torch/index.ts";
import { Rng } from "../util/rng.ts";
import type { Clip } from "../video/reader.ts";

/** transformers' `preprocessor_config.json` fields that matter here. */
export interface PreprocessorConfig {
  image_processor_type: "VideoMAEImageProcessor";
  do_resize: boolean;
  size: { shortest_edge: number };
  do_center_crop: boolean;
  crop_size: { height: number; width: number };
  do_rescale: boolean;
  rescale_factor: number;
  do_normalize: boolean;
  image_mean: number[];
  image_std: number[];
  resample: number;
}

export interface ProcessorOptions {
  /** Resize so the shorter side is this long (pixels). */
  shortestEdge: number;
  /** Square centre crop side (pixels). */
  cropSize: number;
  imageMean: readonly number[];
  imageStd: readonly number[];
}

/** The `preprocessor_config.json` for a model config: its input size, ImageNet mean/std. */
export function processorConfigFor(cfg: ModelConfig): PreprocessorConfig {
  const size = cfg.kind === "vit" ? cfg.imgSize : cfg.encoder.imgSize;
  return {
    image_processor_type: "VideoMAEImageProcessor",
    do_resize: true,
    size: { shortest_edge: size },
    do_center_crop: true,
    crop_size: { height: size, width: size },
    do_rescale: true,
    rescale_factor: 1 / 255,
    do_normalize: true,
    image_mean: [...IMAGENET_MEAN],
    image_std: [...IMAGENET_STD],
    resample: 2,
  };
}

export class ProcessorConfigError extends ConfigError {
  override name = "ProcessorConfigError";
}

/**
 * Frames → `pixelValues`.
 *
 * @example
 *   import { VideoMAEImageProcessor } from "videomae";
 *   const processor = VideoMAEImageProcessor.fromPretrained("runs/hf-model"); // reads preprocessor_config.json
 *   const clip = { data: new Uint8Array(16 * 240 * 320 * 3), frames: 16, height: 240, width: 320 };
 *   processor.preprocess(clip).pixelValues.shape;   // [1, 16, 3, 224, 224]
 */
export class VideoMAEImageProcessor {
  readonly options: ProcessorOptions;

  constructor(options: ProcessorOptions) {
    if (options.imageMean.length !== 3 || options.imageStd.length !== 3) throw new ProcessorConfigError("imageMean and imageStd need one value per RGB channel");
    if (options.cropSize > options.shortestEdge) throw new ProcessorConfigError(`cropSize ${options.cropSize} is larger than shortestEdge ${options.shortestEdge}`);
    this.options = options;
  }

  /** From transformers' `preprocessor_config.json` fields. */
  static fromDict(c: Partial<PreprocessorConfig>, source = "preprocessor config"): VideoMAEImageProcessor {
    if (c.do_resize === false || c.do_center_crop === false || c.do_rescale === false || (c.rescale_factor !== undefined && Math.abs(c.rescale_factor - 1 / 255) > 1e-12)) {
      throw new ProcessorConfigError(`${source}: only resize + centre crop + /255 rescaling is supported (as every VideoMAE checkpoint uses)`);
    }
    const crop = c.crop_size ?? { height: 224, width: 224 };
    if (crop.height !== crop.width) throw new ProcessorConfigError(`${source}: crop_size must be square, got ${crop.height}×${crop.width}`);
    const normalize = c.do_normalize !== false;
    return new VideoMAEImageProcessor({
      shortestEdge: c.size?.shortest_edge ?? crop.height,
      cropSize: crop.height,
      imageMean: normalize ? (c.image_mean ?? [...IMAGENET_MEAN]) : [0, 0, 0],
      imageStd: normalize ? (c.image_std ?? [...IMAGENET_STD]) : [1, 1, 1],
    });
  }

  /** From a model folder's `preprocessor_config.json`. */
  static fromPretrained(dir: string): VideoMAEImageProcessor {
    const file = join(dir, "preprocessor_config.json");
    if (!existsSync(file)) throw new ProcessorConfigError(`${dir}: no preprocessor_config.json; use VideoMAEImageProcessor.fromConfig(model.config)`);
    return VideoMAEImageProcessor.fromDict(JSON.parse(readFileSync(file, "utf8")) as Partial<PreprocessorConfig>, file);
  }

  /** For a model config: its input size, ImageNet mean/std. */
  static fromConfig(cfg: ModelConfig): VideoMAEImageProcessor {
    return VideoMAEImageProcessor.fromDict(processorConfigFor(cfg));
  }

  /** One clip or a batch of clips (uint8 RGB, (T, H, W, 3) each, same T) → `pixelValues` (B, T, C, crop, crop). */
  preprocess(clips: Clip | readonly Clip[]): { pixelValues: Tensor } {
    const list = Array.isArray(clips) ? (clips as readonly Clip[]) : [clips as Clip];
    const transform = evalTransform(this.options.cropSize, {
      shortSide: this.options.shortestEdge,
      norm: { mean: this.options.imageMean, std: this.options.imageStd },
    });
    return {
      pixelValues: tidy(() =>
        stack(
          list.map((clip) => {
            const x = transform(clip, new Rng(0)); // (C, T, H, W)
            return tensor(x.data, { shape: [x.channels, x.frames, x.height, x.width] }).permute([1, 0, 2, 3]); // (T, C, H, W)
          }),
          0,
        ).contiguous(),
      ),
    };
  }
}
