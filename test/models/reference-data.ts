/**
 * The PyTorch golden values of tools/reference/videomae_reference.py: a float32 blob plus a JSON
 * manifest (name → element offset and shape; per-case configs, masks, losses).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { tensor, type Tensor } from "../../src/torch/index.ts";
import assert from "node:assert/strict";
import { assertClose, fixtures, readJson } from "../helpers.ts";

export interface RefCase {
  config: Record<string, number | boolean>;
  loss: number;
  grads: string[];
  targets?: number[];
  window?: [number, number, number];
  encoder_mask?: number[];
  decoder_mask?: number[];
  loss_raw?: number;
  loss_v1?: number;
  loss_tokens?: number;
}

interface Manifest {
  tensors: Record<string, { offset: number; shape: number[] }>;
  cases: Record<"vit" | "variant" | "pretrain", RefCase>;
  drop_path_rates: { rate: number; depth: number; values: number[] }[];
}

export const manifest = readJson<Manifest>("models", "reference.json");
const bytes = readFileSync(join(fixtures, "models", "reference.bin"));
const blob = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);

function entry(name: string) {
  const e = manifest.tensors[name];
  if (!e) throw new Error(`reference fixture has no tensor "${name}"`);
  return e;
}

/** The flat float32 values of a reference tensor. */
export function refArray(name: string): Float32Array {
  const e = entry(name);
  const n = e.shape.reduce((a, b) => a * b, 1);
  return blob.slice(e.offset, e.offset + n);
}

export function refShape(name: string): number[] {
  return entry(name).shape;
}

export function refTensor(name: string): Tensor {
  return tensor(refArray(name), { shape: refShape(name) });
}

/** The state dict of a case, under the official key names. */
export function refStateDict(caseName: string): Map<string, Tensor> {
  const prefix = `${caseName}/sd/`;
  const sd = new Map<string, Tensor>();
  for (const name of Object.keys(manifest.tensors)) {
    if (name.startsWith(prefix)) sd.set(name.slice(prefix.length), refTensor(name));
  }
  return sd;
}

export function refCase(name: "vit" | "variant" | "pretrain"): RefCase {
  return manifest.cases[name];
}

/** A JSON 0/1 list as the Uint8Array masks the models take. */
export function refMask(values: number[] | undefined): Uint8Array {
  if (!values) throw new Error("reference case has no mask");
  return Uint8Array.from(values);
}

/** Gradient comparison: 1e-4 relative to each element, plus 1e-4 of the tensor's largest entry. */
export function assertGradClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  let max = 0;
  for (let i = 0; i < expected.length; i++) max = Math.max(max, Math.abs(expected[i]!));
  assert.ok(max > 0, `${what}: reference gradient is all zero`);
  assertClose(actual, expected, 1e-4 * max, 1e-4, what);
}
