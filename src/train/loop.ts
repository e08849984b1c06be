/**
 * The training loop shared by pretraining and fine-tuning: per-iteration lr/wd schedule,
 * gradient accumulation, clipping, optional bf16 autocast, a NaN/inf guard, progress, JSONL
 * metrics, periodic and final atomic checkpoints, exact resume, and a graceful stop on
 * SIGINT/SIGTERM. What a step computes is the caller's `lossOf(batch)`.
 *
 * Resume is exact because everything random is a function of (seed, epoch, iteration): the
 * batch source re-creates an epoch from its seed and skips `startIter` batches, and the
 * libtorch generator used by dropout/drop path is saved in the checkpoint.
 *
 * Data-parallel (`dist`): every rank runs this loop on its shard of each global batch. Before
 * each optimizer step the ranks sum [loss, non-finite count, stop requested] — so a NaN
 * or a Ctrl-C on any rank stops all of them at the same step — and average their gradients
 * (by default overlapped with the backward of the step's last micro-batch).
 * Only rank 0 writes files and shows progress; every rank resumes from the same checkpoint.
 */
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { DataParallel } from "../distributed/data_parallel.ts";
import { checkpointBlocks } from "../models/blocks.ts";
import { backward, discardCheckpoints } from "../nn/checkpoint.ts";
import type { Module } from "../nn/module.ts";
import type { AdamW } from "../optim/adamw.ts";
import { clipGradNorm, gradNorm } from "../optim/clip.ts";
import { deviceType } from "../torch/device.ts";
import { inPrecision } from "../nn/device.ts";
import { GradScaler } from "../optim/grad_scaler.ts";
import type { Generator } from "../torch/random.ts";
import { tidy } from "../torch/scope.ts";
import type { Tensor } from "../torch/tensor.ts";
import { findResumeCheckpoint, restoreCheckpoint, saveCheckpoint } from "./checkpoint.ts";
import { MetricsLog } from "./metrics.ts";
import { curvesSvg, type Chart } from "./plot.ts";
import { Progress } from "../util/progress.ts";
import { StopRequest } from "./signals.ts";
import { ensureWritableDir, writingFile } from "../util/output.ts";

export class NonFiniteLossError extends Error {
  constructor(
    readonly step: number,
    readonly value: number,
    lastCheckpoint: string | null,
  ) {
    super(
      `loss is ${value} at step ${step}: training stopped. ` +
        (lastCheckpoint ? `The last good checkpoint is ${lastCheckpoint} (untouched). ` : "No checkpoint was written yet. ") +
        `Try a lower --lr, gradient clipping (--clip-grad), or --precision fp32.`,
    );
    this.name = "NonFiniteLossError";
  }
}

/**
 * The training data's unreadable files (a DataLoader provides this): distinct files this epoch and
 * over the whole run, reported in the epoch's progress line, `metrics.jsonl` ({kind: "data"}) and
 * the result, and kept in checkpoints so a resumed run's totals still cover the whole run.
 */
export interface DataHealth {
  readonly stats: { badFiles: number };
  readonly badFiles: string[];
  restoreBadFiles(paths: Iterable<string>): void;
}

/** Bad-file paths kept in a checkpoint's state (beyond this only the count is kept). */
const MAX_SAVED_BAD_FILES = 10_000;

export interface StepOutput {
  /** Scalar loss to back-propagate (already averaged over the micro-batch). */
  loss: Tensor;
  /** Items in the micro-batch (clips/views), for throughput. */
  items: number;
  /** Extra per-step numbers to log (e.g. accuracy). */
  metrics?: Record<string, number>;
}

