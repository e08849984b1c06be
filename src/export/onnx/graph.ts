/**
 * A small ONNX graph builder: named values, nodes, initialisers, and serialisation to a
 * `ModelProto` through the generated ONNX message types of `onnx-buf` (@bufbuild/protobuf).
 *
 * Only what the exporters here need: float32/float16/int64 initialisers (raw little-endian
 * bytes, optionally stored in an external data file), INT/INTS/FLOAT/STRING attributes, and
 * graph inputs/outputs with symbolic dimensions ("batch").
 */
import { create, toBinary } from "@bufbuild/protobuf";
import {
  AttributeProto_AttributeType,
  AttributeProtoSchema,
  GraphProtoSchema,
  ModelProtoSchema,
  NodeProtoSchema,
  OperatorSetIdProtoSchema,
  StringStringEntryProtoSchema,
  TensorProto_DataLocation,
  TensorProto_DataType,
  TensorProtoSchema,
  TensorShapeProto_DimensionSchema,
  TensorShapeProtoSchema,
  TypeProto_TensorSchema,
  TypeProtoSchema,
  ValueInfoProtoSchema,
  type AttributeProto,
  type NodeProto,
  type TensorProto,
  type ValueInfoProto,
} from "onnx-buf";

/** Element types the builder writes. */
export type OnnxDType = "float32" | "float16" | "int64";

const ELEM: Record<OnnxDType, TensorProto_DataType> = {
  float32: TensorProto_DataType.FLOAT,
  float16: TensorProto_DataType.FLOAT16,
  int64: TensorProto_DataType.INT64,
};

/** An attribute value: number → INT if an integer and `kind` says so, see `Attr`. */
export type Attr = { ints: readonly number[] } | { int: number } | { float: number } | { string: string };

/** A dimension: a size, or a symbolic name (dynamic). */
export type Dim = number | string;

export interface ValueSpec {
  name: string;
  dtype: OnnxDType;
  shape: readonly Dim[];
}

export interface SerializeOptions {
  /** Default opset of the "" (ai.onnx) domain. */
  opset: number;
  producerVersion?: string;
  docString?: string;
  /** `metadata_props` of the model (key → string value). */
  metadata?: Record<string, string>;
  /**
   * Store initialisers larger than 1 KiB in this external file instead (its name as written into
   * the model, relative to the model file). Needed for models over protobuf's 2 GiB limit.
   */
  externalDataName?: string;
}

/** The IR version that goes with an opset (onnx/helper.py's table, opsets 13–20). */
export function irVersionFor(opset: number): number {
  if (opset <= 14) return 7;
  if (opset <= 18) return 8;
  if (opset <= 20) return 9;
  return 10;
}

function bytesOf(a: ArrayBufferView): Uint8Array<ArrayBuffer> {
  return new Uint8Array(a.buffer as ArrayBuffer, a.byteOffset, a.byteLength);
}

function valueInfo(v: ValueSpec): ValueInfoProto {
  return create(ValueInfoProtoSchema, {
    name: v.name,
    type: create(TypeProtoSchema, {
      value: {
        case: "tensorType",
        value: create(TypeProto_TensorSchema, {
          elemType: ELEM[v.dtype],
          shape: create(TensorShapeProtoSchema, {
            dim: v.shape.map((d) =>
              create(TensorShapeProto_DimensionSchema, {
                value: typeof d === "number" ? { case: "dimValue", value: BigInt(d) } : { case: "dimParam", value: d },
              }),
            ),
          }),
        }),
      },
    }),
  });
}

function attribute(name: string, a: Attr): AttributeProto {
  if ("ints" in a) return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.INTS, ints: a.ints.map((x) => BigInt(x)) });
  if ("int" in a) return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.INT, i: BigInt(a.int) });
  if ("float" in a) return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.FLOAT, f: a.float });
  return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.STRING, s: new TextEncoder().encode(a.string) });
}

