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
  /**
   * Count `units` of work (elements copied) against the pickle's budget, which is proportional
   * to its size: a callable that copies its argument must charge for it, or a pickle that
   * passes one memoised list to it many times would cost time quadratic in its size.
   */
  charge(units: number): void;
  /** The file being read, for error messages. */
  readonly file: string;
}

export type PickleCallable = (args: unknown[], ctx: CallContext) => unknown;

function latin1Bytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}

function pairsToMap(iterable: unknown, ctx: CallContext): Map<unknown, unknown> {
  const m = new Map<unknown, unknown>();
  if (iterable instanceof Map) {
    ctx.charge(iterable.size);
    for (const [k, v] of iterable) m.set(k, v);
  } else if (Array.isArray(iterable)) {
    ctx.charge(iterable.length);
    for (const kv of iterable) if (Array.isArray(kv) && kv.length === 2) m.set(kv[0], kv[1]);
  }
  return m;
}

/** A copy of `v` when it is an array (charged to the budget), else []. */
function copyArray(v: unknown, ctx: CallContext): unknown[] {
  if (!Array.isArray(v)) return [];
  ctx.charge(v.length);
  return v.slice();
}

/** Callables every pickle may use; they only build plain data. */
export const BUILTINS = new Map<string, PickleCallable>([
  ["collections.OrderedDict", (args, ctx) => pairsToMap(args[0], ctx)],
  ["collections.defaultdict", () => new Map()],
  ["builtins.dict", (args, ctx) => pairsToMap(args[0], ctx)],
  ["builtins.set", (args, ctx) => new Set(copyArray(args[0], ctx))],
  ["builtins.frozenset", (args, ctx) => new Set(copyArray(args[0], ctx))],
  ["builtins.list", (args, ctx) => copyArray(args[0], ctx)],
  ["builtins.tuple", (args, ctx) => copyArray(args[0], ctx)],
  // Protocol 2 has no bytes opcode usable from Python 3, so bytes arrive as _codecs.encode(str, "latin1").
  [
    "_codecs.encode",
    (args, ctx) => {
      const [s, enc] = args;
      if (typeof s !== "string") return new OpaqueObject("_codecs.encode", args);
      ctx.charge(s.length);
      return enc === "latin1" || enc === "latin-1" ? latin1Bytes(s) : new TextEncoder().encode(s);
    },
  ],
  [
    "builtins.bytearray",
    (args, ctx) => {
      const [v] = args;
      if (v instanceof Uint8Array) {
        ctx.charge(v.length);
        return v.slice();
      }
      if (typeof v === "string") {
        ctx.charge(v.length);
        return latin1Bytes(v);
      }
      return new Uint8Array(0);
    },
  ],
  // copyreg._reconstructor(cls, base, state): how protocol < 2 pickles plain objects.
  ["copyreg._reconstructor", (args) => new OpaqueObject(describeCallable(args[0]), args.slice(1))],
]);

/**
 * Classes whose instances are plain data and may appear in checkpoints; they load as
 * `OpaqueObject`s (class name, constructor arguments, BUILD state). Together with `BUILTINS`
 * and the torch rebuild functions (torch_pickle.ts) this is the whole allow-list: what
 * `torch.save` writes for state dicts, optimizer/scaler state and the official training
 * scripts' `args`, and what `torch.load(weights_only=True)` accepts.
 */
export const DATA_CLASSES: ReadonlySet<string> = new Set([
  "argparse.Namespace",
  // torch.__version__ stored in a checkpoint's metadata (a str subclass); on torch 2.x's
  // weights_only allow-list too.
  "torch.torch_version.TorchVersion",
  "collections.Counter",
  // copyreg._reconstructor(cls, builtins.object, None): protocol 0/1 plain objects.
  "builtins.object",
  "builtins.slice",
  "builtins.complex",
  "builtins.range",
  "pathlib.PosixPath",
  "pathlib.WindowsPath",
  "pathlib.PurePosixPath",
  "pathlib.PureWindowsPath",
  "pathlib.Path",
  // numpy scalars (np.float64(0.5) in metrics), dtypes and arrays; numpy 2 moved numpy.core to numpy._core.
  "numpy.core.multiarray.scalar",
  "numpy.core.multiarray._reconstruct",
  "numpy._core.multiarray.scalar",
  "numpy._core.multiarray._reconstruct",
  "numpy.dtype",
  "numpy.ndarray",
  "numpy.dtypes.Float64DType",
  "numpy.dtypes.Float32DType",
  "numpy.dtypes.Float16DType",
  "numpy.dtypes.Int64DType",
  "numpy.dtypes.Int32DType",
  "numpy.dtypes.BoolDType",
  "numpy.dtypes.UInt8DType",
]);

/** Modules all of whose callables run code or reach the system (processes, files, sockets, imports). */
const CODE_EXECUTION_MODULES: ReadonlySet<string> = new Set([
  "os", "posix", "nt", "subprocess", "pty", "commands", "popen2", "runpy", "importlib", "imp", "ctypes", "socket",
  "sys", "shutil", "webbrowser", "timeit", "code", "codeop", "multiprocessing", "asyncio", "pdb", "bdb", "profile",
  "cProfile", "trace", "marshal", "pickle", "_pickle", "cPickle", "dill", "shelve", "builtins", "__builtin__",
  "_posixsubprocess", "platform", "pip", "setuptools", "distutils", "urllib", "http", "ftplib", "telnetlib", "smtplib",
]);

/** Single callables outside those modules that run code (gadgets of published pickle exploits). */
const CODE_EXECUTION_NAMES: ReadonlySet<string> = new Set([
  "operator.attrgetter", "operator.methodcaller", "operator.getitem", "functools.partial", "functools.reduce",
  "torch.load", "torch.hub.load", "torch.jit.load", "torch.package.PackageImporter", "numpy.load", "numpy.testing._private.utils.runstring",
  "torch._inductor.codecache.compile_file", "torch.utils.cpp_extension.load_inline", "torch.utils.cpp_extension.load",
  "torch.serialization.load", "copyreg.__newobj__", "copyreg.__newobj_ex__", "types.FunctionType", "types.CodeType",
]);

/**
 * True when `module.name` (after MODULE_ALIASES) would run code or touch the system when
 * plain `torch.load` unpickles it. (`builtins` data types such as `builtins.set` are on the
 * allow-list and never reach this check.)
 */
export function isCodeExecutionGlobal(module: string, name: string): boolean {
  const top = module.split(".")[0]!;
  // os.path is string manipulation (refused all the same, but not called a payload).
  if (module === "os.path") return false;
  return CODE_EXECUTION_MODULES.has(module) || CODE_EXECUTION_MODULES.has(top) || CODE_EXECUTION_NAMES.has(`${module}.${name}`);
}

/** Python 2 module names that Python 3's unpickler maps to their new homes. */
export const MODULE_ALIASES: Record<string, string> = { __builtin__: "builtins", copy_reg: "copyreg" };

export function describeCallable(c: unknown): string {
  if (c instanceof PickleGlobal) return c.fullName;
  if (c instanceof OpaqueObject) return `${c.className}(...)`;
  return typeof c;
}
