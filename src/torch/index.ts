/** The tensor library: libtorch tensors, autograd and memory scopes for TypeScript. */
export { Tensor, generatorOn, type Shape, type GeneratorLike } from "./tensor.ts";
export {
  resolveDevice,
  cudaInfo,
  cudaAvailable,
  synchronize,
  gpuMemory,
  describeDevice,
  deviceType,
  isDeviceSpec,
  toDeviceAll,
  canonicalDevice,
  DeviceError,
  type Device,
  type DeviceSpec,
  type CudaInfo,
  type GpuInfo,
  type GpuMemory,
} from "./device.ts";
export * from "./creation.ts";
export * as F from "./functional.ts";
export { tidy, keep, dispose, scopeDepth } from "./scope.ts";
export { noGrad, enableGrad, isGradEnabled, autocast, autocastState, withAutocastState, type AutocastState } from "./autograd.ts";
export { Generator, manualSeed, defaultGenerator, generatorState, setGeneratorState } from "./random.ts";
export { setNumThreads, getNumThreads, blasInfo, native, NativeAddonMissingError, type BlasInfo } from "./native.ts";
export { type DType, DTYPE_BYTES, isFloatingDtype } from "./dtype.ts";
export { ProcessGroup, GradientReducer, GradientReducerError, CollectiveError, distributedAvailable, ncclAvailable, setParentDeathSignal, type ProcessGroupOptions, type ReducerStats } from "./distributed.ts";
export { ensureKernelChoices, kernelChoicesStatus, describeChoices, type KernelChoices, type TuneStatus, type TuneRecord } from "./tune.ts";
export { profileOps, type OpTime } from "./op_profile.ts";
