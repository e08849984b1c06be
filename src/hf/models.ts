/**
 * The Hugging Face shape of the models, so code written against `transformers` moves over:
 *
 *   transformers (Python)                              videomae (TypeScript)
 *   VideoMAEForVideoClassification.from_pretrained(d)  await VideoMAEForVideoClassification.fromPretrained(d)
 *   model(pixel_values).logits                         model.forward(pixelValues).logits
 *   model.config.id2label[i]                           model.id2label[i]
 *   model.save_pretrained(d)                           await model.savePretrained(d)
 *
 * `fromPretrained` reads, by what `pathOrDir` is:
 *  - a folder in the `transformers` layout: `config.json` (model_type "videomae") with
 *    `model.safetensors` or `pytorch_model.bin`, keys as in HF's modeling_videomae.py
 *    (models/hf_layout.ts);
 *  - a folder of the Hub's encoder-only VideoMAE V2 weights (`config.json` with a `model_config`
 *    of official field names, `model.safetensors` with `model.`-prefixed official keys);
 *  - a file: our checkpoint (`.safetensors` written by training, config and labels inside) or
 *    official weights (`.pth`, or `.safetensors` with official keys), the latter with
 *    `{ model: "vit_base_patch16_224" }` or `{ configFile }` saying the architecture.
 * `savePretrained(dir)` writes the `transformers` layout: `config.json`, `model.safetensors`,
 * `preprocessor_config.json`.
 *
 * Inputs follow transformers: `pixelValues` is (B, T, C, H, W), normalised (see
 * `VideoMAEImageProcessor`); our models take (B, C, T, H, W) and the permute happens here.
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadModelForInference } from "../eval/load_model.ts";
import { openStateDict } from "../io/state_dict.ts";
import { lazyToTensor, tensorToRaw } from "../io/tensors.ts";
import { writeSafetensors } from "../io/safetensors.ts";
import type { RawTensor } from "../io/raw.ts";
import { ConfigError, type ModelConfig, type VitConfig } from "../models/config.ts";
import { configFromHf, hfConfigFrom, hfFromOfficial, labelsFromHfConfig, officialFromHf, withVideomaePrefix } from "../models/hf_layout.ts";
import { createModel } from "../models/index.ts";
import { describeLoad, loadCheckpointInto } from "../models/load.ts";
import { configFromOfficialFields } from "../models/official_config.ts";
import { PretrainVisionTransformer } from "../models/pretrain.ts";
import { VisionTransformer } from "../models/vit.ts";
import { formatLoadReport, StateDictError } from "../nn/module.ts";
import { cat, noGrad, tidy, type Tensor } from "../torch/index.ts";
import { processorConfigFor } from "./processor.ts";

export interface FromPretrainedOptions {
  /** Registry name for official weights without a config (`videomae info --list`). */
  model?: string;
  /** JSON with official field names, instead of `model`. */
  configFile?: string;
  /** Fail on missing, unexpected or mis-shaped keys (default true; a fresh fc_norm/head is allowed, as in transformers). */
  strict?: boolean;
}

type Backbone = VisionTransformer | PretrainVisionTransformer;

interface Loaded<M extends Backbone> {
  model: M;
  labels: string[] | null;
  /** What happened, one paragraph (tensors loaded, ignored, freshly initialised). */
  report: string;
}

/** What every model class shares: the wrapped libtorch module, its labels, saving, freeing. */
abstract class VideoMAEPreTrainedModel<M extends Backbone> {
  /** The transformers class name written to `config.json`'s `architectures`. */
  abstract readonly architecture: string;

  protected constructor(
    /** The underlying model (our `VisionTransformer` / `PretrainVisionTransformer`). */
    readonly model: M,
    /** Class names in id order (from the checkpoint), or null. */
    readonly labels: string[] | null,
    /** How the weights were loaded (see `describeLoad`). */
    readonly loadReport: string,
  ) {
    model.eval();
  }

  get config(): M["config"] {
    return this.model.config;
  }

  /**
   * Writes `dir/config.json`, `dir/model.safetensors` (keys as transformers names them) and
   * `dir/preprocessor_config.json`: the folder `fromPretrained` (ours, or transformers') reads.
   */
  async savePretrained(dir: string): Promise<void> {
    mkdirSync(dir, { recursive: true });
    const bare = this.architecture === "VideoMAEModel";
    const tensors = new Map<string, RawTensor>();
    for (const [key, t] of this.model.stateDict()) {
      if (bare && !isEncoderKey(key)) continue;
      const names = hfFromOfficial(key, { bare });
      if (names.length === 1) tensors.set(names[0]!, tensorToRaw(t));
      else tidy(() => t.chunk(3, 0).forEach((part, i) => tensors.set(names[i]!, tensorToRaw(part.contiguous()))));
    }
    await writeSafetensors(join(dir, "model.safetensors"), tensors, { metadata: { format: "pt" } });
    const config = hfConfigFrom(this.config as ModelConfig, this.architecture, this.labels);
    writeFileSync(join(dir, "config.json"), JSON.stringify(config, null, 2) + "\n");
    writeFileSync(join(dir, "preprocessor_config.json"), JSON.stringify(processorConfigFor(this.config as ModelConfig), null, 2) + "\n");
  }

