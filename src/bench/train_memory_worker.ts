/**
 * One measurement of the training-memory benchmark (src/bench/train_memory.ts) in a process of
 * its own: builds the model, its input and AdamW, primes AdamW's moments (one update from zero
 * gradients, so the step below has the steady state's optimizer memory without paying a full
 * warm-up step), then runs one training step — forward, loss, backward (recomputing checkpointed
 * blocks), AdamW step, zero grad — and prints one JSON line: RSS before the model was built, the
 * peak RSS over that step (kernel high-water mark, src/bench/memory.ts), its seconds and its loss
 * (seeded: equal with and without checkpointing).
 *   node --import tsx src/bench/train_memory_worker.ts KIND MODEL BATCH CHECKPOINT(0|1)
 * KIND: "finetune" (cross-entropy on random labels) or "pretrain" (tube 0.9 + running cell 0.5).
 */
import { DualMaskGenerator } from "../masking/index.ts";
import { checkpointBlocks, createModel, gridSize, pretrainLoss, targetOptions, type PretrainVisionTransformer, type VisionTransformer } from "../models/index.ts";
import { backward } from "../nn/checkpoint.ts";
import { AdamW } from "../optim/index.ts";
import { F, manualSeed, noGrad, randint, randn, tidy, zeros, type Tensor } from "../torch/index.ts";
import { Rng } from "../util/rng.ts";
import { resetPeakRss, rssBytes } from "./memory.ts";

const [kind = "finetune", name = "vit_small_patch16_224", batchArg = "2", ckptArg = "0"] = process.argv.slice(2);
const batch = Number(batchArg);
manualSeed(0); // libtorch seeds its default generator at random: same weights, input and drop-path draws in both settings
const base = rssBytes("VmRSS");
const model = createModel(name as never, {}) as VisionTransformer | PretrainVisionTransformer;
model.train();
const blocks = ckptArg === "1" ? checkpointBlocks(model) : 0;
const b = model.config.kind === "vit" ? model.config : model.config.encoder;
const x = randn([batch, 3, b.numFrames, b.imgSize, b.imgSize]);
const opt = new AdamW([{ params: model.parameters() }], { lr: 1e-4, weightDecay: 0.05 });

let loss: () => Tensor;
if (model.config.kind === "vit") {
  const vit = model as VisionTransformer;
  const labels = randint(0, model.config.numClasses, [batch]);
  loss = () => F.crossEntropy(vit.forward(x), labels);
} else {
  const pt = model as PretrainVisionTransformer;
  const masks = new DualMaskGenerator({ window: gridSize(model.config), encoder: "tube", encoderRatio: 0.9, decoder: "run_cell", decoderRatio: 0.5 }).generate(batch, new Rng(0));
  const topts = targetOptions(model.config);
  loss = () => pretrainLoss(x, pt.forward(x, masks.encoder, masks.decoder), masks.encoder, masks.decoder, topts).loss;
}
if (kind !== model.config.kind.replace("vit", "finetune")) throw new Error(`${name} is not a ${kind} model`);

// AdamW's moments, allocated by one update from zero gradients.
noGrad(() => {
  for (const p of opt.params()) p.grad = zeros(p.shape);
});
opt.step();
opt.zeroGrad();

const before = rssBytes("VmRSS");
const exact = resetPeakRss();
const t0 = performance.now();
const value = tidy(() => {
  const l = loss();
  backward(l);
  return l.item();
});
opt.step();
opt.zeroGrad();
const seconds = (performance.now() - t0) / 1000;
process.stdout.write(JSON.stringify({ kind, model: name, batch, checkpointed: blocks > 0, blocks, base, before, peak: exact ? rssBytes("VmHWM") : 0, peakExact: exact, seconds, loss: value }) + "\n");
