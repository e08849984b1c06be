/**
 * Activation checkpointing (torch.utils.checkpoint, non-reentrant flavour) as a JS-driven tape:
 * a checkpointed segment — a transformer block — runs its forward without recording a graph,
 * so none of its intermediate activations stay in memory; in backward it is run again, with the
 * graph, from its saved input, and back-propagated at once.
 *
 *   checkpointModules(model, (m) => m instanceof Block);   // or checkpoint(fn, x) per call
 *   const loss = tidy(() => lossOf(model.forward(x)));
 *   backward(loss);                                         // instead of loss.backward()
 *
 * How: `checkpoint(fn, x)` computes y = fn(x) under no-grad and returns y as a fresh leaf that
 * requires grad, so the rest of the forward builds its graph on it as usual. The tape records
 * (fn, x, y, generator states, autocast state). `backward(loss)` runs loss.backward() — it stops
 * at those leaves — then replays the segments last to first: restore the generators to their
 * state before the segment's forward (dropout and drop-path masks come out identical), re-enter
 * its autocast state, recompute fn(x) with grad, put the generators back, and back-propagate the
 * leaf's accumulated gradient through the recomputed graph. That fills the gradients of the
 * segment's parameters and of x: x is either the previous segment's leaf (its gradient is then
 * complete before that segment is replayed, since everything that consumed it was recorded
 * later) or a tensor of the ordinary graph (e.g. the patch embedding's output), through which
 * the same backward call continues — the ordinary graph is retained by loss.backward() for that.
 *
 * The recomputation is the same sequence of kernels on the same inputs, so the gradients are
 * those of the plain run: bit-identical, except where a gradient is summed from several
 * contributions in a different order (then within a few ulp).
 *
 * Nothing here is specific to a device: autograd runs only ordinary graphs, and the replay is
 * driven from JS — unlike a custom autograd node calling back into JS, which would deadlock
 * when libtorch runs it on a CUDA device thread.
 *
 * Every generator the segment may draw from must be known to restore it: the default CPU
 * generator always is; `checkpointModule` adds every `generator` of the module's Dropout/
 * DropPath layers; `checkpoint(fn, x, { generators })` takes them explicitly.
 */
import { autocastState, enableGrad, isGradEnabled, noGrad, withAutocastState, type AutocastState } from "../torch/autograd.ts";
import { isFloatingDtype } from "../torch/dtype.ts";
import { defaultGenerator, generatorState, setGeneratorState } from "../torch/random.ts";
import { keep, tidy } from "../torch/scope.ts";
import { generatorOn, type GeneratorLike, type Tensor } from "../torch/tensor.ts";
import type { Layer, Module } from "./module.ts";

/** A checkpointed segment could not be recorded or replayed. */
export class CheckpointError extends Error {
  override name = "CheckpointError";
}

interface Segment {
  readonly fn: (x: Tensor) => Tensor;
  /** Own handles (aliases) of the input and of the leaf returned for the output. */
  readonly input: Tensor;
  readonly output: Tensor;
  readonly generators: readonly GeneratorLike[];
  /** Their states just before the segment's forward. */
  readonly rng: readonly Tensor[];
  readonly autocast: AutocastState;
}

/** Segments recorded since the last backward(), in forward order. */
const tape: Segment[] = [];
let defaultGen: GeneratorLike | null = null;

function disposeSegment(s: Segment): void {
  s.input.dispose();
  s.output.dispose();
  for (const t of s.rng) t.dispose();
}

/**
 * y = fn(x) without keeping fn's activations when gradients are being recorded (else just
 * fn(x)). y is a leaf of its own; gradients reach fn's parameters and x only through
 * `backward()` of this module. `fn` must be deterministic given its input, its parameters and
 * the generators (default CPU generator + `generators`).
 */
export function checkpoint(fn: (x: Tensor) => Tensor, x: Tensor, opts: { generators?: readonly GeneratorLike[] } = {}): Tensor {
  if (!isGradEnabled()) return fn(x);
  defaultGen ??= defaultGenerator();
  // On a GPU the layers draw from their generators' counterparts there (Generator.on): those are
  // the streams to rewind. (Draws from the GPU's own default generator are not replayed: our
  // layers always pass a generator.)
  const device = x.device;
  const generators = [defaultGen, ...new Set((opts.generators ?? []).map((g) => generatorOn(g, device)!))];
  const rng = generators.map((g) => keep(generatorState(g)));
  const autocast = autocastState();
  let y: Tensor;
  try {
    y = noGrad(() => fn(x));
  } catch (e) {
    for (const t of rng) t.dispose();
    throw e;
  }
  if (y === x) {
    // An identity segment (nothing to save): no tape entry, the input itself flows on.
    for (const t of rng) t.dispose();
    return y;
  }
  if (!isFloatingDtype(y.dtype)) {
    for (const t of rng) t.dispose();
    throw new CheckpointError(`checkpoint: a segment must return a floating-point tensor, got ${y.dtype} [${y.shape.join(", ")}]`);
  }
  y.requiresGrad = true;
  tape.push({ fn, input: keep(x.alias()), output: keep(y.alias()), generators, rng, autocast });
  return y;
}

