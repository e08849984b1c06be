/** Gradient mode, as torch.no_grad() / torch.enable_grad(). */
import { DTYPE_CODE } from "./dtype.ts";
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