export interface TrainLoopOptions<B> {
  runDir: string;
  /** Saved in every checkpoint and as config.json. */
  config: Record<string, unknown>;
  model: Module;
  optimizer: AdamW;
  epochs: number;
  /** Optimizer updates per epoch (each is `accumSteps` micro-batches). */
  itersPerEpoch: number;
  accumSteps?: number;
  /** Per-update schedules (length epochs·itersPerEpoch). */
  lrSchedule: Float64Array;
  wdSchedule?: Float64Array;
  clipGrad?: number | null;
  /**
   * fp32; bf16 autocast (CPU or GPU); fp16 autocast with dynamic loss scaling (GPU only: float16's
   * range needs the GradScaler, and CPU autocast has no float16).
   */
  precision?: "fp32" | "bf16" | "fp16";
  /** Micro-batches of an epoch, starting after `skip` micro-batches (for resume). */
  batches: (epoch: number, skip: number) => AsyncIterable<B>;
  lossOf: (batch: B) => StepOutput;
  /** Called after each epoch; its numbers are logged, `primary` decides the best checkpoint. */
  evaluate?: (epoch: number) => Promise<Record<string, number>>;
  /** Higher is better for the evaluation's primary metric (default: its first key). */
  primaryMetric?: string;
  /** Checkpoint every N epochs (besides the last one). 0 = only last. */
  saveEvery?: number;
  /** Torch generator of dropout/drop path, saved for exact resume. */
  generator?: Generator;
  /**
   * Trained alongside `model` (its parameters are in the optimizer) but not part of the saved
   * model, e.g. distillation's feature projector: checkpointed as extra tensors `aux.<key>`,
   * restored on resume, broadcast like the model.
   */
  auxiliary?: Module;
  /**
   * Resume from the run's newest valid checkpoint (last, epoch-N or best; see
   * findResumeCheckpoint); metrics.jsonl is cut back to its update. Without a usable checkpoint
   * the run starts at update 0, saying why.
   */
  resume?: boolean;
  /** Unreadable-file totals of the training data (see DataHealth). */
  data?: DataHealth;
  log?: (msg: string) => void;
  /** Stop after this many updates in total (for tests and smoke runs). */
  maxSteps?: number;
  /** Data-parallel group (null/undefined: a single process). */
  dist?: DataParallel | null;
  /**
   * Data-parallel: average gradients while backward runs (DDP's overlap; default true), or all
   * at once after backward. Both give the same numbers.
   */
  overlapAllReduce?: boolean;
  /** Activation checkpointing of every transformer block (recomputed in backward; same gradients, less memory). */
  gradCheckpoint?: boolean;
}

export interface TrainLoopResult {
  steps: number;
  stoppedBy: "done" | "signal" | "maxSteps";
  lastCheckpoint: string | null;
  bestCheckpoint: string | null;
  best: number | null;
  /** Distinct unreadable training files over the whole run (empty without `data`). */
  badFiles: string[];
}