  /** Frees the weights (libtorch memory). */
  dispose(): void {
    this.model.dispose();
  }
}

/** (B, T, C, H, W) → (B, C, T, H, W), checking the rank. */
function toChannelsFirst(pixelValues: Tensor): Tensor {
  if (pixelValues.shape.length !== 5) {
    throw new ConfigError(`pixelValues must be (batch, frames, channels, height, width), got shape [${pixelValues.shape.join(", ")}]`);
  }
  return pixelValues.permute([0, 2, 1, 3, 4]);
}

/**
 * A video classifier (VideoMAE / V2 fine-tuned): mean-pooled tokens → fc_norm → classifier.
 *
 * @example
 *   import { VideoMAEForVideoClassification, VideoMAEImageProcessor, torch, video } from "videomae";
 *   const model = await VideoMAEForVideoClassification.fromPretrained("runs/demo/hf");  // a transformers folder
 *   const processor = VideoMAEImageProcessor.fromPretrained("runs/demo/hf");
 *   const reader = video.createVideoReader();
 *   const clip = await reader.readFrames("clip.mp4", [0, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48, 52, 56, 60]); // uint8 RGB (T, H, W, 3)
 *   const { logits } = torch.noGrad(() => model.forward(processor.preprocess(clip).pixelValues));
 *   logits.shape;                                      // [1, numClasses]
 *   model.id2label[logits.argmax(1).item()];           // e.g. "move_left" (the demo model)
 */
export class VideoMAEForVideoClassification extends VideoMAEPreTrainedModel<VisionTransformer> {
  readonly architecture = "VideoMAEForVideoClassification";

  /** Loads a classifier (see the module comment for the layouts `pathOrDir` may hold). */
  static async fromPretrained(pathOrDir: string, options: FromPretrainedOptions = {}): Promise<VideoMAEForVideoClassification> {
    const r = await loadPretrained(pathOrDir, "classifier", options);
    return new VideoMAEForVideoClassification(r.model, r.labels, r.report);
  }

  /** Wraps a model built or trained in this library. */
  static fromModel(model: VisionTransformer, labels: string[] | null = null): VideoMAEForVideoClassification {
    return new VideoMAEForVideoClassification(model, labels, "built in memory");
  }

  /** Class name of each logit (`LABEL_i` when the checkpoint names none), as transformers' `config.id2label`. */
  get id2label(): string[] {
    return this.labels ?? Array.from({ length: this.config.numClasses }, (_, i) => `LABEL_${i}`);
  }

  /** `pixelValues` (B, T, C, H, W) → `{ logits }` [B, numClasses]. */
  forward(pixelValues: Tensor): { logits: Tensor } {
    return { logits: tidy(() => this.model.forward(toChannelsFirst(pixelValues))) };
  }
}

/**
 * The bare encoder: token features and the pooled clip feature (no classifier).
 *
 * @example
 *   const encoder = await VideoMAEModel.fromPretrained("OpenGVLab-VideoMAEv2-Base");  // a Hub V2 folder, or any classifier's
 *   const pixelValues = torch.randn([1, 16, 3, 224, 224]);   // (B, T, C, H, W), normalised
 *   const { lastHiddenState, pooledOutput } = torch.noGrad(() => encoder.forward(pixelValues));
 *   lastHiddenState.shape;   // [1, 1568, 768]  (N = 16/2 · (224/16)²)
 *   pooledOutput.shape;      // [1, 768]        (fc_norm of the token mean)
 */
export class VideoMAEModel extends VideoMAEPreTrainedModel<VisionTransformer> {
  readonly architecture = "VideoMAEModel";

  static async fromPretrained(pathOrDir: string, options: FromPretrainedOptions = {}): Promise<VideoMAEModel> {
    const r = await loadPretrained(pathOrDir, "encoder", options);
    return new VideoMAEModel(r.model, r.labels, r.report);
  }

