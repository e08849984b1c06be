/**
 * From a checkpoint file to a flat `name → tensor` state dict, the way the official VideoMAE V2
 * fine-tuning loader does it (`run_class_finetuning.py`, spec §6.5):
 *
 *  1. pick the state dict: the first of the wrapper keys `model`, `module` (then
 *     `state_dict`) whose value is a dict, else the whole object;
 *  2. optionally strip key prefixes (`_orig_mod.` from torch.compile, `encoder.` /
 *     `backbone.` from pre-training checkpoints, `model.` from HF remote-code repos);
 *  3. read tensors one at a time, so peak memory is the largest tensor plus the results.
 *
 * `.safetensors` files are accepted too (they have no wrapper).
 */
import type { DType } from "../torch/dtype.ts";
import { toFloat32 } from "./convert.ts";
import { CheckpointFormatError } from "./errors.ts";
import { keyName, openPth } from "./pth.ts";
import type { RawTensor } from "./raw.ts";
import { openSafetensors } from "./safetensors.ts";
import { TorchTensor } from "./torch_pickle.ts";

/** A tensor whose metadata is known and whose data is read on demand. */
export interface LazyTensor {
  readonly dtype: DType;
  readonly shape: readonly number[];
  read(): Promise<RawTensor>;
}

/** Wrapper keys tried in order when none are given. */
export const DEFAULT_MODEL_KEYS: readonly string[] = ["model", "module", "state_dict"];

/** Prefixes `detectKeyPrefixes` knows about. */
export const KNOWN_PREFIXES: readonly string[] = ["_orig_mod.", "module.", "backbone.", "encoder.", "model."];

export interface StateDictOptions {
  /**
   * Top-level keys to try, in order, for the state dict. Default `DEFAULT_MODEL_KEYS`; when no
   * key holds a dict the whole object is used. With `requireModelKey`, a missing key is an error.
   */
  modelKeys?: readonly string[];
  requireModelKey?: boolean;
  /** Prefixes to strip from every key, each at most once, in this order (default none). */
  stripPrefixes?: readonly string[];
  /** Keep only the keys (after stripping) for which this returns true; the others are never read. */
  filter?: (key: string) => boolean;
  /** Widen float16/bfloat16/float64 tensors to float32 as they are read. */
  toFloat32?: boolean;
}

export interface KeyPrefixReport {
  /** Number of keys examined. */
  readonly keyCount: number;
  /** How many keys start with each of `KNOWN_PREFIXES` (as given, before any stripping). */
  readonly prefixCounts: ReadonlyMap<string, number>;
  /**
   * The prefixes the official loader would strip, in order: `_orig_mod.` if any key has it;
   * `module.` if every key has it (DDP); `backbone.` / `encoder.` if any key has them; `model.`
   * if every key has it (HF remote-code repos).
   */
  readonly suggestedStrip: readonly string[];
}

export interface StateDictSource {
  readonly path: string;
  readonly format: "pth" | "safetensors";
  /** The top-level key the state dict came from, or null for a bare state dict. */
  readonly wrapper: string | null;
  /** Tensors by (stripped, filtered) key, in file order. */
  readonly tensors: ReadonlyMap<string, LazyTensor>;
  /** State-dict keys whose values are not tensors (ignored). */
  readonly nonTensorKeys: readonly string[];
  /** Key prefixes found before stripping. */
  readonly prefixes: KeyPrefixReport;
  close(): Promise<void>;
}

/**
 * Pick the state dict out of an unpickled checkpoint: the value of the first `modelKeys` entry
 * that is a dict, else the object itself (if it is a dict).
 */
export function selectStateDict(
  root: unknown,
  modelKeys: readonly string[] = DEFAULT_MODEL_KEYS,
): { wrapper: string | null; dict: Map<unknown, unknown> } | undefined {
  if (!(root instanceof Map)) return undefined;
  for (const k of modelKeys) {
    const v = root.get(k);
    if (v instanceof Map) return { wrapper: k, dict: v };
  }
  return { wrapper: null, dict: root };
}

/** Strip each prefix (in order, at most once) from the start of `key`. */
export function stripKeyPrefixes(key: string, prefixes: readonly string[]): string {
  for (const p of prefixes) if (p && key.startsWith(p)) key = key.slice(p.length);
  return key;
}

/**
 * A copy of `map` with prefixes stripped from every key (see `stripKeyPrefixes`). Two keys
 * that end up equal are an error rather than a silent overwrite.
 */
export function stripPrefixes<T>(map: ReadonlyMap<string, T>, prefixes: readonly string[], file = "<state dict>"): Map<string, T> {
  const out = new Map<string, T>();
  const from = new Map<string, string>();
  for (const [k, v] of map) {
    const s = stripKeyPrefixes(k, prefixes);
    const prev = from.get(s);
    if (prev !== undefined) throw collision(file, prefixes, prev, k, s);
    from.set(s, k);
    out.set(s, v);
  }
  return out;
}

