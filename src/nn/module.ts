/**
 * Module: the base of every layer and model. Parameters and buffers are registered by name
 * with `param()` / `buffer()`; sub-modules are found by reflection on the instance's own
 * properties (a Module, or an array of Modules), named by the property name — so a model whose
 * properties are called like the official code (`patch_embed`, `blocks`, `fc_norm`) has the
 * official state-dict keys (`blocks.0.attn.qkv.weight`). Properties starting with `_` are
 * ignored.
 */
import { noGrad } from "../torch/autograd.ts";
import { keep } from "../torch/scope.ts";
import { canonicalDevice, type Device } from "../torch/device.ts";
import { Tensor } from "../torch/tensor.ts";

/** Anything with a one-tensor forward (what Sequential chains). */
export interface Layer {
  forward(x: Tensor): Tensor;
}

export interface LoadReport {
  /** Keys the module has but the state dict lacks. */
  missing: string[];
  /** Keys the state dict has but the module lacks. */
  unexpected: string[];
  /** Keys present in both with different shapes. */
  mismatched: { key: string; expected: number[]; got: number[] }[];
  /** Keys copied. */
  loaded: string[];
}

export class StateDictError extends Error {
  constructor(
    readonly report: LoadReport,
    context = "",
  ) {
    super(`${context ? context + ": " : ""}state dict does not match the model\n${formatLoadReport(report)}`);
    this.name = "StateDictError";
  }
}

/** A readable multi-line summary of a LoadReport (lists at most 20 keys per kind). */
export function formatLoadReport(r: LoadReport): string {
  const list = (keys: string[]) =>
    keys.slice(0, 20).map((k) => `    ${k}`).join("\n") + (keys.length > 20 ? `\n    … and ${keys.length - 20} more` : "");
  const parts = [`  loaded: ${r.loaded.length} tensors`];
  if (r.missing.length) parts.push(`  missing (${r.missing.length}):\n${list(r.missing)}`);
  if (r.unexpected.length) parts.push(`  unexpected (${r.unexpected.length}):\n${list(r.unexpected)}`);
  if (r.mismatched.length) {
    parts.push(
      `  shape mismatch (${r.mismatched.length}):\n` +
        r.mismatched
          .slice(0, 20)
          .map((m) => `    ${m.key}: model [${m.expected.join(", ")}] vs checkpoint [${m.got.join(", ")}]`)
          .join("\n"),
    );
  }
  return parts.join("\n");
}

export abstract class Module {
  /** Training mode (dropout, drop path active). Set with train()/eval(). */
  training = true;
  private readonly _params = new Map<string, Tensor>();
  private readonly _buffers = new Map<string, { t: Tensor; persistent: boolean }>();

  /** Registers a learnable parameter (requiresGrad on; survives tidy scopes). */
  protected param(name: string, t: Tensor): Tensor {
    keep(t);
    if (!t.requiresGrad) t.requiresGrad = true;
    this._params.set(name, t);
    return t;
  }

  /**
   * Registers a buffer: state that is not learned. Non-persistent buffers (e.g. the fixed
   * sinusoid position table, which official checkpoints do not contain) stay out of stateDict().
   */
  protected buffer(name: string, t: Tensor, persistent = true): Tensor {
    keep(t);
    this._buffers.set(name, { t, persistent });
    return t;
  }

  /** Direct sub-modules, in property order, with their names. */
  namedChildren(): [string, Module][] {
    const out: [string, Module][] = [];
    for (const [name, value] of Object.entries(this)) {
      if (name.startsWith("_")) continue;
      if (value instanceof Module) out.push([name, value]);
      else if (Array.isArray(value) && value.length > 0 && value.every((v) => v instanceof Module)) {
        value.forEach((m: Module, i) => out.push([`${name}.${i}`, m]));
      }
    }
    return out;
  }