interface Initializer {
  name: string;
  dtype: OnnxDType;
  dims: readonly number[];
  bytes: Uint8Array<ArrayBuffer>;
}

export class OnnxGraph {
  private readonly nodes: NodeProto[] = [];
  private readonly inits: Initializer[] = [];
  private readonly inputs: ValueSpec[] = [];
  private readonly outputs: ValueSpec[] = [];
  private readonly names = new Set<string>();
  private readonly constCache = new Map<string, string>();
  private counter = 0;
  /** Op types used, with counts (for reports and tests). */
  readonly opCounts = new Map<string, number>();

  constructor(readonly name: string) {}

  /** A fresh value name with this prefix. */
  fresh(prefix: string): string {
    let n = prefix;
    while (this.names.has(n)) n = `${prefix}_${++this.counter}`;
    this.names.add(n);
    return n;
  }

  input(v: ValueSpec): string {
    if (this.names.has(v.name)) throw new Error(`ONNX graph: duplicate value name ${v.name}`);
    this.names.add(v.name);
    this.inputs.push(v);
    return v.name;
  }

  output(v: ValueSpec): void {
    this.outputs.push(v);
  }

  /** An initialiser holding `data` (float32 values, float16 bit patterns, or int64 values). */
  initializer(name: string, dtype: OnnxDType, dims: readonly number[], data: Float32Array | Uint16Array | BigInt64Array): string {
    const n = dims.reduce((a, b) => a * b, 1);
    if (data.length !== n) throw new Error(`ONNX initializer ${name}: ${data.length} values for dims [${dims.join(", ")}]`);
    const want = dtype === "float32" ? Float32Array : dtype === "float16" ? Uint16Array : BigInt64Array;
    if (!(data instanceof want)) throw new Error(`ONNX initializer ${name}: ${dtype} needs a ${want.name}`);
    const unique = this.fresh(name);
    this.inits.push({ name: unique, dtype, dims: [...dims], bytes: bytesOf(data) });
    return unique;
  }

  /** A shared int64 constant (shapes, axes, indices). */
  int64(values: readonly number[], dims: readonly number[] = [values.length]): string {
    const key = `i64:${dims.join("x")}:${values.join(",")}`;
    let name = this.constCache.get(key);
    if (!name) {
      name = this.initializer("const_i64", "int64", dims, BigInt64Array.from(values, (v) => BigInt(v)));
      this.constCache.set(key, name);
    }
    return name;
  }

  /** A shared scalar float constant of the given element type. */
  scalar(value: number, dtype: "float32" | "float16"): string {
    const key = `${dtype}:${value}`;
    let name = this.constCache.get(key);
    if (!name) {
      const data = dtype === "float32" ? Float32Array.of(value) : float32ToFloat16(Float32Array.of(value));
      name = this.initializer("const_f", dtype, [], data);
      this.constCache.set(key, name);
    }
    return name;
  }

  /** Adds a node; returns its output names (`outputs` of them, default 1). */
  node(op: string, inputs: readonly string[], attrs: Record<string, Attr> = {}, outputs = 1, hint = op.toLowerCase()): string[] {
    const outs = Array.from({ length: outputs }, () => this.fresh(hint));
    this.nodes.push(
      create(NodeProtoSchema, {
        opType: op,
        name: this.fresh(`${op}_node`),
        input: [...inputs],
        output: outs,
        attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
      }),
    );
    this.opCounts.set(op, (this.opCounts.get(op) ?? 0) + 1);
    return outs;
  }

  /** Shorthand for a single-output node. */
  op(op: string, inputs: readonly string[], attrs: Record<string, Attr> = {}, hint?: string): string {
    return this.node(op, inputs, attrs, 1, hint)[0]!;
  }

  /** Renames the value `from` to `to` by an Identity node (graph outputs get stable names). */
  identity(from: string, to: string): string {
    if (this.names.has(to)) throw new Error(`ONNX graph: duplicate value name ${to}`);
    this.names.add(to);
    this.nodes.push(create(NodeProtoSchema, { opType: "Identity", name: this.fresh("Identity_node"), input: [from], output: [to] }));
    return to;
  }

