/**
 * One rank of the overlapped all-reduce test (overlap.test.ts), started by the launcher: the
 * tiny pre-training model (drop path + dropout, its own input per rank) takes two accumulated
 * micro-batches; its gradients are averaged (1) after backward, (2) overlapped with the backward
 * of the last micro-batch, (3) overlapped with every block checkpointed. Each variant starts from
 * the same weights, inputs and generator states. Prints one JSON line: the largest difference of
 * (2) and (3) from (1), the reducer's statistics, and a checksum of the averaged gradients (equal
 * on every rank when the averaging worked).
 *
 * The device is the group's (cpu for gloo, cuda:LOCAL_RANK for NCCL) unless DIST_CHECK_DEVICE
 * names one (scripts/gpu-check.sh: two gloo ranks sharing cuda:0 on a one-GPU machine).
 */
import { DataParallel } from "../../src/distributed/data_parallel.ts";
import { DualMaskGenerator } from "../../src/masking/index.ts";
import { checkpointBlocks, createModel, pretrainLoss, targetOptions, type PretrainVisionTransformer } from "../../src/models/index.ts";
import { backward } from "../../src/nn/checkpoint.ts";
import { Generator, randn, tidy, type Device } from "../../src/torch/index.ts";
import type { ReducerStats } from "../../src/torch/distributed.ts";
import { Rng } from "../../src/util/rng.ts";

const dp = DataParallel.fromEnv();
if (!dp) throw new Error("run under `videomae launch`");
const BUCKET_BYTES = 4096; // a few buckets even for the tiny model
const device = (process.env.DIST_CHECK_DEVICE || dp.device) as Device;

function gradients(mode: "after" | "overlap" | "overlap+checkpoint"): { grads: Float32Array[]; stats?: ReducerStats } {
  const model = createModel("tiny_test_pretrain", { dropPathRate: 0.2, dropRate: 0.1, depth: 3 }, { generator: new Generator(1), dropGenerator: new Generator(2 + dp!.rank) }) as PretrainVisionTransformer;
  model.train();
  model.to(device);
  if (mode === "overlap+checkpoint") checkpointBlocks(model);
  const params = model.parameters();
  if (mode !== "after") dp!.overlapGradients(params, BUCKET_BYTES);
  const topts = targetOptions(model.config);
  const masks = new DualMaskGenerator({ window: [2, 4, 4], encoder: "tube", encoderRatio: 0.5, decoder: "run_cell", decoderRatio: 0.5 }).generate(2, new Rng(3));
  const accum = 2;
  for (let micro = 0; micro < accum; micro++) {
    dp!.beforeBackward(micro === accum - 1);
    tidy(() => {
      const x = randn([2, 3, 4, 32, 32], { generator: new Generator(100 * dp!.rank + micro) }).toDevice(device);
      const loss = pretrainLoss(x, model.forward(x, masks.encoder, masks.decoder), masks.encoder, masks.decoder, topts).loss;
      backward(loss.div(accum));
      return undefined;
    });
  }
  dp!.averageGradients(params);
  const grads = params.map((p) => tidy(() => p.grad!.data() as Float32Array));
  model.dispose();
  return mode === "after" ? { grads } : { grads, stats: dp!.lastOverlap! };
}

/** Largest |a − b| over all gradients. */
function maxDiff(a: Float32Array[], b: Float32Array[]): number {
  let worst = 0;
  a.forEach((x, k) => x.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - b[k]![i]!)))));
  return worst;
}

const plain = gradients("after");
const overlapped = gradients("overlap");
const checkpointed = gradients("overlap+checkpoint");
let checksum = 0;
for (const g of plain.grads) for (const v of g) checksum += v;
process.stdout.write(
  JSON.stringify({
    rank: dp.rank,
    device,
    backend: dp.backend,
    overlapDiff: maxDiff(plain.grads, overlapped.grads),
    checkpointDiff: maxDiff(plain.grads, checkpointed.grads),
    checksum,
    buckets: overlapped.stats!.buckets,
    launchedEarly: [overlapped.stats!.launchedEarly, checkpointed.stats!.launchedEarly],
  }) + "\n",
);
dp.close();
