/**
 * The demo (`npm run demo`): the whole VideoMAE V2 workflow at toy scale on embedded synthetic
 * data — generate motion-classification videos, pre-train a tiny ViT with dual masking,
 * fine-tune it, fine-tune the same architecture from scratch with the same budget, distil the
 * fine-tuned model into a smaller student, evaluate them with multi-view testing, classify a
 * real clip, and draw a reconstruction.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { generateSynthDataset } from "../data/synth/dataset.ts";
import { evaluateList } from "../eval/evaluate.ts";
import { loadModelForInference } from "../eval/load_model.ts";
import { loadTeacher } from "../eval/teacher.ts";
import { predictVideo } from "../eval/predict.ts";
import type { VisionTransformer } from "../models/vit.ts";
import { MetricsLog } from "../train/metrics.ts";
import { FINETUNE_DEFAULTS, finetune } from "../train/finetune.ts";
import { PRETRAIN_DEFAULTS, pretrain } from "../train/pretrain.ts";
import { DISTILL_DEFAULTS, distill } from "../train/distill.ts";
import { noGrad, randn, tidy } from "../torch/index.ts";
import { createVideoReader } from "../video/index.ts";
import { reconstructPicture } from "../eval/reconstruct.ts";
import type { PretrainVisionTransformer } from "../models/pretrain.ts";

export interface DemoOptions {
  out: string;
  quick: boolean;
  seed: number;
  workers: number;
  log: (m: string) => void;
}

export interface DemoSummary {
  seconds: number;
  data: { classes: string[]; train: number; val: number; test: number };
  pretrain: { updates: number; firstLoss: number; lastLoss: number };
  finetuned: { fromPretrained: EvalNumbers; fromScratch: EvalNumbers };
  /** The fine-tuned model (teacher) distilled into a smaller student: the student's numbers, and both models' size and speed. */
  distilled: EvalNumbers & { studentParams: number; teacherParams: number; studentMsPerClip: number; teacherMsPerClip: number };
  realClip: { video: string; predictions: { label: string; score: number }[] } | null;
  reconstruction: string;
}
interface EvalNumbers {
  bestVal: number | null;
  testTop1: number;
  testTop5: number;
}

/** The tiny model: 32×32 px, 8 frames, patch 8 → 4×4×4 = 64 tokens, width 64, 4 blocks. */
const MODEL = { imgSize: 32, numFrames: 8, patchSize: 8, embedDim: 64, depth: 4, numHeads: 4 };
/** The distilled student: half the width, half the blocks (≈ 1/8 of the parameters). */
const STUDENT = { embedDim: 32, depth: 2, numHeads: 2 };

const REAL_CLIP = join(import.meta.dirname, "../../test/fixtures/clips/realshort.mp4");

