/** Seedable random streams for tensor-valued randomness (init, dropout, randn...). */
import { native, type GeneratorHandle } from "./native.ts";
import { Tensor, type GeneratorLike } from "./tensor.ts";

/**
 * An independent libtorch CPU generator (mt19937). Pass it to creation ops and dropout to make
 * them reproducible without touching the global seed.
 *
 *   const g = new Generator(0);
 *   randn([2, 3], { generator: g }); // same values for the same seed, every run
 */
export class Generator {
  /** @internal */ readonly handle: GeneratorHandle;
  constructor(readonly seed: number) {
    this.handle = native.newGenerator(seed);
  }
  /** The full generator state as a uint8 tensor (save it to resume a stream exactly). */
  getState(): Tensor {
    return new Tensor(native.generatorState(this.handle));
  }
  setState(state: Tensor): void {
    native.setGeneratorState(this.handle, state.handle);
  }
}

/**
 * libtorch's default CPU generator (what dropout, rand… use without a generator), as a handle
 * whose state can be read and restored like a Generator's.
 */
export function defaultGenerator(): GeneratorLike {
  return { handle: native.defaultGenerator() };
}

/** The full state of any generator (a uint8 tensor). */
export function generatorState(g: GeneratorLike): Tensor {
  return new Tensor(native.generatorState(g.handle));
}

export function setGeneratorState(g: GeneratorLike, state: Tensor): void {
  native.setGeneratorState(g.handle, state.handle);
}

/** Seeds libtorch's default CPU generator, used by ops called without a generator. */
export function manualSeed(seed: number): void {
  native.manualSeed(seed);
}
