/**
 * A pickle virtual machine for the subset of the protocol `torch.save` produces (protocol 2),
 * plus the common opcodes of protocols 0-5 that cost nothing to support.
 *
 * Nothing is ever executed: a GLOBAL only names a class or function (`PickleGlobal`), and a
 * call (REDUCE / NEWOBJ) is resolved against a small table of known callables. Every GLOBAL
 * (also through INST / STACK_GLOBAL) is checked against an allow-list when it is read: the
 * callables of that table, the caller's `globals`, the data classes of `DATA_CLASSES` and the
 * caller's `allowGlobals`. Any other global is a `ForbiddenGlobalError` naming it and the file;
 * known code-execution callables (`os.system`, `builtins.eval`, `subprocess.Popen`, ...) are
 * named as such. Allowed classes without a callable become an `OpaqueObject` recording the
 * class name, constructor arguments and the state later applied by BUILD, so checkpoints
 * carrying `argparse.Namespace` or numpy scalars still load.
 *
 * Cost stays proportional to the pickle's size: the VM is a loop over opcodes with one flat
 * stack (MARK records a stack height), memo hits share objects instead of copying them,
 * callables that copy an argument charge the copy to a work budget of a few units per pickle
 * byte, and nothing recurses or spreads arguments in proportion to the input.
 *
 * Value mapping: None → null, bool → boolean, int → number (bigint beyond 2^53), float →
 * number, str → string, bytes/bytearray → Uint8Array, list and tuple → Array, dict and
 * collections.OrderedDict → Map (insertion order kept; keys may be numbers, e.g. optimizer
 * state), set/frozenset → Set.
 */
import { ForbiddenGlobalError, LimitExceededError, PickleError } from "./errors.ts";
import {
  BUILTINS,
  DATA_CLASSES,
  describeCallable,
  isCodeExecutionGlobal,
  MODULE_ALIASES,
  OpaqueObject,
  PickleGlobal,
  type CallContext,
  type PickleCallable,
} from "./pickle_values.ts";

export { OpaqueObject, PickleGlobal, type CallContext, type PickleCallable } from "./pickle_values.ts";

export interface UnpickleOptions {
  /** File the pickle came from; used in error messages. */
  file: string;
  /** Resolves BINPERSID / PERSID ids (torch storages). Without it, persistent ids are an error. */
  persistentLoad?: (pid: unknown) => unknown;
  /** Extra callables keyed by `module.name`; they take precedence over the built-in ones (and are allowed). */
  globals?: ReadonlyMap<string, PickleCallable>;
  /** Extra allowed globals (`module.name`) without a callable: they load as `OpaqueObject`s. */
  allowGlobals?: ReadonlySet<string>;
}

/** Work units (elements copied by callables) allowed per pickle byte, plus a fixed allowance. */
const WORK_PER_BYTE = 4;
const WORK_BASE = 1 << 20;
/** Python refuses to convert longer decimal literals (sys.int_info.default_max_str_digits). */
const MAX_INT_DIGITS = 4300;
/** Nested calls through CallContext.call (e.g. _rebuild_from_type_v2 → _rebuild_tensor_v2). */
const MAX_CALL_DEPTH = 8;

const pickleStates = new WeakMap<object, unknown>();

/**
 * The BUILD state applied to a value that is not an `OpaqueObject` (e.g. the `_metadata`
 * attribute torch attaches to a state-dict OrderedDict), or `undefined`.
 */
export function pickleStateOf(value: object): unknown {
  return pickleStates.get(value);
}

const utf8 = new TextDecoder("utf-8");
const latin1 = new TextDecoder("latin1");

/** Run the pickle in `data` and return the value STOP leaves on the stack. */
export function unpickle(data: Uint8Array, opts: UnpickleOptions): unknown {
  return new Unpickler(data, opts).run();
}

class Unpickler implements CallContext {
  private pos = 0;
  /** One flat stack; `marks` holds the stack height at each open MARK. */
  private readonly stack: unknown[] = [];
  private readonly marks: number[] = [];
  private readonly memo = new Map<number, unknown>();
  private work = 0;
  private readonly maxWork: number;
  private callDepth = 0;
  private readonly view: DataView;
  private readonly data: Uint8Array;
  readonly file: string;

