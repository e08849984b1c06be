/**
 * Class names and label-space maps (spec §5.4).
 *
 * Label-name files: one name per line (official `misc/label_map_k710.txt`), a JSON array of
 * names, or a JSON object `{ "name": index }`. Line/array position = class index.
 *
 * LabelIndexMap: a subset label space embedded in a larger one, stored as the official JSON
 * list (`misc/label_710to400.json`): entry i = the index in the full space (K710) of class i of
 * the subset (K400). It serves both directions the pipeline needs:
 *   - the model loader gathers head rows: new row i = old row indices[i] (710 → 400 rows);
 *   - a dataset merging labelled lists into one space (K710 style) maps each source list's
 *     label l to indices[l].
 */
import { readFileSync } from "node:fs";

import { LabelMapError } from "./errors.ts";
import type { ListEntry } from "./lists.ts";

/** Parses class names (text lines, JSON array, or JSON {name: index}); `source` names the file in errors. */
export function parseLabelNames(text: string, source = "<labels>"): string[] {
  const body = text.replace(/^\uFEFF/, "");
  const first = body.trimStart()[0];
  let names: string[];
  if (first === "[" || first === "{") {
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch (err) {
      throw new LabelMapError(source, `invalid JSON (${(err as Error).message})`);
    }
    names = Array.isArray(json) ? namesFromArray(json, source) : namesFromObject(json as Record<string, unknown>, source);
  } else {
    const lines = body.split(/\r?\n/).map((l) => l.trim());
    while (lines.length && lines[lines.length - 1] === "") lines.pop();
    const blank = lines.indexOf("");
    // A blank line in the middle would shift every later class index by one.
    if (blank >= 0) throw new LabelMapError(source, `line ${blank + 1} is blank; one class name per line, no gaps`);
    names = lines;
  }
  if (names.length === 0) throw new LabelMapError(source, "no class names");
  const seen = new Map<string, number>();
  names.forEach((n, i) => {
    const j = seen.get(n);
    if (j !== undefined) throw new LabelMapError(source, `class name "${n}" appears twice (classes ${j} and ${i})`);
    seen.set(n, i);
  });
  return names;
}

/** Reads a label-name file (see parseLabelNames). */
export function readLabelNames(file: string): string[] {
  return parseLabelNames(readText(file), file);
}

function namesFromArray(a: unknown[], source: string): string[] {
  a.forEach((v, i) => {
    if (typeof v !== "string" || v.trim() === "") throw new LabelMapError(source, `entry ${i} is not a non-empty string`);
  });
  return (a as string[]).map((s) => s.trim());
}

function namesFromObject(o: Record<string, unknown>, source: string): string[] {
  if (o === null || typeof o !== "object") throw new LabelMapError(source, "expected a JSON array of names or an object {name: index}");
  const names: string[] = [];
  const entries = Object.entries(o);
  for (const [name, idx] of entries) {
    if (!Number.isInteger(idx) || (idx as number) < 0 || (idx as number) >= entries.length) {
      throw new LabelMapError(source, `"${name}": index ${JSON.stringify(idx)} must be an integer in 0..${entries.length - 1}`);
    }
    if (names[idx as number] !== undefined) throw new LabelMapError(source, `index ${idx} is used by "${names[idx as number]}" and "${name}"`);
    names[idx as number] = name.trim();
  }
  return names;
}

export interface IndexMapOptions {
  /** Size of the full label space (710 for K710); indices must be below it. */
  fullSize?: number;
}

/** A subset label space inside a larger one (see the file comment). Immutable. */
export class LabelIndexMap {
  /** indices[i] = full-space index of subset class i. */
  readonly indices: Int32Array;
  /** Size of the full space (max index + 1 when not given). */
  readonly fullSize: number;
  private readonly inverse: Int32Array;

  constructor(indices: ArrayLike<number>, opts: IndexMapOptions & { source?: string } = {}) {
    const source = opts.source ?? "<label map>";
    const n = indices.length;
    if (n === 0) throw new LabelMapError(source, "the index map is empty");
    let max = -1;
    for (let i = 0; i < n; i++) {
      const v = indices[i]!;
      if (!Number.isInteger(v) || v < 0) throw new LabelMapError(source, `entry ${i} is ${JSON.stringify(v)}, expected a non-negative integer`);
      max = Math.max(max, v);
    }
    const fullSize = opts.fullSize ?? max + 1;
    if (!Number.isInteger(fullSize) || fullSize < n) {
      throw new LabelMapError(source, `full label space size ${fullSize} is smaller than the ${n} classes mapped into it`);
    }
    const inverse = new Int32Array(fullSize).fill(-1);
    for (let i = 0; i < n; i++) {
      const v = indices[i]!;
      if (v >= fullSize) throw new LabelMapError(source, `entry ${i} = ${v} is out of range for a ${fullSize}-class label space`);
      if (inverse[v] !== -1) throw new LabelMapError(source, `entries ${inverse[v]} and ${i} both map to ${v}; each class needs its own row`);
      inverse[v] = i;
    }
    this.indices = Int32Array.from(indices);
    this.fullSize = fullSize;
    this.inverse = inverse;
  }