  /** Every module in the tree (this first), with dotted names. */
  namedModules(prefix = ""): [string, Module][] {
    const out: [string, Module][] = [[prefix, this]];
    for (const [name, child] of this.namedChildren()) {
      out.push(...child.namedModules(prefix ? `${prefix}.${name}` : name));
    }
    return out;
  }

  namedParameters(): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [prefix, m] of this.namedModules()) {
      for (const [name, t] of m._params) out.push([prefix ? `${prefix}.${name}` : name, t]);
    }
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  namedBuffers(opts: { persistentOnly?: boolean } = {}): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [prefix, m] of this.namedModules()) {
      for (const [name, b] of m._buffers) {
        if (opts.persistentOnly && !b.persistent) continue;
        out.push([prefix ? `${prefix}.${name}` : name, b.t]);
      }
    }
    return out;
  }

  /** Number of parameter elements. */
  numParameters(): number {
    return this.parameters().reduce((n, t) => n + t.numel, 0);
  }

  /** Parameters and persistent buffers by key (the tensors themselves, not copies). */
  stateDict(): Map<string, Tensor> {
    return new Map([...this.namedParameters(), ...this.namedBuffers({ persistentOnly: true })]);
  }

  /**
   * Copies values from `sd` into this module's tensors (in place, casting dtype, e.g. fp16
   * checkpoints into fp32 weights). Strict (default) throws a StateDictError listing every
   * missing, unexpected and mis-shaped key before copying anything; non-strict copies what
   * matches and returns the report.
   */
  loadStateDict(sd: Map<string, Tensor> | Record<string, Tensor>, opts: { strict?: boolean } = {}): LoadReport {
    const strict = opts.strict ?? true;
    const given = sd instanceof Map ? sd : new Map(Object.entries(sd));
    const own = this.stateDict();
    const report: LoadReport = { missing: [], unexpected: [], mismatched: [], loaded: [] };
    for (const key of own.keys()) if (!given.has(key)) report.missing.push(key);
    for (const key of given.keys()) if (!own.has(key)) report.unexpected.push(key);
    const toCopy: [Tensor, Tensor, string][] = [];
    for (const [key, target] of own) {
      const src = given.get(key);
      if (!src) continue;
      const a = target.shape;
      const b = src.shape;
      if (a.length !== b.length || a.some((d, i) => d !== b[i])) report.mismatched.push({ key, expected: a, got: b });
      else toCopy.push([target, src, key]);
    }
    if (strict && (report.missing.length || report.unexpected.length || report.mismatched.length)) {
      throw new StateDictError(report);
    }
    noGrad(() => {
      for (const [target, src, key] of toCopy) {
        target.copy_(src);
        report.loaded.push(key);
      }
    });
    return report;
  }

  /**
   * Moves every parameter and buffer to `device`, in place (the same Tensor objects, so an
   * optimizer made before or after sees them; gradients are dropped), as PyTorch's Module.to.
   */
  to(device: Device): this {
    noGrad(() => {
      for (const [, m] of this.namedModules()) {
        const tensors = [...m._params.values(), ...[...m._buffers.values()].map((b) => b.t)];
        for (const t of tensors) {
          if (t.device === canonicalDevice(device)) continue;
          const moved = t.toDevice(device);
          t.grad = undefined;
          t.setData(moved);
          moved.dispose();
        }
      }
    });
    return this;
  }

  /** The device of the first parameter (or buffer); "cpu" for a module without either. */
  get device(): Device {
    const first = this.parameters()[0] ?? this.namedBuffers()[0]?.[1];
    return first ? first.device : "cpu";
  }

  /** Sets training mode on this module and every sub-module. */
  train(on = true): this {
    for (const [, m] of this.namedModules()) m.training = on;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Frees every parameter and buffer. The module is unusable afterwards. */
  dispose(): void {
    for (const [, m] of this.namedModules()) {
      for (const t of m._params.values()) t.dispose();
      for (const b of m._buffers.values()) b.t.dispose();
    }
  }
}