  constructor(
    data: Uint8Array,
    private readonly opts: UnpickleOptions,
  ) {
    // A plain Uint8Array view: on a Node Buffer, slice() would alias instead of copying.
    this.data = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    this.view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    this.file = opts.file;
    this.maxWork = WORK_BASE + WORK_PER_BYTE * data.byteLength;
  }

  charge(units: number): void {
    this.work += units;
    if (this.work > this.maxWork) {
      throw new LimitExceededError(
        this.file,
        `${this.file}: cannot read pickle: it asks for more than ${this.maxWork} element copies, far more than its ` +
          `${this.data.length} bytes can describe (shared objects passed to a constructor over and over). ` +
          `The file is corrupt or hostile; re-save it with torch.save.`,
      );
    }
  }

  call(callable: unknown, args: unknown[]): unknown {
    if (!(callable instanceof PickleGlobal)) return new OpaqueObject(describeCallable(callable), args);
    const key = this.globalKey(callable);
    const fn = this.opts.globals?.get(key) ?? BUILTINS.get(key);
    if (!fn) return new OpaqueObject(key, args);
    if (this.callDepth >= MAX_CALL_DEPTH) {
      throw new PickleError(this.file, `${this.file}: cannot read pickle: calls nested more than ${MAX_CALL_DEPTH} deep (a wrapper that calls itself). The file is corrupt or hostile.`);
    }
    this.callDepth++;
    try {
      return fn(args, this);
    } finally {
      this.callDepth--;
    }
  }

  private globalKey(g: PickleGlobal): string {
    return `${MODULE_ALIASES[g.module] ?? g.module}.${g.name}`;
  }

  /** A GLOBAL / STACK_GLOBAL / INST reference, checked against the allow-list. */
  private global(module: string, name: string, at: number): PickleGlobal {
    const g = new PickleGlobal(module, name);
    const key = this.globalKey(g);
    if (this.opts.globals?.has(key) || BUILTINS.has(key) || DATA_CLASSES.has(key) || this.opts.allowGlobals?.has(key)) return g;
    const shown = JSON.stringify(key).slice(1, -1).slice(0, 200);
    if (isCodeExecutionGlobal(module, name) || isCodeExecutionGlobal(MODULE_ALIASES[module] ?? module, name)) {
      throw new ForbiddenGlobalError(
        this.file,
        `refusing code-execution payload ${shown} in ${this.file}: its pickle calls ${shown} (at byte ${at}), which would ` +
          `run code or reach the system if the file were opened with torch.load. A checkpoint never needs it: do not ` +
          `load this file, and get the checkpoint from a trusted source.`,
        key,
        true,
      );
    }
    throw new ForbiddenGlobalError(
      this.file,
      `${this.file}: refusing to load: its pickle refers to ${shown} (at byte ${at}), which is not on the allow-list of ` +
        `what checkpoints contain (tensors, storages, dicts, lists, argparse.Namespace, numpy scalars and dtypes, ...). ` +
        `Re-save it with plain data only, e.g. torch.save({"model": model.state_dict()}, path).`,
      key,
      false,
    );
  }

