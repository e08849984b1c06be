/**
 * `videomae demo`: an end-to-end check of the compute core on embedded data — a 3-class
 * two-spirals problem (not linearly separable) learned by an MLP with AdamW, the official
 * warm-up + cosine schedule and gradient clipping, then evaluated on held-out points.
 * (The VideoMAE pipeline demo replaces this once models and data land.)
 */
import { GELU, Linear, Sequential } from "../../nn/index.ts";
import { AdamW, clipGradNorm, cosineSchedule, parameterGroups } from "../../optim/index.ts";
import { F, manualSeed, noGrad, tensor, tidy } from "../../torch/index.ts";
import { Rng } from "../../util/rng.ts";
import { num, parseOptions, type Command } from "../command.ts";

/** n points per class on K interleaved noisy spirals: x [n·K, 2] float32, y [n·K] int64. */
export function spirals(nPerClass: number, classes: number, rng: Rng) {
  const xs: number[] = [];
  const ys: number[] = [];
  for (let c = 0; c < classes; c++) {
    for (let i = 0; i < nPerClass; i++) {
      const r = i / nPerClass;
      const angle = (c * 2 * Math.PI) / classes + 4 * r + rng.normal(0, 0.15);
      xs.push(r * Math.sin(angle), r * Math.cos(angle));
      ys.push(c);
    }
  }
  return { x: tensor(xs, { shape: [ys.length, 2] }), y: tensor(ys, { dtype: "int64" }) };
}

export const demoCommand: Command = {
  name: "demo",
  summary: "train and evaluate a small model on embedded data (a quick end-to-end check)",
  help: `Usage: videomae demo [--steps N] [--seed S] [--json]

Learns three interleaved spirals with an MLP (AdamW, warm-up + cosine lr, gradient clipping)
on the libtorch core, and reports the loss curve and held-out accuracy.

Options:
  --steps N   training steps (default 600)
  --seed S    random seed (default 0)
  --json      print a JSON summary only`,
  async run(argv) {
    const { values } = parseOptions(argv, { steps: { type: "string" }, seed: { type: "string" }, json: { type: "boolean" } });
    const steps = num(values.steps, 600, "steps");
    const seed = num(values.seed, 0, "seed");
    const say = values.json ? () => {} : (s: string) => console.log(s);
    manualSeed(seed);
    const rng = new Rng(seed);
    const train = spirals(300, 3, rng);
    const test = spirals(100, 3, rng);
    const model = new Sequential(new Linear(2, 64), new GELU(), new Linear(64, 64), new GELU(), new Linear(64, 3));
    const opt = new AdamW(parameterGroups(model.namedParameters(), { weightDecay: 0.01 }), { lr: 1e-2, betas: [0.9, 0.999], weightDecay: 0.01 });
    const lr = cosineSchedule({ base: 1e-2, final: 1e-4, epochs: steps, itersPerEpoch: 1, warmupSteps: Math.max(1, Math.floor(steps / 20)) });
    const batch = 128;
    const n = train.y.numel;
    const curve: number[] = [];
    const t0 = Date.now();
    say(`demo: 3-class spirals, MLP with ${model.numParameters()} parameters, ${steps} AdamW steps`);
    for (let it = 0; it < steps; it++) {
      opt.lr = lr[it]!;
      const loss = tidy(() => {
        const idx = tensor(Array.from({ length: batch }, () => rng.int(0, n - 1)), { dtype: "int64" });
        const logits = model.forward(train.x.indexSelect(0, idx));
        const l = F.crossEntropy(logits, train.y.indexSelect(0, idx), 0.05);
        opt.zeroGrad();
        l.backward();
        return l.item();
      });
      clipGradNorm(model.parameters(), 1.0);
      opt.step();
      curve.push(loss);
      if ((it + 1) % Math.max(1, Math.floor(steps / 6)) === 0) say(`  step ${String(it + 1).padStart(5)}  loss ${loss.toFixed(4)}  lr ${opt.lr.toExponential(2)}`);
    }
    model.eval();
    const accuracy = noGrad(() => tidy(() => model.forward(test.x).argmax(1).eq(test.y).float().mean().item()));
    const summary = { steps, firstLoss: curve[0], lastLoss: curve[curve.length - 1], testAccuracy: accuracy, seconds: (Date.now() - t0) / 1000 };
    if (values.json) console.log(JSON.stringify(summary));
    else say(`held-out accuracy ${(accuracy * 100).toFixed(1)}% (chance 33.3%) in ${summary.seconds.toFixed(1)} s`);
    return accuracy > 0.8 ? 0 : 1;
  },
};
