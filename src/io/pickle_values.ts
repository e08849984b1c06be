/**
 * The values the pickle VM builds besides plain JS data: references to Python globals,
 * placeholders for objects of unknown classes, and the table of built-in callables that REDUCE
 * may run (each only builds plain data; nothing from the pickle is ever executed).
 */

/** A reference to a Python global (`module.name`), pushed by GLOBAL / STACK_GLOBAL. */
export class PickleGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}

  get fullName(): string {
    return `${this.module}.${this.name}`;
  }
}

/**
 * Placeholder for an object of a class this reader does not know. `args` are the constructor
 * (REDUCE / NEWOBJ) arguments and `state` the BUILD state (usually a Map of attributes, or
 * `[dictState, slotState]`). Items added by SETITEM(S) / APPEND(S) — for dict or list
 * subclasses — are kept in `dictItems` / `listItems`.
 */
export class OpaqueObject {
  state: unknown = undefined;
  dictItems: Map<unknown, unknown> | undefined;
  listItems: unknown[] | undefined;

  constructor(
    readonly className: string,
    readonly args: unknown[],
    readonly kwargs?: Map<unknown, unknown>,
  ) {}

  /** Instance attributes from the BUILD state (e.g. the fields of an `argparse.Namespace`). */
  get attributes(): Map<string, unknown> {
    const out = new Map<string, unknown>();
    const parts = Array.isArray(this.state) && this.state.length === 2 ? this.state : [this.state];
    for (const part of parts) {
      if (part instanceof Map) for (const [k, v] of part) out.set(String(k), v);
    }
    return out;
  }
}

export interface CallContext {
  /** Call another global with the same resolution rules as REDUCE (used by wrappers such as `_rebuild_from_type_v2`). */
  call(callable: unknown, args: unknown[]): unknown;
  /** The file being read, for error messages. */
  readonly file: string;
}

export type PickleCallable = (args: unknown[], ctx: CallContext) => unknown;

function latin1Bytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}

function pairsToMap(iterable: unknown): Map<unknown, unknown> {
  const m = new Map<unknown, unknown>();
  if (iterable instanceof Map) for (const [k, v] of iterable) m.set(k, v);
  else if (Array.isArray(iterable)) for (const kv of iterable) if (Array.isArray(kv) && kv.length === 2) m.set(kv[0], kv[1]);
  return m;
}

/** Callables every pickle may use; they only build plain data. */
export const BUILTINS = new Map<string, PickleCallable>([
  ["collections.OrderedDict", (args) => pairsToMap(args[0])],
  ["collections.defaultdict", () => new Map()],
  ["builtins.dict", (args) => pairsToMap(args[0])],
  ["builtins.set", (args) => new Set(Array.isArray(args[0]) ? args[0] : [])],
  ["builtins.frozenset", (args) => new Set(Array.isArray(args[0]) ? args[0] : [])],
  ["builtins.list", (args) => (Array.isArray(args[0]) ? [...args[0]] : [])],
  ["builtins.tuple", (args) => (Array.isArray(args[0]) ? [...args[0]] : [])],
  // Protocol 2 has no bytes opcode usable from Python 3, so bytes arrive as _codecs.encode(str, "latin1").
  [
    "_codecs.encode",
    (args) => {
      const [s, enc] = args;
      if (typeof s !== "string") return new OpaqueObject("_codecs.encode", args);
      return enc === "latin1" || enc === "latin-1" ? latin1Bytes(s) : new TextEncoder().encode(s);
    },
  ],
  [
    "builtins.bytearray",
    (args) => {
      const [v] = args;
      if (v instanceof Uint8Array) return v.slice();
      if (typeof v === "string") return latin1Bytes(v);
      return new Uint8Array(0);
    },
  ],
  // copyreg._reconstructor(cls, base, state): how protocol < 2 pickles plain objects.
  ["copyreg._reconstructor", (args) => new OpaqueObject(describeCallable(args[0]), args.slice(1))],
]);

/** Python 2 module names that Python 3's unpickler maps to their new homes. */
export const MODULE_ALIASES: Record<string, string> = { __builtin__: "builtins", copy_reg: "copyreg" };

export function describeCallable(c: unknown): string {
  if (c instanceof PickleGlobal) return c.fullName;
  if (c instanceof OpaqueObject) return `${c.className}(...)`;
  return typeof c;
}