  run(): unknown {
    for (;;) {
      const at = this.pos;
      const op = this.u8();
      switch (op) {
        case 0x80: // PROTO
          if (this.u8() > 5) throw this.error(at, "unsupported pickle protocol (> 5)");
          break;
        case 0x95: // FRAME: framing is only a read-ahead hint.
          this.take(8);
          break;
        case 0x2e: // STOP
          if (this.stack.length !== 1 || this.marks.length) throw this.error(at, "STOP with an unbalanced stack");
          return this.stack[0];
        case 0x28: // MARK
          this.marks.push(this.stack.length);
          break;
        case 0x30: // POP
          this.pop(at);
          break;
        case 0x31: // POP_MARK
          this.popMark(at);
          break;
        case 0x32: // DUP
          this.push(this.top(at));
          break;

        case 0x7d: // EMPTY_DICT
          this.push(new Map());
          break;
        case 0x5d: // EMPTY_LIST
        case 0x29: // EMPTY_TUPLE
          this.push([]);
          break;
        case 0x8f: // EMPTY_SET
          this.push(new Set());
          break;
        case 0x64: // DICT
          this.push(this.itemsToMap(this.popMark(at), at));
          break;
        case 0x6c: // LIST
        case 0x74: // TUPLE
          this.push(this.popMark(at));
          break;
        case 0x85: // TUPLE1
        case 0x86: // TUPLE2
        case 0x87: {
          // TUPLE3
          const n = op - 0x84;
          if (this.stack.length - this.base() < n) throw this.error(at, "stack underflow");
          this.push(this.stack.splice(this.stack.length - n, n));
          break;
        }
        case 0x91: // FROZENSET
          this.push(new Set(this.popMark(at)));
          break;

        case 0x73: {
          // SETITEM
          const v = this.pop(at);
          const k = this.pop(at);
          this.setItems(this.top(at), [k, v], at);
          break;
        }
        case 0x75: {
          // SETITEMS
          const items = this.popMark(at);
          this.setItems(this.top(at), items, at);
          break;
        }
        case 0x61: {
          // APPEND
          const v = this.pop(at);
          const target = this.top(at);
          if (Array.isArray(target)) target.push(v);
          else this.append(target, [v], at);
          break;
        }
        case 0x65: {
          // APPENDS
          const items = this.popMark(at);
          this.append(this.top(at), items, at);
          break;
        }
        case 0x90: {
          // ADDITEMS
          const items = this.popMark(at);
          const target = this.top(at);
          if (!(target instanceof Set)) throw this.error(at, "ADDITEMS on a non-set");
          for (const it of items) target.add(it);
          break;
        }

        case 0x71: // BINPUT
          this.memo.set(this.u8(), this.top(at));
          break;
        case 0x72: // LONG_BINPUT
          this.memo.set(this.u32(), this.top(at));
          break;
        case 0x70: // PUT
          this.memo.set(this.decimalLine(at), this.top(at));
          break;
        case 0x94: // MEMOIZE
          this.memo.set(this.memo.size, this.top(at));
          break;
        case 0x68: // BINGET
          this.push(this.memoGet(this.u8(), at));
          break;
        case 0x6a: // LONG_BINGET
          this.push(this.memoGet(this.u32(), at));
          break;
        case 0x67: // GET
          this.push(this.memoGet(this.decimalLine(at), at));
          break;

        case 0x4a: // BININT
          this.push(this.view.getInt32(this.advance(4), true));
          break;
        case 0x4b: // BININT1
          this.push(this.u8());
          break;
        case 0x4d: // BININT2
          this.push(this.view.getUint16(this.advance(2), true));
          break;
        case 0x8a: // LONG1
          this.push(this.longBytes(this.u8()));
          break;
        case 0x8b: // LONG4
          this.push(this.longBytes(this.u32()));
          break;
        case 0x49: {
          // INT (text); "I01"/"I00" are protocol-0 booleans.
          const line = this.line(at);
          this.push(line === "01" ? true : line === "00" ? false : this.parseIntText(line, at));
          break;
        }
        case 0x4c: // LONG (text, trailing "L")
          this.push(this.parseIntText(this.line(at).replace(/L$/, ""), at));
          break;
        case 0x47: // BINFLOAT (big-endian double)
          this.push(this.view.getFloat64(this.advance(8), false));
          break;
        case 0x46: // FLOAT (text)
          this.push(Number.parseFloat(this.line(at)));
          break;

        case 0x58: // BINUNICODE
          this.push(utf8.decode(this.take(this.u32())));
          break;
        case 0x8c: // SHORT_BINUNICODE
          this.push(utf8.decode(this.take(this.u8())));
          break;
        case 0x8d: // BINUNICODE8
          this.push(utf8.decode(this.take(this.u64(at))));
          break;
        case 0x54: // BINSTRING (Python 2 str; decoded as UTF-8 like torch.load does)
          this.push(utf8.decode(this.take(this.view.getInt32(this.advance(4), true))));
          break;
        case 0x55: // SHORT_BINSTRING
          this.push(utf8.decode(this.take(this.u8())));
          break;
        case 0x42: // BINBYTES
          this.push(this.take(this.u32()).slice());
          break;
        case 0x43: // SHORT_BINBYTES
          this.push(this.take(this.u8()).slice());
          break;
        case 0x8e: // BINBYTES8
        case 0x96: // BYTEARRAY8
          this.push(this.take(this.u64(at)).slice());
          break;

        case 0x4e: // NONE
          this.push(null);
          break;
        case 0x88: // NEWTRUE
          this.push(true);
          break;
        case 0x89: // NEWFALSE
          this.push(false);
          break;

        case 0x63: {
          // GLOBAL: "module\nname\n"
          const module = this.line(at);
          const name = this.line(at);
          this.push(this.global(module, name, at));
          break;
        }
        case 0x93: {
          // STACK_GLOBAL
          const name = this.pop(at);
          const module = this.pop(at);
          if (typeof module !== "string" || typeof name !== "string") throw this.error(at, "STACK_GLOBAL needs two strings");
          this.push(this.global(module, name, at));
          break;
        }
        case 0x52: {
          // REDUCE
          const args = this.pop(at);
          const fn = this.pop(at);
          this.push(this.call(fn, Array.isArray(args) ? args : [args]));
          break;
        }
        case 0x81: {
          // NEWOBJ: cls.__new__(cls, *args)
          const args = this.pop(at);
          const cls = this.pop(at);
          this.push(this.call(cls, Array.isArray(args) ? args : [args]));
          break;
        }
        case 0x92: {
          // NEWOBJ_EX: cls.__new__(cls, *args, **kwargs)
          const kwargs = this.pop(at);
          const args = this.pop(at);
          const cls = this.pop(at);
          const argList = Array.isArray(args) ? args : [args];
          const obj = this.call(cls, argList);
          this.push(
            obj instanceof OpaqueObject && kwargs instanceof Map && kwargs.size
              ? new OpaqueObject(obj.className, argList, kwargs)
              : obj,
          );
          break;
        }
        case 0x69: {
          // INST: "module\nname\n", args after MARK
          const module = this.line(at);
          const name = this.line(at);
          const cls = this.global(module, name, at);
          this.push(this.call(cls, this.popMark(at)));
          break;
        }
        case 0x6f: {
          // OBJ: MARK cls args...
          const items = this.popMark(at);
          if (!items.length) throw this.error(at, "OBJ without a class");
          this.push(this.call(items[0], items.slice(1)));
          break;
        }
        case 0x62: {
          // BUILD
          const state = this.pop(at);
          const target = this.top(at);
          if (target instanceof OpaqueObject) target.state = state;
          else if (typeof target === "object" && target !== null) pickleStates.set(target, state);
          break;
        }

        case 0x51: // BINPERSID
          this.push(this.persistent(this.pop(at), at));
          break;
        case 0x50: // PERSID (text id)
          this.push(this.persistent(this.line(at), at));
          break;

        default:
          throw this.error(
            at,
            `unsupported pickle opcode 0x${op.toString(16).padStart(2, "0")}; this file was not written by torch.save ` +
              `with a standard pickle protocol`,
          );
      }
    }
  }