/**
 * loss.backward(gradient), then the replay of every segment checkpointed since the last call
 * (see the file comment). Without checkpointed segments it is exactly loss.backward(gradient).
 * Segments whose output did not get a gradient (a forward that was never back-propagated, an
 * unused output) are dropped.
 */
export function backward(loss: Tensor, gradient?: Tensor): void {
  const segments = tape.splice(0);
  if (!segments.length) {
    loss.backward(gradient);
    return;
  }
  try {
    // Retained: a segment whose input is a tensor of the ordinary graph back-propagates into
    // that graph later, and loss.backward() may have passed through the same nodes.
    const intoGraph = segments.some((s) => !s.input.isLeaf);
    loss.backward(gradient, intoGraph || undefined);
    // Last to first; each segment's saved tensors are released as soon as it is replayed, so the
    // block outputs kept through the forward go away while the parameter gradients build up.
    for (let s = segments.pop(); s; s = segments.pop()) {
      try {
        replay(s);
      } finally {
        disposeSegment(s);
      }
    }
  } finally {
    for (const s of segments) disposeSegment(s);
  }
}

function replay(s: Segment): void {
  const g = s.output.grad;
  s.output.grad = undefined; // consumed here; the output's value is recomputed, not needed
  s.output.dispose();
  if (!g) return;
  const now = s.generators.map((gen) => generatorState(gen));
  try {
    tidy(() => {
      let out: Tensor;
      try {
        s.generators.forEach((gen, i) => setGeneratorState(gen, s.rng[i]!));
        out = enableGrad(() => withAutocastState(s.autocast, () => s.fn(s.input)));
      } finally {
        s.generators.forEach((gen, i) => setGeneratorState(gen, now[i]!));
      }
      if (out.shape.length !== g.shape.length || out.shape.some((d, i) => d !== g.shape[i])) {
        throw new CheckpointError(`checkpoint: the recomputed segment returned [${out.shape.join(", ")}], its forward [${g.shape.join(", ")}]`);
      }
      enableGrad(() => out.backward(g, !s.input.isLeaf || undefined));
      return undefined;
    });
  } finally {
    g.dispose();
    for (const t of now) t.dispose();
  }
}

/** Segments recorded and not yet back-propagated (0 after every backward()). */
export function pendingCheckpoints(): number {
  return tape.length;
}

/** Drops the recorded segments without back-propagating (a step abandoned after its forward). */
export function discardCheckpoints(): void {
  for (const s of tape.splice(0)) disposeSegment(s);
}

/** Every generator a module's layers draw from (their `generator` property: Dropout, DropPath). */
export function moduleGenerators(m: Module): GeneratorLike[] {
  const out = new Set<GeneratorLike>();
  for (const [, sub] of m.namedModules()) {
    const g = (sub as { generator?: unknown }).generator;
    if (g && typeof g === "object" && "handle" in g) out.add(g as GeneratorLike);
  }
  return [...out];
}

const CHECKPOINTED = Symbol("checkpointed");

/**
 * Makes `m.forward` checkpointed (an own property shadowing the class's method; idempotent).
 * Its generators are collected now: layers added later are not seen.
 */
export function checkpointModule<M extends Module & Layer>(m: M): M {
  const tagged = m as M & { [CHECKPOINTED]?: boolean };
  if (tagged[CHECKPOINTED]) return m;
  const forward = m.forward.bind(m);
  const generators = moduleGenerators(m);
  m.forward = (x: Tensor) => checkpoint(forward, x, { generators });
  tagged[CHECKPOINTED] = true;
  return m;
}

/** Checkpoints every sub-module of `root` that `select` picks; returns how many. */
export function checkpointModules(root: Module, select: (m: Module) => boolean): number {
  let n = 0;
  for (const [, m] of root.namedModules()) {
    if (!select(m)) continue;
    if (typeof (m as Partial<Layer>).forward !== "function") throw new CheckpointError(`checkpointModules: ${m.constructor.name} has no forward(x)`);
    checkpointModule(m as Module & Layer);
    n++;
  }
  return n;
}
