/**
 * Official checkpoints into our models, the way the official loaders do it (spec §6.5):
 *
 *  - the state dict is taken from `model` / `module` (else the whole dict), `_orig_mod.` (torch
 *    .compile) is stripped, and `module.` / `model.` when every key carries them;
 *  - into a fine-tune `VisionTransformer`: `encoder.` / `backbone.` are stripped, and the
 *    pre-training-only keys (`decoder.*`, `encoder_to_decoder.*`, `mask_token`, and the encoder's
 *    final `norm.*`, unused under mean pooling) are ignored; `fc_norm` and `head` may be absent
 *    (they keep their fresh initialisation). A head with another number of classes is
 *    row-gathered through a label map (710 → 400/600/700 classes) or, without a map, left fresh;
 *  - into a `PretrainVisionTransformer`: every key must match.
 *
 * Tensors are read and copied one at a time (a 4 GB giant checkpoint never sits in memory
 * whole); float16/bfloat16 weights are converted to the model's float32 on copy.
 */
import { gatherRows } from "../io/convert.ts";
import { isCheckpointFile } from "../io/checkpoint.ts";
import { openStateDict, type StateDictOptions } from "../io/state_dict.ts";
import { lazyToTensor, rawToTensor } from "../io/tensors.ts";
import { formatLoadReport, StateDictError, type LoadReport } from "../nn/module.ts";
import { noGrad } from "../torch/autograd.ts";
import type { DType } from "../torch/dtype.ts";
import { PretrainVisionTransformer } from "./pretrain.ts";
import { VisionTransformer } from "./vit.ts";

export interface LoadOptions {
  /** Fail on missing/unexpected/mis-shaped keys (default true; see the rules above). */
  strict?: boolean;
  /** For a head with other rows than the model: checkpoint row for each model class. */
  labelMap?: readonly number[];
}

export interface CheckpointLoadReport extends LoadReport {
  file: string;
  /** Keys present in the checkpoint but deliberately unused (pre-training-only parts). */
  ignored: string[];
  /** Prefixes stripped from the checkpoint's keys. */
  stripped: string[];
  /** Where the state dict was found ("model", "module", … or null for a bare dict). */
  wrapper: string | null;
  /** How the head was handled. */
  head: "loaded" | "remapped" | "fresh" | "absent";
  /** Checkpoint dtypes seen (e.g. float16 for the released fine-tuned weights). */
  dtypes: DType[];
  /** Model keys the checkpoint lacks that keep their fresh initialisation (fc_norm/head). */
  fresh: string[];
}

const PRETRAIN_ONLY = /^(decoder\.|encoder_to_decoder\.|mask_token$|norm\.)/;
/**
 * A ViT without mean pooling (the AVA detector, src/models/detection.ts) uses the encoder's final
 * `norm` and has no `fc_norm`: a pre-training checkpoint's `norm.*` loads, a mean-pooled
 * classifier's `fc_norm.*` is unused and its model then starts `norm` fresh (as the reference's
 * non-strict load does).
 */
const UNUSED_WITHOUT_MEAN_POOLING = /^(decoder\.|encoder_to_decoder\.|mask_token$|fc_norm\.)/;