  // ---- stack helpers ----

  private push(v: unknown): void {
    this.stack.push(v);
  }

  /** Height of the stack at the innermost open MARK: nothing below it may be popped. */
  private base(): number {
    return this.marks.length ? this.marks[this.marks.length - 1]! : 0;
  }

  private pop(at: number): unknown {
    if (this.stack.length <= this.base()) throw this.error(at, "stack underflow");
    return this.stack.pop();
  }

  private top(at: number): unknown {
    if (this.stack.length <= this.base()) throw this.error(at, "stack underflow");
    return this.stack[this.stack.length - 1];
  }

  /** The items pushed since the innermost MARK (removed from the stack), closing that MARK. */
  private popMark(at: number): unknown[] {
    const mark = this.marks.pop();
    if (mark === undefined) throw this.error(at, "no MARK on the stack");
    return this.stack.splice(mark);
  }

  private memoGet(key: number, at: number): unknown {
    if (!this.memo.has(key)) throw this.error(at, `memo key ${key} was never stored`);
    return this.memo.get(key);
  }

  private itemsToMap(items: unknown[], at: number): Map<unknown, unknown> {
    const m = new Map<unknown, unknown>();
    this.setItems(m, items, at);
    return m;
  }

  private setItems(target: unknown, items: unknown[], at: number): void {
    if (items.length % 2) throw this.error(at, "odd number of items for a dict");
    let map: Map<unknown, unknown>;
    if (target instanceof Map) map = target;
    else if (target instanceof OpaqueObject) map = target.dictItems ??= new Map();
    else throw this.error(at, "SETITEM on a value that is not a dict");
    for (let i = 0; i < items.length; i += 2) map.set(items[i], items[i + 1]);
  }

