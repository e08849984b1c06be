/** Gradient mode, as torch.no_grad() / torch.enable_grad(). */
import { DTYPE_CODE, DTYPE_OF_CODE } from "./dtype.ts";
import { native } from "./native.ts";

/** Runs `fn` with gradient recording off (inference, optimizer updates). */
export function noGrad<T>(fn: () => T): T {
  const prev = native.setGradEnabled(false);
  try {
    return fn();
  } finally {
    native.setGradEnabled(prev);
  }
}

/** Runs `fn` with gradient recording on, even inside noGrad. */
export function enableGrad<T>(fn: () => T): T {
  const prev = native.setGradEnabled(true);
  try {
    return fn();
  } finally {
    native.setGradEnabled(prev);
  }
}

export function isGradEnabled(): boolean {
  return native.isGradEnabled();
}

/**
 * Runs `fn` under autocast (torch.autocast(deviceType, dtype)): matmul, linear and convolution
 * compute in `dtype` (bfloat16 by default) from float32 weights, while LayerNorm, softmax,
 * reductions and losses stay float32. Parameters stay float32 (master weights); gradients
 * flowing back to them are float32. `deviceType` is the type of the tensors' device ("cpu" by
 * default, "cuda" on a GPU, where float16 needs a GradScaler in training).
 */
export function autocast<T>(fn: () => T, dtype: "bfloat16" | "float16" = "bfloat16", deviceType: "cpu" | "cuda" = "cpu"): T {
  const prev = native.autocastEnter(DTYPE_CODE[dtype], deviceType);
  try {
    return fn();
  } finally {
    native.autocastExit(prev.enabled, prev.dtype, deviceType);
  }
}

/** One device type's autocast state: whether it is on, and its low-precision dtype. */
export interface DeviceAutocastState {
  readonly enabled: boolean;
  readonly dtype: "bfloat16" | "float16";
}

/** The autocast state of the CPU (top level, as before devices) and of CUDA. */
export interface AutocastState extends DeviceAutocastState {
  readonly cuda: DeviceAutocastState;
}

function deviceAutocastState(deviceType: "cpu" | "cuda"): DeviceAutocastState {
  const s = native.autocastState(deviceType);
  return { enabled: s.enabled, dtype: DTYPE_OF_CODE[s.dtype] as DeviceAutocastState["dtype"] };
}

export function autocastState(): AutocastState {
  return { ...deviceAutocastState("cpu"), cuda: deviceAutocastState("cuda") };
}

/** Runs `fn` in one device type's recorded autocast state, whatever its current one is. */
function withDeviceAutocast<T>(s: DeviceAutocastState, deviceType: "cpu" | "cuda", fn: () => T): T {
  if (s.enabled) return autocast(fn, s.dtype, deviceType);
  const prev = native.setAutocastEnabled(false, deviceType);
  try {
    return fn();
  } finally {
    native.setAutocastEnabled(prev, deviceType);
  }
}

/** Runs `fn` in the autocast state `s` (e.g. one recorded earlier), whatever the current one is. */
export function withAutocastState<T>(s: AutocastState, fn: () => T): T {
  return withDeviceAutocast(s, "cpu", () => withDeviceAutocast(s.cuda, "cuda", fn));
}
