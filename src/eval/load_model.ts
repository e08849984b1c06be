/**
 * Building a model for inference from a checkpoint, whichever kind it is:
 *  - our training checkpoints (safetensors, src/io/checkpoint.ts) carry their model config
 *    (`modelConfig`) and class names (`labels`) in their metadata: nothing else is needed;
 *  - official `.pth` files need the architecture (`--model NAME` or a config); the number of
 *    classes is read from the checkpoint's head.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { readLabelNames } from "../data/labels.ts";
import { isCheckpointFile, readCheckpointHeader } from "../io/checkpoint.ts";
import { openStateDict } from "../io/state_dict.ts";
import { createConfig, isModelName, MODEL_NAMES, type ModelConfig, type PretrainConfig, type VitConfig } from "../models/config.ts";
import { createModel, describeLoad, loadCheckpointInto, type CheckpointLoadReport } from "../models/index.ts";
import { configFromOfficialFields } from "../models/official_config.ts";
import type { PretrainVisionTransformer } from "../models/pretrain.ts";
import type { VisionTransformer } from "../models/vit.ts";
import { resolveDevice } from "../torch/index.ts";

export class ModelSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ModelSpecError";
  }
}

export interface ModelSpec {
  checkpoint: string;
  /** Registry name (required for official checkpoints unless `configFile` is given). */
  model?: string;
  /** JSON with official field names. */
  configFile?: string;
  /** Class names (one per line / JSON array) overriding the checkpoint's. */
  labelsFile?: string;
  /** Expect a pre-training model (reconstruct) or a fine-tune one (everything else). */
  kind: "vit" | "pretrain";
  /** Where to run it: "auto" (a GPU when usable), "cpu", "cuda[:N]"; default "cpu". */
  device?: string;
}

export interface LoadedModel<M> {
  model: M;
  config: M extends VisionTransformer ? VitConfig : PretrainConfig;
  labels: string[] | null;
  report: CheckpointLoadReport;
  describe(): string;
}

async function headRows(file: string): Promise<number | null> {
  const src = await openStateDict(file);
  try {
    for (const [k, t] of src.tensors) if (/(^|\.)head\.weight$/.test(k) && !k.startsWith("decoder.")) return t.shape[0]!;
    return null;
  } finally {
    await src.close();
  }
}

/** A missing or mistaken --checkpoint, said plainly (instead of a raw ENOENT from deep inside a reader). */
function checkCheckpointPath(file: string): void {
  let st;
  try {
    st = statSync(file);
  } catch {
    throw new ModelSpecError(
      `checkpoint not found: ${file}; check the --checkpoint path (a training run writes checkpoint-last.safetensors ` +
        `and checkpoint-best.safetensors into its --out folder; official weights are .pth files)`,
    );
  }
  if (st.isDirectory()) {
    const inside = ["checkpoint-best.safetensors", "checkpoint-last.safetensors"].map((n) => join(file, n)).find((p) => existsSync(p));
    throw new ModelSpecError(`--checkpoint ${file} is a folder, not a checkpoint file; give a file${inside ? `, e.g. ${inside}` : " (.safetensors or .pth)"}`);
  }
  if (!st.isFile()) throw new ModelSpecError(`--checkpoint ${file} is not a regular file (a FIFO or device); give the checkpoint file itself`);
}

export async function loadModelForInference<M extends VisionTransformer | PretrainVisionTransformer>(spec: ModelSpec): Promise<LoadedModel<M>> {
  checkCheckpointPath(spec.checkpoint);
  let cfg: ModelConfig;
  let labels: string[] | null = null;
  if (await isCheckpointFile(spec.checkpoint)) {
    // The header alone: the model config and labels, none of the weights or optimizer moments.
    const c = (await readCheckpointHeader(spec.checkpoint)).config as { modelConfig?: ModelConfig; labels?: string[] };
    if (!c.modelConfig) throw new ModelSpecError(`${spec.checkpoint}: the checkpoint's metadata has no modelConfig`);
    cfg = c.modelConfig;
    labels = c.labels ?? null;
  } else {
    if (!spec.model && !spec.configFile) {
      throw new ModelSpecError(`${spec.checkpoint} is an official checkpoint: say which architecture with --model NAME (videomae info --list) or --model-config FILE.json`);
    }
    // Official fine-tuned heads come in many sizes (710, 400, 174, …): take it from the weights.
    const rows = spec.kind === "vit" ? await headRows(spec.checkpoint) : null;
    if (spec.configFile) {
      const json = JSON.parse(readFileSync(spec.configFile, "utf8")) as Record<string, unknown>;
      if (rows !== null && json.num_classes === undefined) json.num_classes = rows;
      cfg = configFromOfficialFields(json, spec.kind === "pretrain", spec.configFile);
    } else {
      if (!isModelName(spec.model!)) throw new ModelSpecError(`unknown model '${spec.model}'; known: ${MODEL_NAMES.join(", ")}`);
      cfg = createConfig(spec.model as never, (rows !== null ? { numClasses: rows } : {}) as never);
    }
  }
  if (cfg.kind !== spec.kind) {
    throw new ModelSpecError(
      spec.kind === "pretrain"
        ? `${spec.checkpoint}: this needs a pre-training (encoder-decoder) model, got a fine-tune config`
        : `${spec.checkpoint}: this needs a fine-tuned classifier, got a pre-training config`,
    );
  }
  const device = resolveDevice(spec.device ?? "cpu"); // an unusable device fails before the load
  const model = createModel(cfg) as M;
  const report = await loadCheckpointInto(model, spec.checkpoint);
  if (spec.labelsFile) labels = readLabelNames(spec.labelsFile);
  model.eval();
  model.to(device);
  return {
    model,
    config: cfg as LoadedModel<M>["config"],
    labels,
    report,
    describe: () => describeLoad(report),
  };
}