  /**
   * `pixelValues` (B, T, C, H, W) → `lastHiddenState` [B, N, D] (after the final LayerNorm when
   * the model does not mean-pool, as transformers) and `pooledOutput` [B, D] (the feature the
   * classifier and `featureExtraction` use).
   */
  forward(pixelValues: Tensor): { lastHiddenState: Tensor; pooledOutput: Tensor } {
    return tidy(() => {
      const x = toChannelsFirst(pixelValues);
      const tokens = this.model.forwardTokens(x); // [B, N, D]
      const lastHiddenState = this.model.norm ? this.model.norm.forward(tokens) : tokens;
      const pooledOutput = this.model.fc_norm ? this.model.fc_norm.forward(tokens.mean(1)) : lastHiddenState.select(1, 0);
      return { lastHiddenState, pooledOutput };
    });
  }
}

/**
 * The masked autoencoder: encoder over the visible tokens, decoder predicting the masked ones.
 *
 * @example
 *   const mae = await VideoMAEForPreTraining.fromPretrained("MCG-NJU-videomae-base");  // a transformers folder
 *   const masked = new Uint8Array(mae.numTokens).fill(1, 0, 1411);   // 1 = masked (transformers' bool_masked_pos), 90 % of 1568
 *   const { logits } = torch.noGrad(() => mae.forward(torch.randn([1, 16, 3, 224, 224]), masked));
 *   logits.shape;   // [1, 1411, 1536]  (3 · tubelet 2 · 16² pixels per masked token)
 */
export class VideoMAEForPreTraining extends VideoMAEPreTrainedModel<PretrainVisionTransformer> {
  readonly architecture = "VideoMAEForPreTraining";

  static async fromPretrained(pathOrDir: string, options: FromPretrainedOptions = {}): Promise<VideoMAEForPreTraining> {
    const r = await loadPretrained(pathOrDir, "pretraining", options);
    return new VideoMAEForPreTraining(r.model, r.labels, r.report);
  }

  /** Tokens per clip, N = (T/tubelet)·(H/p)·(W/p). */
  get numTokens(): number {
    return this.model.numTokens;
  }

  /**
   * `pixelValues` (B, T, C, H, W) and `boolMaskedPos` (B·N entries, 1 = masked) → `logits`:
   * the predicted (normalised) pixels of the masked tokens in token order, [B, N_masked, 3·tubelet·p²].
   */
  forward(pixelValues: Tensor, boolMaskedPos: Uint8Array): { logits: Tensor } {
    return { logits: tidy(() => this.model.forward(toChannelsFirst(pixelValues), boolMaskedPos)) };
  }
}

// ---------------------------------------------------------------------------------------------
// Loading

type Task = "classifier" | "encoder" | "pretraining";

function isEncoderKey(key: string): boolean {
  return /^(patch_embed|blocks|norm|fc_norm)\./.test(key);
}

async function loadPretrained<T extends Task>(pathOrDir: string, task: T, o: FromPretrainedOptions): Promise<Loaded<T extends "pretraining" ? PretrainVisionTransformer : VisionTransformer>> {
  const kind = task === "pretraining" ? "pretrain" : "vit";
  if (existsSync(pathOrDir) && statSync(pathOrDir).isDirectory()) {
    return (await loadFolder(pathOrDir, task, o)) as never;
  }
  const loaded = await loadModelForInference<Backbone>({ checkpoint: pathOrDir, model: o.model, configFile: o.configFile, kind });
  return { model: loaded.model, labels: loaded.labels, report: loaded.describe() } as never;
}

function weightsIn(dir: string): string {
  for (const name of ["model.safetensors", "pytorch_model.bin"]) if (existsSync(join(dir, name))) return join(dir, name);
  throw new ConfigError(`${dir}: no model.safetensors or pytorch_model.bin beside config.json`);
}

async function loadFolder(dir: string, task: Task, o: FromPretrainedOptions): Promise<Loaded<Backbone>> {
  const configPath = join(dir, "config.json");
  if (!existsSync(configPath)) throw new ConfigError(`${dir}: no config.json (a transformers model folder has config.json + model.safetensors)`);
  const json = JSON.parse(readFileSync(configPath, "utf8")) as Record<string, unknown>;
  const weights = weightsIn(dir);
  if (json.model_type === "videomae") return loadHfFolder(json, weights, task, o, configPath);
  if (typeof json.model_config === "object" && json.model_config !== null) return loadV2HubFolder(json.model_config as Record<string, unknown>, weights, task, o, configPath);
  throw new ConfigError(`${configPath}: model_type "${String(json.model_type)}" is not a VideoMAE config (expected "videomae", or a "model_config" of official fields)`);
}

