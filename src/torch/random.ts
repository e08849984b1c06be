/** Seedable random streams for tensor-valued randomness (init, dropout, randn...). */
import { canonicalDevice, type Device } from "./device.ts";
import { native, ops, type GeneratorHandle } from "./native.ts";
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
  private readonly onDevice = new Map<Device, Generator>();
  /** A CPU generator by default; `device` makes one for draws on a GPU (CUDA kernels need one). */
  constructor(
    readonly seed: number,
    readonly device: Device = "cpu",
  ) {
    this.handle = device === "cpu" ? native.newGenerator(seed) : (ops.newDeviceGenerator(seed, device) as GeneratorHandle);
  }
  /**
   * This stream's counterpart for draws on `device`: itself on its own device, else a generator
   * on `device` seeded from this one's seed (made once, then reused), as each device in PyTorch
   * has its own generator.
   */
  on(device: Device): Generator {
    if (canonicalDevice(device) === canonicalDevice(this.device)) return this;
    let g = this.onDevice.get(device);
    if (!g) this.onDevice.set(device, (g = new Generator(this.seed, device)));
    return g;
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