export async function runDemo(o: DemoOptions): Promise<DemoSummary> {
  const t0 = Date.now();
  const say = o.log;
  const dataDir = join(o.out, "data");
  say(`[1/7] synthetic videos (class = kind of motion; no single frame tells it) → ${dataDir}`);
  const synth = await generateSynthDataset({ out: dataDir, classes: 4, videosPerClass: o.quick ? 12 : 40, size: 32, frames: 32, seed: o.seed });
  say(`      ${synth.classes.join(", ")}: ${synth.counts.train} train / ${synth.counts.val} val / ${synth.counts.test} test videos`);

  const common = { ...MODEL, seed: o.seed, workers: o.workers, cacheMib: 128, samplingRate: 2 };
  const ptEpochs = o.quick ? 3 : 60;
  const ftEpochs = o.quick ? 2 : 60;
  say(`[2/7] pre-training (dual masking: tube 90 % + running cell 50 %), ${ptEpochs} epochs`);
  const ptDir = join(o.out, "pretrain");
  const pt = await pretrain(
    {
      ...PRETRAIN_DEFAULTS,
      ...common,
      model: "pretrain_videomae_small_patch16_224",
      decoderEmbedDim: 32,
      decoderDepth: 1,
      decoderNumHeads: 2,
      lists: [synth.files.pretrain],
      out: ptDir,
      epochs: ptEpochs,
      batchSize: 16,
      numSample: 2,
      lr: 1.5e-2,
      warmupEpochs: o.quick ? 1 : 4,
      resume: true,
    },
    say,
  );
  interrupted(pt);
  const losses = new MetricsLog(join(ptDir, "metrics.jsonl")).read().filter((r) => r.kind === "train").map((r) => Number(r.loss));
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const k = Math.max(1, Math.floor(losses.length / 10));

  // One recipe for every labelled stage (fine-tuning and distillation), at toy scale: 32-px frames
  // and 4 classes. No flips (a horizontal flip turns move_right into move_left, as for SSv2
  // officially), no RandAugment/erasing/mixup, and crops of at least half the frame so the moving
  // shape stays in view.
  const labelledRecipe = {
    epochs: ftEpochs,
    batchSize: 16,
    numSample: 2,
    lr: 2e-2,
    warmupEpochs: o.quick ? 0 : 3,
    layerDecay: 0.75,
    dropPath: 0.1,
    randAugment: false,
    flip: false,
    erasing: 0,
    mixup: 0,
    cutmix: 0,
    cropScaleMin: 0.5,
  };
  const ft = (name: string, init: string | null) =>
    finetune(
      {
        ...FINETUNE_DEFAULTS,
        ...common,
        model: "vit_small_patch16_224",
        finetune: init,
        train: synth.files.train,
        val: synth.files.val,
        labels: synth.files.labels,
        out: join(o.out, name),
        ...labelledRecipe,
        resume: true,
      },
      say,
    );
  const bestOf = (r: { bestCheckpoint: string | null; lastCheckpoint: string | null }) => r.bestCheckpoint ?? r.lastCheckpoint;
  say(`[3/7] fine-tuning the pre-trained encoder, ${ftEpochs} epochs`);
  const ftPre = interrupted(await ft("finetune-pretrained", pt.lastCheckpoint));
  say(`[4/7] the same fine-tuning from scratch (same architecture, same budget)`);
  const ftScratch = interrupted(await ft("finetune-scratch", null));

  say(`[5/7] distilling the fine-tuned model into a smaller student (half width, half depth, from scratch), ${ftEpochs} epochs`);
  const teacherCkpt = bestOf(ftPre)!;
  const dst = interrupted(
    await distill(
      {
        ...DISTILL_DEFAULTS,
        ...common,
        ...STUDENT,
        model: "vit_small_patch16_224",
        teacher: teacherCkpt,
        train: synth.files.train,
        val: synth.files.val,
        out: join(o.out, "distill"),
        ...labelledRecipe,
        temperature: 2,
        resume: true,
      },
      loadTeacher,
      say,
    ),
  );

  say(`[6/7] multi-view testing (2 clips × 3 crops, softmax mean)`);
  const evalRun = async (ckpt: string | null): Promise<{ top1: number; top5: number }> => {
    if (!ckpt) return { top1: NaN, top5: NaN };
    const m = await loadModelForInference<VisionTransformer>({ checkpoint: ckpt, kind: "vit" });
    const { report } = await evaluateList(m.model, { list: synth.files.test, clips: 2, crops: 3, samplingRate: 2, batchSize: 8, workers: o.workers });
    return { top1: report.top1, top5: report.top5 };
  };
  const evPre = await evalRun(bestOf(ftPre));
  const evScratch = await evalRun(bestOf(ftScratch));
  const evStudent = await evalRun(bestOf(dst));
  const [teacherSpeed, studentSpeed] = await inferenceSpeed([teacherCkpt, bestOf(dst)!]);

  say(`[7/7] a real clip and a reconstruction picture`);
  let realClip: DemoSummary["realClip"] = null;
  if (existsSync(REAL_CLIP) && bestOf(ftPre)) {
    const m = await loadModelForInference<VisionTransformer>({ checkpoint: bestOf(ftPre)!, kind: "vit" });
    const r = await predictVideo(m.model, m.labels, createVideoReader(), REAL_CLIP, { rate: 2, topK: 2 });
    realClip = { video: REAL_CLIP, predictions: r.predictions };
  }
  const recon = join(o.out, "reconstruction.png");
  const testVideo = join(dataDir, readFileSync(synth.files.test, "utf8").split(/\s/)[0]!);
  const mae = await loadModelForInference<PretrainVisionTransformer>({ checkpoint: pt.lastCheckpoint!, kind: "pretrain" });
  await reconstructPicture(mae.model, testVideo, recon, { stride: 2, maskRatio: 0.9, seed: o.seed });

  return {
    seconds: (Date.now() - t0) / 1000,
    data: { classes: synth.classes, train: synth.counts.train, val: synth.counts.val, test: synth.counts.test },
    pretrain: { updates: pt.steps, firstLoss: mean(losses.slice(0, k)), lastLoss: mean(losses.slice(-k)) },
    finetuned: {
      fromPretrained: { bestVal: ftPre.best, testTop1: evPre.top1, testTop5: evPre.top5 },
      fromScratch: { bestVal: ftScratch.best, testTop1: evScratch.top1, testTop5: evScratch.top5 },
    },
    distilled: {
      bestVal: dst.best, testTop1: evStudent.top1, testTop5: evStudent.top5,
      studentParams: studentSpeed.params, teacherParams: teacherSpeed.params, studentMsPerClip: studentSpeed.msPerClip, teacherMsPerClip: teacherSpeed.msPerClip,
    },
    realClip,
    reconstruction: recon,
  };
}