/** transformers' layout: HF config and key names. */
async function loadHfFolder(json: Record<string, unknown>, file: string, task: Task, o: FromPretrainedOptions, configPath: string): Promise<Loaded<Backbone>> {
  const src = await openStateDict(file);
  try {
    const original = withVideomaePrefix(src.tensors.keys());
    const kind = task === "pretraining" ? "pretrain" : "vit";
    const classifierRows = src.tensors.get("classifier.weight")?.shape[0];
    const numClasses = task === "classifier" ? (classifierRows ?? Object.keys((json.id2label as object | undefined) ?? {}).length) : 0;
    if (task === "classifier" && numClasses === 0) throw new ConfigError(`${configPath}: no classifier in the weights and no id2label: cannot tell the number of classes`);
    const cfg = configFromHf(json, kind, numClasses, configPath);
    const model = createModel(cfg);
    const { sources, unknown } = officialFromHf(original.keys(), kind);
    const own = model.stateDict();
    const ignored: string[] = [];
    const given = new Map<string, Tensor>();
    try {
      for (const [name, source] of sources) {
        if (!own.has(name)) {
          ignored.push(name);
          continue;
        }
        const read = (hfKey: string) => {
          const lazy = src.tensors.get(original.get(hfKey)!);
          if (!lazy) throw new ConfigError(`${file}: ${hfKey} is missing (needed for ${name})`);
          return lazyToTensor(lazy);
        };
        if (source.kind === "same") given.set(name, await read(source.key));
        else {
          const parts = await Promise.all(source.keys.map(read));
          given.set(name, cat(parts, 0));
          for (const p of parts) p.dispose();
        }
      }
      const report = noGrad(() => model.loadStateDict(given, { strict: false }));
      // As transformers: a classifier head (and fc_norm) absent from the checkpoint starts fresh.
      const fresh = report.missing.filter((k) => /^(fc_norm|head)\./.test(k));
      const missing = report.missing.filter((k) => !fresh.includes(k));
      const unexpected = [...unknown.map((k) => original.get(k)!)];
      if ((o.strict ?? true) && (missing.length || unexpected.length || report.mismatched.length)) {
        model.dispose();
        throw new StateDictError({ ...report, missing, unexpected }, file);
      }
      const lines = [`${file}: ${report.loaded.length} tensors loaded (transformers layout)`];
      if (ignored.length) lines.push(`  ignored (not used by this model): ${ignored.length} keys, e.g. ${ignored.slice(0, 3).join(", ")}`);
      if (fresh.length) lines.push(`  freshly initialised (not in the checkpoint): ${fresh.join(", ")}`);
      if (missing.length || unexpected.length || report.mismatched.length) lines.push(formatLoadReport({ ...report, missing, unexpected }));
      return { model, labels: task === "classifier" ? labelsFromHfConfig(json as { id2label?: Record<string, string> }) : null, report: lines.join("\n") };
    } finally {
      for (const t of given.values()) t.dispose();
    }
  } finally {
    await src.close();
  }
}

/** The Hub's VideoMAE V2 weights (remote-code repos): official fields under `model_config`, official keys under `model.`. */
async function loadV2HubFolder(fields: Record<string, unknown>, file: string, task: Task, o: FromPretrainedOptions, configPath: string): Promise<Loaded<Backbone>> {
  if (task === "pretraining") throw new ConfigError(`${configPath}: the V2 Hub weights are encoder-only; load them with VideoMAEModel or VideoMAEForVideoClassification`);
  const KNOWN = ["img_size", "patch_size", "in_chans", "num_frames", "tubelet_size", "embed_dim", "depth", "num_heads", "mlp_ratio", "num_classes", "use_mean_pooling"];
  // The remaining constructor fields must hold the values every released model uses.
  const EXPECTED: Record<string, unknown> = { init_values: 0, cos_attn: false, use_learnable_pos_emb: false, qk_scale: null };
  for (const [k, v] of Object.entries(EXPECTED)) {
    if (k in fields && fields[k] !== v && !(v === 0 && fields[k] === 0.0)) throw new ConfigError(`${configPath}: model_config.${k} = ${JSON.stringify(fields[k])} is not supported`);
  }
  const official = Object.fromEntries(Object.entries(fields).filter(([k]) => KNOWN.includes(k)));
  const cfg = configFromOfficialFields({ model: "vit_base_patch16_224", ...official }, false, configPath) as VitConfig;
  const overrides: Record<string, unknown> = { dropPathRate: 0 };
  if (typeof fields.qkv_bias === "boolean") overrides.qkvBias = fields.qkv_bias;
  if (typeof fields.layer_norm_eps === "number") overrides.layerNormEps = fields.layer_norm_eps;
  const model = createModel(cfg, overrides);
  const report = await loadCheckpointInto(model, file, { strict: o.strict ?? true });
  return { model, labels: null, report: describeLoad(report) };
}

