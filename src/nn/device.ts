/**
 * Inference on the model's device: inputs made on the host (decoded frames, .npy files) follow the
 * model, and bf16 autocast is entered for that device's type. Outputs need nothing: reading a
 * tensor's data copies it to the host.
 */
import type { Module } from "./module.ts";
import { autocast, deviceType, type Tensor } from "../torch/index.ts";
import { inferencePrecision } from "../torch/tune.ts";

/** `x` on `model`'s device (x itself when it is already there; otherwise a copy the caller owns). */
export function onModelDevice(model: Module, x: Tensor): Tensor {
  const device = model.device;
  return x.device === device ? x : x.toDevice(device);
}

/** Runs `f` in the given precision on `model`'s device (bf16/fp16: autocast, fp32: as is). */
export function inPrecision<T>(model: Module, precision: "fp32" | "bf16" | "fp16" | undefined, f: () => T): T {
  if (precision === "bf16") return autocast(f, "bfloat16", deviceType(model.device));
  if (precision === "fp16") return autocast(f, "float16", deviceType(model.device));
  return f();
}

/**
 * {@link inPrecision} for inference: bf16 asked for on a CPU where the kernel tuner measured a bf16
 * ViT block slower than fp32 runs fp32 instead, saying so once per process (src/torch/tune.ts).
 */
export function inInferencePrecision<T>(model: Module, precision: "fp32" | "bf16" | "fp16" | undefined, f: () => T): T {
  return inPrecision(model, precision && inferencePrecision(precision, deviceType(model.device)), f);
}