/**
 * Parameters and inference time per clip of each model: forwards of a batch of 16 clips, taken in
 * turn (so that a busy machine slows them alike), the median of 7 after one warm-up round.
 */
async function inferenceSpeed(checkpoints: string[]): Promise<{ params: number; msPerClip: number }[]> {
  const models = await Promise.all(checkpoints.map((checkpoint) => loadModelForInference<VisionTransformer>({ checkpoint, kind: "vit" })));
  const { numFrames, imgSize } = models[0]!.config;
  const x = randn([16, 3, numFrames, imgSize, imgSize]);
  const times = models.map(() => [] as number[]);
  for (let round = 0; round < 8; round++) {
    models.forEach((m, i) => {
      const t0 = performance.now();
      noGrad(() => tidy(() => {
        m.model.forward(x);
      }));
      if (round > 0) times[i]!.push(performance.now() - t0);
    });
  }
  x.dispose();
  return models.map((m, i) => {
    const params = m.model.numParameters();
    m.model.dispose();
    return { params, msPerClip: times[i]!.sort((a, b) => a - b)[3]! / 16 };
  });
}

export class DemoInterrupted extends Error {
  constructor() {
    super("demo interrupted; its stages were checkpointed — run it again to resume");
    this.name = "DemoInterrupted";
  }
}

/** A stage stopped by Ctrl-C/SIGTERM ends the demo (the stage saved its checkpoint). */
function interrupted<R extends { stoppedBy: string }>(r: R): R {
  if (r.stoppedBy === "signal") throw new DemoInterrupted();
  return r;
}

export function formatDemoSummary(s: DemoSummary, outDir: string): string {
  const pct = (x: number | null) => (x === null || Number.isNaN(x) ? "  —  " : `${(x * 100).toFixed(1).padStart(5)}%`);
  const p = s.finetuned.fromPretrained, q = s.finetuned.fromScratch, d = s.distilled;
  const lines = [
    "",
    "VideoMAE V2 demo — summary",
    `  data: ${s.data.classes.length} motion classes (${s.data.classes.join(", ")}); ${s.data.train} train / ${s.data.val} val / ${s.data.test} test videos`,
    `  pre-training: ${s.pretrain.updates} updates, masked-patch loss ${s.pretrain.firstLoss.toFixed(3)} → ${s.pretrain.lastLoss.toFixed(3)}`,
    "",
    "  fine-tuned model          best val top-1   test top-1 (2×3 views)   test top-5",
    `  from dual-masking MAE     ${pct(p.bestVal)}          ${pct(p.testTop1)}                 ${pct(p.testTop5)}`,
    `  from scratch              ${pct(q.bestVal)}          ${pct(q.testTop1)}                 ${pct(q.testTop5)}`,
    `  ${"distilled from row 1".padEnd(26)}${pct(d.bestVal)}          ${pct(d.testTop1)}                 ${pct(d.testTop5)}     ` +
      `student vs teacher: ${(d.studentParams / 1e6).toFixed(2)} vs ${(d.teacherParams / 1e6).toFixed(2)} M parameters, ${d.studentMsPerClip.toFixed(2)} vs ${d.teacherMsPerClip.toFixed(2)} ms/clip (${(d.teacherMsPerClip / d.studentMsPerClip).toFixed(1)}× faster)`,
    "",
    s.realClip
      ? `  real clip ${s.realClip.video.split("/").pop()}: ${s.realClip.predictions.map((x) => `${x.label} ${(x.score * 100).toFixed(1)}%`).join(", ")} (a synthetic-motion model on a real video: the pipeline, not the answer, is the point)`
      : "  real clip: skipped",
    `  reconstruction picture: ${s.reconstruction}`,
    `  runs, metrics and curves: ${outDir}/{pretrain,finetune-pretrained,finetune-scratch,distill}`,
    `  total time ${(s.seconds / 60).toFixed(1)} min`,
  ];
  return lines.join("\n");
}
