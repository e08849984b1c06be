// Shared helpers for the checkpoint IO tests: fixture paths, expected values, temp dirs.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { RawTensor } from "../../src/io/raw.ts";
import { bytesOf } from "../../src/io/raw.ts";

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "io");

export function fixture(...parts: string[]): string {
  return join(FIXTURES, ...parts);
}

export interface ExpectedTensor {
  dtype: string;
  shape: number[];
  hex: string;
}

export interface ExpectedCheckpoint {
  root: string;
  wrapper: string | null;
  tensors?: Record<string, ExpectedTensor>;
  same_tensors_as?: string;
  float32?: Record<string, string>;
  strides?: Record<string, number[]>;
  offsets?: Record<string, number>;
  exp_avg_weight?: ExpectedTensor;
}

export function loadJson<T>(...parts: string[]): T {
  return JSON.parse(readFileSync(fixture(...parts), "utf8")) as T;
}

export function expectedCheckpoint(name: string): ExpectedCheckpoint & { tensors: Record<string, ExpectedTensor> } {
  const all = loadJson<Record<string, ExpectedCheckpoint>>("expected.json");
  const e = all[name];
  if (!e) throw new Error(`no expected values for ${name}`);
  const tensors = e.tensors ?? all[e.same_tensors_as ?? ""]?.tensors;
  if (!tensors) throw new Error(`no expected tensors for ${name}`);
  return { ...e, tensors };
}

export function hexOf(t: RawTensor): string {
  return Buffer.from(bytesOf(t)).toString("hex");
}

/** A fresh temp directory and a function that removes it. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "videomae-io-test-"));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

const enc = new TextEncoder();

/** Assemble a pickle from opcode bytes, strings (UTF-8 encoded) and byte lists. */
export function pkl(...parts: (number | string | number[])[]): Uint8Array {
  const out: number[] = [];
  for (const p of parts) {
    if (typeof p === "number") out.push(p);
    else if (typeof p === "string") out.push(...enc.encode(p));
    else out.push(...p);
  }
  return new Uint8Array(out);
}

/** Little-endian bytes of an unsigned integer (up to 2^53). */
export function le(value: number, bytes: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < bytes; i++) {
    out.push(value % 256);
    value = Math.floor(value / 256);
  }
  return out;
}