  private append(target: unknown, items: unknown[], at: number): void {
    let list: unknown[];
    if (Array.isArray(target)) list = target;
    else if (target instanceof OpaqueObject) list = target.listItems ??= [];
    else throw this.error(at, "APPEND on a value that is not a list");
    // One at a time: push(...items) would pass every item as an argument and overflow the stack.
    for (let i = 0; i < items.length; i++) list.push(items[i]);
  }

  private persistent(pid: unknown, at: number): unknown {
    if (!this.opts.persistentLoad) throw this.error(at, "persistent id found but no persistent loader was given");
    return this.opts.persistentLoad(pid);
  }

  // ---- byte readers ----

  private advance(n: number): number {
    const at = this.pos;
    if (n < 0 || at + n > this.data.length) throw this.error(at, "pickle data ends unexpectedly (truncated or corrupt)");
    this.pos += n;
    return at;
  }

  private take(n: number): Uint8Array {
    const at = this.advance(n);
    return this.data.subarray(at, at + n);
  }

  private u8(): number {
    return this.data[this.advance(1)]!;
  }

  private u32(): number {
    return this.view.getUint32(this.advance(4), true);
  }

  private u64(at: number): number {
    const v = this.view.getBigUint64(this.advance(8), true);
    if (v > BigInt(this.data.length)) throw this.error(at, "length field exceeds the pickle size (truncated or corrupt)");
    return Number(v);
  }

  private line(at: number): string {
    const end = this.data.indexOf(0x0a, this.pos);
    if (end < 0) throw this.error(at, "pickle data ends unexpectedly (truncated or corrupt)");
    const s = latin1.decode(this.data.subarray(this.pos, end));
    this.pos = end + 1;
    return s;
  }

  private decimalLine(at: number): number {
    const n = Number(this.line(at));
    if (!Number.isSafeInteger(n)) throw this.error(at, "bad memo key");
    return n;
  }

  private parseIntText(s: string, at: number): number | bigint {
    const t = s.trim();
    if (t.length > MAX_INT_DIGITS + 1) throw this.error(at, `integer literal of ${t.length} digits (Python's limit is ${MAX_INT_DIGITS})`);
    if (!/^[+-]?\d+$/.test(t)) throw this.error(at, `bad integer literal "${t.slice(0, 40)}"`);
    return narrow(BigInt(t));
  }

  /** Little-endian two's-complement integer of `n` bytes (LONG1 / LONG4), in time linear in `n`. */
  private longBytes(n: number): number | bigint {
    const b = this.take(n);
    if (n === 0) return 0;
    // Big-endian hex digits, then one BigInt parse (shifting a BigInt per byte would be quadratic).
    const hex = new Array<string>(n);
    for (let i = 0; i < n; i++) hex[i] = HEX[b[n - 1 - i]!]!;
    let v = BigInt("0x" + hex.join(""));
    if (b[n - 1]! & 0x80) v -= 1n << BigInt(8 * n);
    return narrow(v);
  }

  private error(at: number, detail: string): PickleError {
    return new PickleError(this.file, `${this.file}: cannot read pickle: ${detail} (at byte ${at}).`);
  }
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** A bigint as a number when it is exactly representable, else left as bigint. */
function narrow(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}