export async function trainLoop<B>(o: TrainLoopOptions<B>): Promise<TrainLoopResult> {
  const log = o.log ?? ((m: string) => process.stderr.write(m + "\n"));
  const accum = o.accumSteps ?? 1;
  const total = o.epochs * o.itersPerEpoch;
  if (o.lrSchedule.length < total) throw new RangeError(`lr schedule has ${o.lrSchedule.length} values for ${total} updates`);
  const dist = o.dist ?? null;
  const isMain = !dist || dist.isMain;
  const lastPath = join(o.runDir, "checkpoint-last.safetensors");
  const bestPath = join(o.runDir, "checkpoint-best.safetensors");
  const metrics = new MetricsLog(join(o.runDir, "metrics.jsonl"));
  if (isMain) {
    ensureWritableDir(o.runDir); // created and proven writable now, not at the first checkpoint
    writeFileSync(join(o.runDir, "config.json"), JSON.stringify(o.config, null, 2) + "\n");
  }

  // Autocast follows the model's device (inPrecision); fp16 trains with dynamic loss scaling (GPU only).
  if (o.precision === "fp16" && deviceType(o.model.device) === "cpu") {
    throw new RangeError("--precision fp16 needs a GPU (--device cuda): CPU autocast has no float16; use --precision bf16 on the CPU");
  }
  const scaler = o.precision === "fp16" ? new GradScaler() : null;
  let step = 0;
  let best: number | null = null;
  let lastCheckpoint: string | null = null;
  const found = o.resume ? await findResumeCheckpoint(o.runDir) : null;
  if (found && !found.pick) log(`--resume: no usable checkpoint (${found.why}); starting at update 0`);
  // A fresh start (or one without a usable checkpoint) begins a fresh log: no rows of an earlier attempt.
  if (isMain && !found?.pick) metrics.truncateAfter(0);
  if (found?.pick) {
    const { path: resumePath, ckpt } = found.pick;
    restoreCheckpoint(ckpt, o.model, o.optimizer);
    const scalerState = ckpt.state.gradScaler as { scale: number; growthTracker: number } | undefined;
    if (scaler && scalerState) scaler.loadStateDict(scalerState);
    const gen = ckpt.tensors.get("generator");
    if (gen && o.generator) o.generator.setState(gen);
    if (o.auxiliary) o.auxiliary.loadStateDict(new Map([...ckpt.tensors].filter(([k]) => k.startsWith("aux.")).map(([k, t]) => [k.slice(4), t])));
    step = Number(ckpt.state.step ?? 0);
    best = (ckpt.state.best as number | null) ?? null;
    lastCheckpoint = resumePath;
    const saved = ckpt.state.badFiles;
    if (o.data && Array.isArray(saved)) o.data.restoreBadFiles(saved.map(String));
    // Rows after the resumed update would be written again: drop them (no duplicate steps).
    if (isMain) metrics.truncateAfter(step);
    log(`resumed from ${resumePath} at update ${step} (epoch ${Math.floor(step / o.itersPerEpoch)}): ${found.why}`);
  }
  let savedStep = found?.pick ? step : -1; // update held by the newest checkpoint written or resumed from
  if (dist) {
    dist.agree(step, (min, max) =>
      `ranks would start at different updates (${min} vs ${max}): every rank must see the same ${lastPath} ` +
        `(put --out on a shared filesystem, or copy the checkpoint to every node) or none`,
    );
    // Identical starting weights everywhere (fresh init or resumed: rank 0's are authoritative).
    dist.broadcastModule(o.model);
    if (o.auxiliary) dist.broadcastModule(o.auxiliary);
  }

  const save = async (path: string) => {
    if (!isMain) return;
    const tensors = new Map<string, Tensor>();
    if (o.generator) tensors.set("generator", o.generator.getState());
    const aux = new Map([...(o.auxiliary?.stateDict() ?? [])].map(([k, t]) => [`aux.${k}`, t])); // live tensors: not disposed
    await writingFile(path, () => saveCheckpoint(path, { model: o.model, optimizer: o.optimizer, tensors: new Map([...tensors, ...aux]), state: { step, best, badFiles: o.data?.badFiles.slice(0, MAX_SAVED_BAD_FILES) ?? [], ...(scaler ? { gradScaler: scaler.stateDict() } : {}) }, config: o.config }));
    for (const t of tensors.values()) t.dispose();
  };
  const writeCurves = () => {
    if (!isMain) return;
    const recs = metrics.read();
    const series = (kind: string, key: string, x: "step" | "epoch") =>
      recs.filter((r) => r.kind === kind && typeof r[key] === "number").map((r) => [Number(r[x]), Number(r[key])] as [number, number]);
    const charts: Chart[] = [{ title: "training loss", xLabel: "update", series: [{ name: "loss", points: series("train", "loss", "step") }] }];
    const evalKeys = [...new Set(recs.filter((r) => r.kind === "eval").flatMap((r) => Object.keys(r)))].filter(
      (k) => !["kind", "step", "epoch", "time", "clips"].includes(k),
    );
    if (evalKeys.length) {
      charts.push({ title: "evaluation", xLabel: "epoch", series: evalKeys.map((k) => ({ name: k, points: series("eval", k, "epoch") })) });
    }
    writeFileSync(join(o.runDir, "curves.svg"), curvesSvg(charts));
  };

  /**
   * Before an abort propagates (unreadable data, a worker failure, a failed evaluation, a lost
   * rank…), save what was trained since the last checkpoint, and say in the error which
   * checkpoint holds the run. Not after a non-finite loss (the last good checkpoint must stay
   * untouched) nor from inside an optimizer step (the weights may be half updated).
   */
  let inUpdate = false;
  // The dropout generator as of the last update: an abort in the middle of an accumulation has
  // advanced it, and the saved state must be the one the resumed run replays those micro-batches from.
  let genAtUpdate = o.generator?.getState() ?? null;
  const saveOnAbort = async (err: unknown) => {
    if (!isMain || !(err instanceof Error) || err instanceof NonFiniteLossError) return;
    let note: string;
    if (inUpdate) note = `The error came inside an optimizer step, so nothing was saved; ${lastCheckpoint ? `the last checkpoint is ${lastCheckpoint}` : "no checkpoint was written yet"}.`;
    else if (step === savedStep) note = `${lastCheckpoint} (update ${step}) already holds the run; continue with --resume once fixed.`;
    else if (step === 0) note = "No update was made, so no checkpoint was written.";
    else {
      try {
        if (o.generator && genAtUpdate) o.generator.setState(genAtUpdate);
        await save(lastPath);
        lastCheckpoint = lastPath;
        savedStep = step;
        note = `Saved ${lastPath} at update ${step} before stopping; continue with --resume once fixed.`;
      } catch (e) {
        note = `Saving ${lastPath} failed too (${(e as Error).message}); ${savedStep >= 0 ? `the newest checkpoint holds update ${savedStep}` : "no checkpoint was written"}.`;
      }
    }
    log(note);
    // The error keeps its type (callers and tests match on it); the note travels in its message,
    // which is what the CLI prints.
    err.message += `\n${note}`;
  };
  const reportData = (epoch: number) => {
    if (!o.data || !isMain) return 0;
    const epochBad = o.data.stats.badFiles;
    const total = o.data.badFiles.length;
    metrics.append({ kind: "data", step, epoch: epoch + 1, badFiles: epochBad, badFilesTotal: total });
    if (epochBad > 0) log(`epoch ${epoch + 1}: ${epochBad} unreadable file(s) skipped and replaced (${total} in the run so far; the [data] lines above name them)`);
    return epochBad;
  };

  if (o.gradCheckpoint) log(`activation checkpointing: ${checkpointBlocks(o.model)} blocks recomputed in backward`);
  if (dist && (o.overlapAllReduce ?? true)) dist.overlapGradients(o.optimizer.params());

  const stop = new StopRequest(log).install();
  let stoppedBy: TrainLoopResult["stoppedBy"] = "done";
  try {
    o.model.train();
    for (let epoch = Math.floor(step / o.itersPerEpoch); epoch < o.epochs && stoppedBy === "done"; epoch++) {
      const startIter = step - epoch * o.itersPerEpoch;
      const progress = isMain ? new Progress({ total: o.itersPerEpoch - startIter, label: `epoch ${epoch + 1}/${o.epochs}`, unit: "it" }) : null;
      let micro = 0;
      let lossSum = 0;
      let items = 0;
      let nonFinite = 0;
      let extra: Record<string, number> = {};
      let lastInfo: Record<string, number | string> = {};
      // Time spent waiting for the loader vs. computing, shown in the progress line: a starving
      // device (GPU) shows as a large data-wait share.
      let asked = performance.now();
      let waitMs = 0;
      let computeMs = 0;
      for await (const batch of o.batches(epoch, startIter * accum)) {
        const arrived = performance.now();
        waitMs += arrived - asked;
        if (micro === 0) {
          o.optimizer.lr = o.lrSchedule[step]!;
          if (o.wdSchedule) o.optimizer.weightDecay = o.wdSchedule[step]!;
        }
        dist?.beforeBackward(micro === accum - 1); // overlapped all-reduce: only the last micro-batch communicates
        const out = tidy(() => {
          const r = inPrecision(o.model, o.precision, () => o.lossOf(batch));
          const value = r.loss.item();
          if (!Number.isFinite(value)) {
            discardCheckpoints();
            return { value, items: r.items, metrics: r.metrics };
          }
          const scaled = accum > 1 ? r.loss.div(accum) : r.loss;
          backward(scaler ? scaler.scale(scaled) : scaled); // recomputes checkpointed blocks, if any
          return { value, items: r.items, metrics: r.metrics };
        });
        if (!Number.isFinite(out.value)) {
          // Alone: stop now. Data-parallel: tell the other ranks at the step's sync below.
          if (!dist) throw new NonFiniteLossError(step, out.value, lastCheckpoint);
          nonFinite++;
        } else {
          lossSum += out.value;
        }
        items += out.items;
        extra = out.metrics ?? {};
        micro++;
        if (micro < accum) {
          asked = performance.now();
          computeMs += asked - arrived;
          continue;
        }
        let loss = lossSum / accum;
        let stopNow = stop.requested !== null;
        const syncExtra: Record<string, number> = {};
        if (dist) {
          // Gradients first: overlapped buckets are already in flight, and every rank must finish
          // them (a rank that skipped backward sends its buckets now) before the next collective.
          dist.averageGradients(o.optimizer.params());
          const ar = dist.takeAllReduceStats();
          syncExtra.allReduceMs = ar.seconds * 1000;
          if (dist.overlapping) syncExtra.allReduceExposedMs = ar.exposedSeconds * 1000;
          const [lossAll, badAll, stopAll] = dist.sum([lossSum, nonFinite, stopNow ? 1 : 0]) as [number, number, number];
          if (badAll > 0) throw new NonFiniteLossError(step, NaN, lastCheckpoint);
          loss = lossAll / (accum * dist.worldSize);
          stopNow = stopAll > 0;
        }
        inUpdate = true;
        // fp16: gradients back to their true scale before clipping; an overflowed step is skipped
        // (the schedule still advances, as with PyTorch's GradScaler) and the scale backs off.
        if (scaler) scaler.unscale(o.optimizer.params());
        const stepOk = scaler ? scaler.stepOk() : true;
        const norm = o.clipGrad ? clipGradNorm(o.optimizer.params(), o.clipGrad) : gradNorm(o.optimizer.params());
        if (stepOk) o.optimizer.step();
        else syncExtra.skippedOverflow = 1;
        if (scaler) {
          scaler.update();
          syncExtra.lossScale = scaler.scaleFactor;
        }
        o.optimizer.zeroGrad();
        step++;
        inUpdate = false;
        if (o.generator) {
          genAtUpdate?.dispose();
          genAtUpdate = o.generator.getState();
        }
        if (isMain) metrics.append({ kind: "train", step, epoch, loss, lr: o.optimizer.lr, gradNorm: norm, ...extra, ...syncExtra });
        asked = performance.now();
        computeMs += asked - arrived;
        lastInfo = { loss, lr: o.optimizer.lr, "data wait": `${Math.round((100 * waitMs) / Math.max(1e-9, waitMs + computeMs))}%` };
        progress?.tick(1, lastInfo);
        micro = 0;
        lossSum = 0;
        nonFinite = 0;
        if (stopNow) {
          stoppedBy = "signal";
          break;
        }
        if (o.maxSteps !== undefined && step >= o.maxSteps) {
          stoppedBy = "maxSteps";
          break;
        }
        if (step >= (epoch + 1) * o.itersPerEpoch) break;
      }
      const bad = o.data ? o.data.stats.badFiles : 0;
      progress?.done(bad > 0 ? { ...lastInfo, "unreadable files": String(bad) } : undefined);
      reportData(epoch);
      if (stoppedBy !== "done") break;
      if (o.evaluate) {
        o.model.eval();
        const ev = await o.evaluate(epoch);
        o.model.train();
        if (isMain) metrics.append({ kind: "eval", step, epoch: epoch + 1, ...ev });
        const key = o.primaryMetric ?? Object.keys(ev)[0];
        const value = key ? ev[key] : undefined;
        log(`epoch ${epoch + 1}: ${Object.entries(ev).map(([k, v]) => `${k} ${Number.isInteger(v) ? v : v.toFixed(4)}`).join(", ")}`);
        if (value !== undefined && (best === null || value > best)) {
          best = value;
          await save(bestPath);
          log(`  new best ${key} ${value.toFixed(4)} → ${bestPath}`);
        }
      }
      if (o.saveEvery && (epoch + 1) % o.saveEvery === 0) await save(join(o.runDir, `checkpoint-epoch${epoch + 1}.safetensors`));
      await save(lastPath);
      lastCheckpoint = lastPath;
      savedStep = step;
      writeCurves();
    }
    if (stoppedBy !== "done") {
      await save(lastPath);
      lastCheckpoint = lastPath;
      savedStep = step;
      writeCurves();
      log(`stopped at update ${step} (${stoppedBy}); checkpoint ${lastPath}; continue with --resume`);
    }
  } catch (err) {
    await saveOnAbort(err);
    throw err;
  } finally {
    stop.uninstall();
    genAtUpdate?.dispose();
  }
  return { steps: step, stoppedBy, lastCheckpoint, bestCheckpoint: existsSync(bestPath) ? bestPath : null, best, badFiles: o.data?.badFiles ?? [] };
}
