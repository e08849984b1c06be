/**
 * Knowledge distillation: a student ViT learns to match a teacher's predictions (logit
 * distillation, as the released VideoMAE V2 ViT-S/ViT-B students were made from ViT-g, spec §5.5),
 * with the fine-tuning recipe around it — the same data pipeline and augmentation (the teacher
 * sees exactly the student's augmented clip), layer-wise lr decay, drop path, warm-up + cosine,
 * mixup/cutmix (the teacher's soft targets mixed like the labels), per-epoch validation,
 * checkpoints, exact resume and data-parallel training.
 *
 * The teacher (any size, any checkpoint eval/predict load) runs in eval mode without gradients,
 * optionally under bf16 autocast, as a stage of the batch stream; its outputs can be cached on
 * disk per (clip, augmentation draw) — see teacher_cache.ts. Its classes reach the student's
 * either directly (same label space) or through a label map: student class i ← teacher class
 * map[i] (a 710-class teacher for a 400-class student, as `finetune --head-label-map`).
 *
 * Loss (src/train/losses.ts): τ²·KL(teacher_τ ‖ student_τ) + α·CE(labels) + β·MSE of the
 * student's pooled features, projected to the teacher's width by a learned linear map (kept out
 * of the saved model: a training-only auxiliary), against the teacher's pooled features.
 */
import { readFileSync, statSync } from "node:fs";
import { resolve } from "node:path";
import type { Batch } from "../data/index.ts";
import type { ResolvedClsOptions } from "../data/datasets.ts";
import type { DataParallel } from "../distributed/data_parallel.ts";
import type { VisionTransformer } from "../models/index.ts";
import { Linear } from "../nn/index.ts";
import { cat, F, Generator, keep, manualSeed, noGrad, tensor, tidy, type Tensor } from "../torch/index.ts";
import { inPrecision } from "../nn/device.ts";
import { clipsOf, disposing } from "../data/collate.ts";
import { batchesOnDevice } from "../data/device_feed.ts";
import { FINETUNE_DEFAULTS, finetuneData, finetuneMixup, finetuneModel, finetuneOptimizer, labelLoss, mixBatch, validate } from "./finetune.ts";
import { distillKL, mixRows, temperedProbs } from "./losses.ts";
import { trainLoop, type TrainLoopResult } from "./loop.ts";
import { loopSettings, trainingDevice, type DeviceChoice } from "./options.ts";
import { TeacherCache } from "./teacher_cache.ts";

export const DISTILL_DEFAULTS = {
  ...FINETUNE_DEFAULTS,
  out: "runs/distill",
  /** The teacher: a fine-tuned checkpoint (ours, or official .pth with --teacher-model). */
  teacher: "",
  /** Registry name of an official teacher checkpoint's architecture. */
  teacherModel: null as string | null,
  /** fp32, or bf16 (the teacher's forward under bf16 autocast). */
  teacherPrecision: "fp32",
  /** JSON list: student class i ← teacher class map[i] (e.g. label_710to400.json); else the same label space. */
  teacherLabelMap: null as string | null,
  /** Softmax temperature τ of teacher and student. */
  temperature: 1.0,
  /** Weight α of the cross-entropy on the labels (0: pure distillation). */
  alpha: 0,
  /** Weight β of the feature MSE (student pooled features projected to the teacher's width). */
  featureWeight: 0,
  /** Folder caching the teacher's outputs per (clip, augmentation draw). */
  cacheTeacher: null as string | null,
};
export type DistillOptions = typeof DISTILL_DEFAULTS & DeviceChoice;

/** A loaded teacher. The loader is a parameter (src/eval/teacher.ts has the usual one) because train/ sits below eval/. */
export interface Teacher {
  model: VisionTransformer;
  labels: string[] | null;
}
export type TeacherLoader = (checkpoint: string, model: string | null) => Promise<Teacher>;

/** Pooled features and logits of one forward (the student's head dropout applies in training). */
function featuresAndLogits(m: VisionTransformer, x: Tensor): { features: Tensor; logits: Tensor } {
  return tidy(() => {
    const features = m.forwardFeatures(x);
    if (!m.head) throw new Error("distillation needs classifier heads (numClasses > 0)");
    return { features, logits: m.head.forward(m.head_dropout.forward(features)) };
  });
}

type TeacherRows = { logits: Tensor; features: Tensor };
type DistillBatch = Batch & { teacher: TeacherRows };

