/**
 * Devices: where tensors live. `"cpu"`, `"cuda"` (= `"cuda:0"`) or `"cuda:N"`; `"auto"` resolves
 * to the first GPU when this process can use one, else the CPU.
 *
 *   const device = resolveDevice("auto");     // "cuda:0" on a GPU machine, "cpu" elsewhere
 *   const x = zeros([2, 3], { device });
 *   model.to(device);
 *
 * CUDA needs an addon built against a CUDA libtorch (scripts/libtorch-env.sh 2.6-cuda, or
 * scripts/gpu-check.sh with a pip torch); with Debian's CPU libtorch every CUDA request is an error
 * that says so.
 */
import { ops, type NativeHandle } from "./native.ts";
import { Tensor } from "./tensor.ts";

/** A concrete device. */
export type Device = "cpu" | "cuda" | `cuda:${number}`;
/** What users write: a device, or "auto". */
export type DeviceSpec = Device | "auto";

/** A device that cannot be used here (no GPU, CPU-only libtorch, bad name). */
export class DeviceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DeviceError";
  }
}

const DEVICE_SYNTAX = /^(auto|cpu|cuda(:\d+)?)$/;

/** Whether `s` is written like a device spec (it may still be unusable here). */
export function isDeviceSpec(s: string): s is DeviceSpec {
  return DEVICE_SYNTAX.test(s);
}

export interface GpuInfo {
  index: number;
  name: string;
  memoryBytes: number;
  /** "9.0" for an H100/H200 */
  computeCapability: string;
}

export interface CudaInfo {
  /** The addon's libtorch has CUDA. */
  built: boolean;
  /** … and sees at least one GPU. */
  available: boolean;
  deviceCount: number;
  /** CUDA runtime / cuDNN / NCCL versions as libtorch reports them (CUDA builds only). */
  cudaRuntime?: string;
  cudnn?: string;
  nccl?: string;
  /** The driver's CUDA version, when an NVIDIA driver is installed. */
  driverCuda?: string;
  /** GPUs the NVIDIA driver sees, whether or not this libtorch can use them. */
  gpus: GpuInfo[];
  /** GPU memory statistics and the side copy stream were compiled in. */
  haveCudaHeaders: boolean;
}

let cached: CudaInfo | undefined;
/** What this process can do with CUDA (cached: the answer does not change while it runs). */
export function cudaInfo(): CudaInfo {
  return (cached ??= ops.cudaInfo() as CudaInfo);
}

export function cudaAvailable(): boolean {
  return cudaInfo().available;
}

/**
 * The device to run on: "auto" → "cuda:0" when a GPU is usable, else "cpu"; anything else is
 * checked (a CUDA device on a machine without one is a DeviceError saying why) and returned in
 * canonical form ("cuda" → "cuda:0").
 */
export function resolveDevice(spec: string = "auto"): Device {
  if (!isDeviceSpec(spec)) throw new DeviceError(`device '${spec}' is not one of auto, cpu, cuda, cuda:N`);
  if (spec === "auto") return cudaAvailable() ? "cuda:0" : "cpu";
  try {
    return ops.checkDevice(spec) as Device;
  } catch (e) {
    throw new DeviceError((e as Error).message.replace(/^checkDevice\([^)]*\): /, ""));
  }
}

/** The name a tensor reports for `d`: "cuda" is "cuda:0" (no check that the device exists). */
export function canonicalDevice(d: Device): Device {
  return d === "cuda" ? "cuda:0" : d;
}

/** The device type, as autocast wants it: "cpu" or "cuda". */
export function deviceType(d: Device): "cpu" | "cuda" {
  return d === "cpu" ? "cpu" : "cuda";
}

/**
 * Copies of `tensors` on `device`. On a GPU the copies run on a side stream that the compute
 * stream waits for before it uses them; from pinned host memory (Tensor.pinMemory) with
 * `nonBlocking` the call returns before they finish, so they overlap the work already queued.
 */
export function toDeviceAll(tensors: Tensor[], device: Device, opts: { nonBlocking?: boolean } = {}): Tensor[] {
  return (ops.toDeviceAll(tensors.map((t) => t.handle), device, opts.nonBlocking ?? false) as NativeHandle[]).map((h) => new Tensor(h));
}

/** Waits for the device's queued work (for timing); nothing on the CPU. */
export function synchronize(device: Device): void {
  if (device !== "cpu") ops.synchronize(device);
}

export interface GpuMemory {
  allocated: number;
  peakAllocated: number;
}
/** Bytes held by tensors on a GPU now and at the peak (since the last reset). */
export function gpuMemory(device: Device, opts: { resetPeak?: boolean } = {}): GpuMemory {
  if (device === "cpu") throw new DeviceError("gpuMemory() is for CUDA devices; on the CPU read the process RSS");
  const index = Number(resolveDevice(device).split(":")[1] ?? 0);
  return ops.cudaMemory(index, opts.resetPeak ?? false) as GpuMemory;
}

/** A one-line description for logs: "cuda:0 (NVIDIA H200, 139 GiB, sm 9.0)" or "cpu". */
export function describeDevice(device: Device): string {
  if (device === "cpu") return "cpu";
  const index = Number(device.split(":")[1] ?? 0);
  const g = cudaInfo().gpus.find((x) => x.index === index);
  return g ? `${device} (${g.name}, ${(g.memoryBytes / 2 ** 30).toFixed(0)} GiB, sm ${g.computeCapability})` : device;
}