  /** Parses the official JSON list (`[341, 12, …]`). */
  static parse(text: string, source = "<label map>", opts: IndexMapOptions = {}): LabelIndexMap {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new LabelMapError(source, `invalid JSON (${(err as Error).message}); expected a list of class indices like label_710to400.json`);
    }
    if (!Array.isArray(json)) throw new LabelMapError(source, "expected a JSON list of class indices like label_710to400.json");
    return new LabelIndexMap(json as number[], { ...opts, source });
  }

  static read(file: string, opts: IndexMapOptions = {}): LabelIndexMap {
    return LabelIndexMap.parse(readText(file), file, opts);
  }

  /** The map that sends each subset name to the same name in the full list. Every subset name must exist there. */
  static fromNames(fullNames: readonly string[], subsetNames: readonly string[], source = "<label names>"): LabelIndexMap {
    const where = new Map(fullNames.map((n, i) => [n, i] as const));
    const indices = subsetNames.map((n, i) => {
      const j = where.get(n);
      if (j === undefined) throw new LabelMapError(source, `class ${i} "${n}" is not in the full label list (${fullNames.length} names)`);
      return j;
    });
    return new LabelIndexMap(indices, { fullSize: fullNames.length, source });
  }

  /** Number of classes in the subset. */
  get size(): number {
    return this.indices.length;
  }

  /** Full-space index of subset class `label`. */
  toFull(label: number): number {
    if (!Number.isInteger(label) || label < 0 || label >= this.indices.length) {
      throw new RangeError(`LabelIndexMap.toFull: label ${label} is out of range for ${this.indices.length} classes`);
    }
    return this.indices[label]!;
  }

  /** Subset class of full-space index `full`, or -1 when that class is not in the subset. */
  fromFull(full: number): number {
    return Number.isInteger(full) && full >= 0 && full < this.fullSize ? this.inverse[full]! : -1;
  }

  /**
   * Gathers rows of a row-major (fullSize, rowLength) array into (size, rowLength): the head
   * conversion of `run_class_finetuning.py` (weight rowLength = D, bias rowLength = 1).
   */
  gatherRows<T extends Float32Array | Float64Array | Uint16Array>(rows: T, rowLength: number): T {
    if (rows.length !== this.fullSize * rowLength) {
      throw new RangeError(`LabelIndexMap.gatherRows: got ${rows.length} values, expected ${this.fullSize} rows × ${rowLength}`);
    }
    const Ctor = rows.constructor as new (n: number) => T;
    const out = new Ctor(this.indices.length * rowLength);
    this.indices.forEach((src, i) => out.set(rows.subarray(src * rowLength, (src + 1) * rowLength), i * rowLength));
    return out;
  }

  toJSON(): number[] {
    return Array.from(this.indices);
  }
}

/** One labelled list and the map from its label space into the merged one (none = already merged). */
export interface LabelledSource {
  entries: readonly ListEntry[];
  map?: LabelIndexMap;
}

/**
 * Several labelled lists merged into one label space (K710 style: K400/K600/K700 lists with
 * their 400/600/700-class labels, each mapped into 710 classes). Returns new entries with
 * merged labels, sources in order. Every source must land in the same full space.
 */
export function mergeLabelledLists(sources: readonly LabelledSource[]): ListEntry[] {
  const sizes = new Set(sources.flatMap((s) => (s.map ? [s.map.fullSize] : [])));
  if (sizes.size > 1) throw new LabelMapError("<merge>", `the label maps target different label spaces (${[...sizes].join(", ")} classes)`);
  const out: ListEntry[] = [];
  for (const { entries, map } of sources) {
    for (const e of entries) {
      if (!map) {
        out.push({ ...e });
        continue;
      }
      if (e.label < 0 || e.label >= map.size) {
        throw new LabelMapError(e.source, `line ${e.line}: label ${e.label} is out of range for its ${map.size}-class label map`);
      }
      out.push({ ...e, label: map.toFull(e.label) });
    }
  }
  return out;
}

function readText(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new LabelMapError(file, code === "ENOENT" ? "file not found" : `cannot read (${String(err)})`);
  }
}