export async function distill(
  o: DistillOptions,
  loadTeacher: TeacherLoader,
  log: (m: string) => void = (m) => process.stderr.write(m + "\n"),
  dist: DataParallel | null = null,
): Promise<TrainLoopResult & { runDir: string; teacherCache: { hits: number; misses: number } | null }> {
  if (!o.train) throw new Error("no data: give --train LIST (`path label` per line)");
  if (!o.teacher) throw new Error("no teacher: give --teacher CHECKPOINT (a fine-tuned model)");
  if (o.teacherPrecision !== "fp32" && o.teacherPrecision !== "bf16") throw new Error(`--teacher-precision must be fp32 or bf16, got ${o.teacherPrecision}`);
  if (!(o.temperature > 0)) throw new Error(`--temperature must be > 0, got ${o.temperature}`);
  if (!(o.alpha >= 0) || !(o.featureWeight >= 0)) throw new Error(`--alpha and --feature-weight must be ≥ 0, got ${o.alpha} and ${o.featureWeight}`);
  const device = trainingDevice(o.device, dist); // an unusable device fails before any data is read
  manualSeed(o.seed);

  const teacher = await loadTeacher(o.teacher, o.teacherModel);
  const tm = teacher.model.eval().to(device);
  const tcfg = tm.config;
  const teacherClasses = tcfg.numClasses;
  const labelMap = o.teacherLabelMap ? (JSON.parse(readFileSync(o.teacherLabelMap, "utf8")) as number[]) : null;
  if (labelMap && !(Array.isArray(labelMap) && labelMap.every((i) => Number.isInteger(i) && i >= 0 && i < teacherClasses))) {
    throw new Error(`--teacher-label-map ${o.teacherLabelMap}: expected a JSON list of teacher class indices 0..${teacherClasses - 1}`);
  }
  const data = finetuneData(o, log, dist, () => labelMap?.length ?? teacherClasses);
  const { cfg, numClasses, loader, valLoader, itersPerEpoch } = data;
  try {
    if ((labelMap?.length ?? teacherClasses) !== numClasses) {
      throw new Error(
        labelMap
          ? `--teacher-label-map has ${labelMap.length} entries for a ${numClasses}-class student`
          : `the teacher has ${teacherClasses} classes and the student ${numClasses}: give --teacher-label-map (student class i ← teacher class map[i]) or keep the teacher's label space`,
      );
    }
    if (tcfg.imgSize !== cfg.imgSize || tcfg.numFrames !== cfg.numFrames) {
      throw new Error(`the teacher takes ${tcfg.numFrames} frames of ${tcfg.imgSize} px and the student ${cfg.numFrames} of ${cfg.imgSize}: both must see the same clip (set --num-frames/--img-size)`);
    }
    const mapIndex = labelMap ? keep(tensor(BigInt64Array.from(labelMap, (i) => BigInt(i)), { shape: [labelMap.length], dtype: "int64", device })) : null;
    const toStudent = (logits: Tensor) => (mapIndex ? logits.indexSelect(1, mapIndex) : logits);
    const teacherForward = (x: Tensor): TeacherRows =>
      noGrad(() => {
        const run = () => tidy(() => {
          const r = featuresAndLogits(tm, x);
          return { logits: r.logits.float(), features: r.features.float() };
        });
        return inPrecision(tm, o.teacherPrecision as "fp32" | "bf16", run);
      });

    const Kt = teacherClasses;
    const Dt = tcfg.embedDim;
    const cache = o.cacheTeacher ? new TeacherCache(o.cacheTeacher, cacheFingerprint(o, data.train.options, tcfg)) : null;
    if (cache) log(`teacher cache: ${cache.dir}`);
    /** The teacher's rows for a training batch: from the cache when every sample is there, else computed (and stored). */
    const teacherRows = (b: Batch): TeacherRows => {
      const V = b.viewsPerSample;
      const width = Kt + Dt;
      if (cache) {
        const rows = new Float32Array(b.size * width);
        let all = true;
        for (let i = 0; i < b.numSamples && all; i++) {
          const r = cache.get(b.epoch, b.positions[i * V]!, b.items[i * V]!, V, width);
          if (r) rows.set(r, i * V * width);
          else all = false;
        }
        if (all) {
          cache.hits += b.numSamples;
          return tidy(() => {
            const t = tensor(rows, { shape: [b.size, width], device });
            return { logits: t.narrow(1, 0, Kt).contiguous(), features: t.narrow(1, Kt, Dt).contiguous() };
          });
        }
      }
      const out = teacherForward(clipsOf(b));
      if (cache) {
        const flat = noGrad(() => tidy(() => cat([out.logits, out.features], 1).data() as Float32Array));
        for (let i = 0; i < b.numSamples; i++) cache.put(b.epoch, b.positions[i * V]!, b.items[i * V]!, V, width, flat.subarray(i * V * width, (i + 1) * V * width));
        cache.misses += b.numSamples;
      }
      return out;
    };
    /** The batch stream with the teacher as a stage: each batch carries its teacher rows, freed with it. */
    async function* withTeacher(batches: AsyncIterable<Batch>): AsyncGenerator<DistillBatch> {
      for await (const b of batches) {
        const t = teacherRows(b);
        const free = b.dispose.bind(b);
        yield Object.assign(b, {
          teacher: t,
          dispose() {
            free();
            t.logits.dispose();
            t.features.dispose();
          },
        });
      }
    }

    const gen = new Generator(o.seed);
    const model = await finetuneModel(o, cfg, gen, dist, log);
    const projector = o.featureWeight > 0 ? new Linear(cfg.embedDim, Dt, { generator: gen }) : null;
    // Before the optimizer: its moments are made beside the parameters.
    model.to(device);
    projector?.to(device);
    const named: [string, Tensor][] = [...model.namedParameters(), ...(projector?.namedParameters().map(([k, t]) => [`feature_proj.${k}`, t] as [string, Tensor]) ?? [])];
    const { optimizer, lrSchedule, peak } = finetuneOptimizer(o, cfg, named, data.world, itersPerEpoch);
    const mixup = finetuneMixup(o, numClasses);
    const tau = o.temperature;
    log(
      `teacher: ${(tm.numParameters() / 1e6).toFixed(2)} M parameters, ${Kt} classes${labelMap ? ` → ${numClasses} through ${o.teacherLabelMap}` : ""}, ${o.teacherPrecision}; ` +
        `student: ${o.model}, ${(model.numParameters() / 1e6).toFixed(2)} M parameters; loss ${tau * tau}·KL(τ=${tau})${o.alpha ? ` + ${o.alpha}·CE` : ""}${projector ? ` + ${o.featureWeight}·feature MSE` : ""}; ` +
        `${loader.epochSize(0)} clips × ${o.numSample} views/epoch, ${itersPerEpoch} updates/epoch, peak lr ${peak.toExponential(3)}`,
    );

    // Validation: the teacher's predictions on the (fixed) validation clips are computed once.
    const valTeacher = new Map<number, number[]>();
    const teacherPredictions = (b: Batch): number[] => {
      let p = valTeacher.get(b.index);
      if (!p) {
        p = tidy(() => toStudent(teacherForward(clipsOf(b)).logits).argmax(1).toArray());
        valTeacher.set(b.index, p);
      }
      return p;
    };

    const labels = data.labels ?? (labelMap ? null : teacher.labels);
    const result = await trainLoop<DistillBatch>({
      runDir: o.out,
      config: { command: "distill", ...o, modelConfig: cfg, labels, teacherConfig: tcfg },
      ...loopSettings(o, log),
      model,
      auxiliary: projector ?? undefined,
      optimizer,
      itersPerEpoch,
      lrSchedule,
      generator: gen,
      dist,
      data: loader,
      batches: (epoch, skip) => disposing(withTeacher(batchesOnDevice(loader.epoch(epoch, { startBatch: skip }), device))) as AsyncIterable<DistillBatch>,
      lossOf: (b) => {
        const mix = mixBatch(mixup, b, o.seed);
        const s = featuresAndLogits(model, mix ? mix.x : clipsOf(b));
        const lam = mix?.lam ?? 1;
        const kd = distillKL(s.logits, mixRows(temperedProbs(toStudent(b.teacher.logits), tau), lam), tau);
        let loss = kd;
        const metrics: Record<string, number> = { kd: kd.item() };
        if (o.alpha > 0) {
          const ce = labelLoss(s.logits, b, mix, o.smoothing);
          metrics.ce = ce.item();
          loss = loss.add(ce.mul(o.alpha));
        }
        if (projector) {
          const feat = F.mseLoss(projector.forward(s.features).float(), mixRows(b.teacher.features, lam));
          metrics.feat = feat.item();
          loss = loss.add(feat.mul(o.featureWeight));
        }
        return { loss, items: b.size, metrics };
      },
      evaluate: valLoader ? async () => validate(model, valLoader, dist, teacherPredictions) : undefined,
      primaryMetric: "top1",
    });
    if (cache) log(`teacher cache: ${cache.hits} samples read, ${cache.misses} computed and stored`);
    return { ...result, runDir: o.out, teacherCache: cache ? { hits: cache.hits, misses: cache.misses } : null };
  } finally {
    await data.close();
    tm.dispose();
  }
}

/** What decides a training clip's teacher outputs besides (epoch, position): see teacher_cache.ts. */
function cacheFingerprint(o: DistillOptions, train: ResolvedClsOptions, teacherConfig: unknown): Record<string, unknown> {
  const st = statSync(o.teacher);
  return {
    teacher: { path: resolve(o.teacher), bytes: st.size, mtimeMs: st.mtimeMs, config: teacherConfig, precision: o.teacherPrecision },
    seed: o.seed,
    entries: train.entries.map((e) => [e.path, e.label]),
    clip: { sampling: train.sampling, numFrames: train.numFrames, samplingRate: train.samplingRate, numSample: train.numSample, inputSize: train.inputSize, augment: train.augment, dataRoot: train.dataRoot ?? null },
  };
}