  /** Total initialiser bytes. */
  get weightBytes(): number {
    return this.inits.reduce((s, i) => s + i.bytes.byteLength, 0);
  }

  /**
   * The serialised ModelProto, and the external data (concatenated, 64-byte aligned) when
   * `externalDataName` is set.
   */
  serialize(o: SerializeOptions): { model: Uint8Array; externalData: Uint8Array[] | null } {
    const external: Uint8Array[] = [];
    let offset = 0;
    const initializer: TensorProto[] = this.inits.map((t) => {
      const base = { name: t.name, dataType: ELEM[t.dtype], dims: t.dims.map((d) => BigInt(d)) };
      if (o.externalDataName && t.bytes.byteLength > 1024) {
        const pad = (64 - (offset % 64)) % 64;
        if (pad) external.push(new Uint8Array(pad));
        offset += pad;
        const entry = (key: string, value: string) => create(StringStringEntryProtoSchema, { key, value });
        const proto = create(TensorProtoSchema, {
          ...base,
          dataLocation: TensorProto_DataLocation.EXTERNAL,
          externalData: [entry("location", o.externalDataName), entry("offset", String(offset)), entry("length", String(t.bytes.byteLength))],
        });
        external.push(t.bytes);
        offset += t.bytes.byteLength;
        return proto;
      }
      return create(TensorProtoSchema, { ...base, rawData: t.bytes });
    });
    const graph = create(GraphProtoSchema, {
      name: this.name,
      node: this.nodes,
      initializer,
      input: this.inputs.map(valueInfo),
      output: this.outputs.map(valueInfo),
    });
    const model = create(ModelProtoSchema, {
      irVersion: BigInt(irVersionFor(o.opset)),
      opsetImport: [create(OperatorSetIdProtoSchema, { domain: "", version: BigInt(o.opset) })],
      producerName: "videomae",
      producerVersion: o.producerVersion ?? "",
      docString: o.docString ?? "",
      graph,
      metadataProps: Object.entries(o.metadata ?? {}).map(([key, value]) => create(StringStringEntryProtoSchema, { key, value })),
    });
    return { model: toBinary(ModelProtoSchema, model), externalData: o.externalDataName ? external : null };
  }
}

/**
 * float32 → IEEE half bit patterns, round to nearest even (what libtorch's `.half()` does),
 * overflow to ±inf, subnormals kept.
 */
export function float32ToFloat16(src: Float32Array): Uint16Array {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  const out = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const x = bits[i]!;
    const sign = (x >>> 16) & 0x8000;
    const exp = (x >>> 23) & 0xff;
    let mant = x & 0x7fffff;
    if (exp === 0xff) {
      out[i] = sign | 0x7c00 | (mant ? 0x200 | (mant >>> 13) : 0); // inf / NaN (quiet)
      continue;
    }
    const e = exp - 127 + 15;
    if (e >= 0x1f) {
      out[i] = sign | 0x7c00;
      continue;
    }
    if (e <= 0) {
      if (e < -10) {
        out[i] = sign; // rounds to ±0
        continue;
      }
      mant |= 0x800000; // implicit bit; shift into the subnormal range
      const shift = 14 - e;
      const half = 1 << (shift - 1);
      const rest = mant & ((1 << shift) - 1);
      let m = mant >>> shift;
      if (rest > half || (rest === half && m & 1)) m++;
      out[i] = sign | m; // m may carry into the smallest normal: still the right bits
      continue;
    }
    let h = (e << 10) | (mant >>> 13);
    const rest = mant & 0x1fff;
    if (rest > 0x1000 || (rest === 0x1000 && h & 1)) h++; // may carry into the exponent (→ inf at the top): correct
    out[i] = sign | h;
  }
  return out;
}
