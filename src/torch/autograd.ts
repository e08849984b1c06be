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
 * Runs `fn` under CPU autocast (torch.autocast("cpu", dtype)): matmul, linear and convolution
 * compute in `dtype` (bfloat16 by default) from float32 weights, while LayerNorm, softmax,
 * reductions and losses stay float32. Parameters stay float32 (master weights); gradients
 * flowing back to them are float32.
 */
export function autocast<T>(fn: () => T, dtype: "bfloat16" | "float16" = "bfloat16"): T {
  const prev = native.autocastEnter(DTYPE_CODE[dtype]);
  try {
    return fn();
  } finally {
    native.autocastExit(prev.enabled, prev.dtype);
  }
}

/** The CPU autocast state: whether it is on, and its low-precision dtype. */
export interface AutocastState {
  readonly enabled: boolean;
  readonly dtype: "bfloat16" | "float16";
}

export function autocastState(): AutocastState {
  const s = native.autocastState();
  return { enabled: s.enabled, dtype: DTYPE_OF_CODE[s.dtype] as AutocastState["dtype"] };
}

/** Runs `fn` in the autocast state `s` (e.g. one recorded earlier), whatever the current one is. */
export function withAutocastState<T>(s: AutocastState, fn: () => T): T {
  if (s.enabled) return autocast(fn, s.dtype);
  const prev = native.setAutocastEnabled(false);
  try {
    return fn();
  } finally {
    native.setAutocastEnabled(prev);
  }
}