export async function loadCheckpointInto(
  model: VisionTransformer | PretrainVisionTransformer,
  file: string,
  opts: LoadOptions = {},
): Promise<CheckpointLoadReport> {
  const strict = opts.strict ?? true;
  const isVit = model instanceof VisionTransformer;
  const meanPooled = isVit && model.fc_norm !== null;
  const unused = meanPooled ? PRETRAIN_ONLY : UNUSED_WITHOUT_MEAN_POOLING;
  const freshable = meanPooled ? /^(fc_norm|head)\./ : /^(norm|head)\./;
  // Our own training checkpoints keep the model under `model.` next to optimizer state.
  const ours = await isTrainingCheckpoint(file);
  const base: StateDictOptions = ours ? { stripPrefixes: ["model."], filter: (k) => !/^(optim|extra)\./.test(k) } : {};
  const probe = await openStateDict(file, base);
  const all = probe.prefixes;
  const rawKeys = [...probe.tensors.keys()];
  await probe.close();
  const strip: string[] = [];
  const every = (p: string) => (all.prefixCounts.get(p) ?? 0) === all.keyCount;
  if ((all.prefixCounts.get("_orig_mod.") ?? 0) > 0) strip.push("_orig_mod.");
  if (every("module.")) strip.push("module.");
  if (every("model.")) strip.push("model.");
  if (isVit) strip.push("encoder.", "backbone.");
  const src = await openStateDict(file, { ...base, stripPrefixes: [...(base.stripPrefixes ?? []), ...strip] });
  try {
    const own = model.stateDict();
    const report: CheckpointLoadReport = {
      file, loaded: [], missing: [], unexpected: [], mismatched: [], ignored: [],
      stripped: strippedPrefixes(rawKeys, strip),
      wrapper: src.wrapper, head: "absent", dtypes: [], fresh: [],
    };
    const dtypes = new Set<DType>();
    let headRows: number[] | null = null;
    for (const [key, t] of src.tensors) {
      dtypes.add(t.dtype);
      const target = own.get(key);
      if (!target) {
        if (isVit && unused.test(key) && !own.has(key)) report.ignored.push(key);
        else report.unexpected.push(key);
        continue;
      }
      const want = target.shape;
      const same = want.length === t.shape.length && want.every((d, i) => d === t.shape[i]);
      if (!same && isVit && (key === "head.weight" || key === "head.bias") && want.slice(1).join() === t.shape.slice(1).join()) {
        if (opts.labelMap) {
          if (opts.labelMap.length !== want[0]) {
            throw new StateDictError(report, `${file}: the label map has ${opts.labelMap.length} entries but the model has ${want[0]} classes`);
          }
          headRows = [...opts.labelMap];
          report.head = "remapped";
        } else {
          report.head = "fresh";
          report.ignored.push(key);
        }
        continue;
      }
      if (!same) report.mismatched.push({ key, expected: want, got: [...t.shape] });
    }
    for (const key of own.keys()) {
      if (src.tensors.has(key)) continue;
      // Fine-tuning from a pre-trained encoder: fc_norm and the head start fresh, as officially.
      if (isVit && freshable.test(key)) report.fresh.push(key);
      else report.missing.push(key);
    }
    report.dtypes = [...dtypes];
    if (strict && (report.missing.length || report.unexpected.length || report.mismatched.length)) {
      throw new StateDictError(report, file);
    }
    const mismatched = new Set(report.mismatched.map((m) => m.key));
    for (const [key, lazy] of src.tensors) {
      const target = own.get(key);
      if (!target || mismatched.has(key)) continue;
      if ((key === "head.weight" || key === "head.bias") && report.head === "fresh") continue;
      // A zero-stride (expanded) tensor arrives as a libtorch view of its stored part; copy_ broadcasts it.
      const t =
        headRows && (key === "head.weight" || key === "head.bias")
          ? rawToTensor(gatherRows(await lazy.read(), headRows))
          : await lazyToTensor(lazy);
      noGrad(() => target.copy_(t));
      t.dispose();
      report.loaded.push(key);
      if (key === "head.weight" && report.head === "absent") report.head = "loaded";
    }
    return report;
  } finally {
    await src.close();
  }
}

/** A checkpoint written by training (io/checkpoint.ts): model weights under `model.`, beside optimizer state. */
export const isTrainingCheckpoint = isCheckpointFile;

/** Which of `prefixes` (applied in order, each at most once) actually occur in `keys`. */
function strippedPrefixes(keys: string[], prefixes: string[]): string[] {
  const used = new Set<string>();
  for (let k of keys) {
    for (const p of prefixes) {
      if (k.startsWith(p)) {
        used.add(p);
        k = k.slice(p.length);
      }
    }
  }
  return prefixes.filter((p) => used.has(p));
}

/** One human-readable paragraph about a load. */
export function describeLoad(r: CheckpointLoadReport): string {
  const lines = [
    `${r.file}: ${r.loaded.length} tensors loaded` +
      (r.wrapper ? ` from "${r.wrapper}"` : "") +
      (r.stripped.length ? `, prefixes stripped: ${r.stripped.join(" ")}` : "") +
      ` (checkpoint dtypes: ${r.dtypes.join(", ")})`,
  ];
  if (r.ignored.length) lines.push(`  ignored (not used by this model): ${r.ignored.length} keys, e.g. ${r.ignored.slice(0, 3).join(", ")}`);
  if (r.fresh.length) lines.push(`  freshly initialised (not in the checkpoint): ${r.fresh.join(", ")}`);
  if (r.head !== "absent") lines.push(`  head: ${r.head}`);
  if (r.missing.length || r.unexpected.length || r.mismatched.length) lines.push(formatLoadReport(r));
  return lines.join("\n");
}