/** Which wrapper prefixes the keys use, and what the official loader would strip. */
export function detectKeyPrefixes(keys: Iterable<string>): KeyPrefixReport {
  const list = [...keys];
  const count = (ks: string[], p: string) => ks.filter((k) => k.startsWith(p)).length;
  const prefixCounts = new Map(KNOWN_PREFIXES.map((p) => [p, count(list, p)] as const));
  const suggested: string[] = [];
  let ks = list;
  const apply = (p: string) => {
    suggested.push(p);
    ks = ks.map((k) => stripKeyPrefixes(k, [p]));
  };
  if (count(ks, "_orig_mod.") > 0) apply("_orig_mod.");
  if (ks.length && count(ks, "module.") === ks.length) apply("module.");
  for (const p of ["backbone.", "encoder."]) if (count(ks, p) > 0) apply(p);
  if (ks.length && count(ks, "model.") === ks.length) apply("model.");
  return { keyCount: list.length, prefixCounts, suggestedStrip: suggested };
}

/** Open a `.pth`/`.bin`/`.safetensors` checkpoint as a lazy state dict. Call `close()` when done. */
export async function openStateDict(path: string, opts: StateDictOptions = {}): Promise<StateDictSource> {
  if (/\.safetensors$/i.test(path)) return openSafetensorsStateDict(path, opts);
  const pth = await openPth(path);
  try {
    const modelKeys = opts.modelKeys ?? DEFAULT_MODEL_KEYS;
    const picked = selectStateDict(pth.root, modelKeys);
    if (!picked) {
      throw new CheckpointFormatError(path, `${path}: the checkpoint holds a ${describeType(pth.root)}, not a dict, so it has no state dict.`);
    }
    const topKeys = [...(pth.root as Map<unknown, unknown>).keys()].map((k) => String(keyName(k)));
    if (opts.requireModelKey && picked.wrapper === null) {
      throw new CheckpointFormatError(
        path,
        `${path}: none of the keys ${modelKeys.map((k) => `"${k}"`).join(", ")} holds a state dict; ` +
          `top-level keys are: ${topKeys.slice(0, 20).join(", ")}. Pass the right model key.`,
      );
    }
    const raw = new Map<string, LazyTensor>();
    const nonTensorKeys: string[] = [];
    for (const [k, v] of picked.dict) {
      if (v instanceof TorchTensor) raw.set(String(keyName(k)), v);
      else nonTensorKeys.push(String(keyName(k)));
    }
    if (raw.size === 0) {
      const where = picked.wrapper ? `under "${picked.wrapper}"` : "at the top level";
      throw new CheckpointFormatError(
        path,
        `${path}: no tensors found ${where} (top-level keys: ${topKeys.slice(0, 20).join(", ")}). ` +
          `Pass modelKeys naming the entry that holds the state dict.`,
      );
    }
    return finish(path, "pth", picked.wrapper, raw, nonTensorKeys, opts, () => pth.close());
  } catch (err) {
    await pth.close();
    throw err;
  }
}

async function openSafetensorsStateDict(path: string, opts: StateDictOptions): Promise<StateDictSource> {
  const st = await openSafetensors(path);
  try {
    return finish(path, "safetensors", null, new Map(st.tensors), [], opts, () => st.close());
  } catch (err) {
    await st.close();
    throw err;
  }
}

function finish(
  path: string,
  format: "pth" | "safetensors",
  wrapper: string | null,
  raw: Map<string, LazyTensor>,
  nonTensorKeys: string[],
  opts: StateDictOptions,
  close: () => Promise<void>,
): StateDictSource {
  const prefixes = detectKeyPrefixes(raw.keys());
  const strip = opts.stripPrefixes ?? [];
  const tensors = new Map<string, LazyTensor>();
  const from = new Map<string, string>();
  for (const [k, t] of raw) {
    const s = stripKeyPrefixes(k, strip);
    if (opts.filter && !opts.filter(s)) continue;
    const prev = from.get(s);
    if (prev !== undefined) throw collision(path, strip, prev, k, s);
    from.set(s, k);
    tensors.set(s, opts.toFloat32 ? widening(t) : t);
  }
  return { path, format, wrapper, tensors, nonTensorKeys, prefixes, close };
}

/** A LazyTensor that reads as float32 when its dtype is a wider or narrower float. */
function widening(t: LazyTensor): LazyTensor {
  // Storages of unsupported types have no dtype; leave them to fail clearly on read().
  const dtype = t instanceof TorchTensor ? t.storage.dtype : t.dtype;
  const floaty = dtype === "float16" || dtype === "bfloat16" || dtype === "float64";
  if (!floaty) return t;
  return { dtype: "float32", shape: t.shape, read: async () => toFloat32(await t.read()) };
}

/**
 * Read a checkpoint's state dict into memory, one tensor at a time.
 * Example: `readStateDict(p, { stripPrefixes: ["_orig_mod.", "encoder."], toFloat32: true })`.
 */
export async function readStateDict(path: string, opts: StateDictOptions = {}): Promise<Map<string, RawTensor>> {
  const src = await openStateDict(path, opts);
  try {
    const out = new Map<string, RawTensor>();
    for (const [k, t] of src.tensors) out.set(k, await t.read());
    return out;
  } finally {
    await src.close();
  }
}

function collision(file: string, prefixes: readonly string[], a: string, b: string, to: string): CheckpointFormatError {
  return new CheckpointFormatError(
    file,
    `${file}: stripping prefixes [${prefixes.map((p) => `"${p}"`).join(", ")}] maps both "${a}" and "${b}" to "${to}". ` +
      `Strip fewer prefixes, or filter out one of the keys.`,
  );
}

function describeType(v: unknown): string {
  if (v === null || v === undefined) return "None";
  if (Array.isArray(v)) return "list";
  if (typeof v === "object") return (v as object).constructor.name;
  return typeof v;
}
