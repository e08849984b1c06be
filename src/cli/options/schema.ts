/**
 * The declarative option schema: every command-line option is declared once, as an `OptionSpec`
 * with its kind, allowed values (choices, or a range from ranges.ts), default and description.
 * From the schema, `parseCommandLine` (parse.ts) builds the commander program that parses argv
 * and prints --help, and the same `parse` of each spec validates a flag's text and a --config
 * file's JSON value alike. Shared groups of specs live in groups.ts.
 */
import { UsageError } from "../usage_error.ts";
import { assertInRange, describeRange, rangeOf, type Range } from "./ranges.ts";

export type OptionKind = "text" | "number" | "choice" | "flag" | "list";

export interface OptionSpec<T> {
  readonly kind: OptionKind;
  /** What the option means, for --help (the default and allowed values are added to it). */
  readonly description: string;
  /** The placeholder of the value in --help and messages: `--out DIR`. */
  readonly valueName?: string;
  /** The value when neither a flag nor the --config file gives one. */
  readonly default: T;
  /** How --help shows the default, where the value alone does not say it well. */
  readonly defaultText?: string;
  /** The allowed values of a choice. */
  readonly choices?: readonly string[];
  /** The allowed range of a number; by default the option's row in the range table (ranges.ts). */
  readonly range?: Range;
  /** A value must be given (by flag or --config file). */
  readonly required?: boolean;
  /**
   * A flag's text or a --config file's JSON value → the typed value; throws a UsageError naming
   * `--flag` and what is allowed. `name` is the option's (camelCase) key.
   */
  parse(raw: unknown, name: string): T;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type OptionSchema = Record<string, OptionSpec<any>>;

/** The typed values a schema parses to. */
export type OptionValues<S> = { -readonly [K in keyof S]: S[K] extends OptionSpec<infer T> ? T : never };

export const kebab = (k: string) => k.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase());
/** `warmup-epochs`, `warmup_epochs` → `warmupEpochs`. */
export const camel = (k: string) => k.replace(/[-_]+([a-z0-9])/g, (_, c: string) => c.toUpperCase());

const shown = (raw: unknown) => (typeof raw === "string" ? `'${raw}'` : JSON.stringify(raw));

interface Common {
  description: string;
  valueName?: string;
  defaultText?: string;
}

function textValue(raw: unknown, name: string): string {
  if (typeof raw !== "string") throw new UsageError(`--${kebab(name)} must be text, got ${shown(raw)}`);
  return raw;
}

/** A text value (a path, a name). */
export function text(o: Common & { required: true }): OptionSpec<string>;
export function text<D extends string | null | undefined = undefined>(o: Common & { default?: D }): OptionSpec<string | D>;
export function text(o: Common & { default?: string | null; required?: boolean }): OptionSpec<string | null | undefined> {
  return { kind: "text", valueName: "TEXT", ...o, default: o.default, parse: textValue };
}

/** A number, checked against `range` (default: the option's row in the range table). */
export function number(o: Common & { required: true; range?: Range }): OptionSpec<number>;
export function number<D extends number | null | undefined = undefined>(o: Common & { default?: D; range?: Range }): OptionSpec<number | D>;
export function number(o: Common & { default?: number | null; range?: Range; required?: boolean }): OptionSpec<number | null | undefined> {
  const spec: OptionSpec<number | null | undefined> = {
    kind: "number",
    valueName: "N",
    ...o,
    default: o.default,
    parse(raw, name) {
      const n = typeof raw === "number" ? raw : typeof raw === "string" && raw.trim() !== "" ? Number(raw) : NaN;
      if (!Number.isFinite(n)) throw new UsageError(`--${kebab(name)} must be a number, got ${shown(raw)}`);
      const range = spec.range ?? rangeOf(name);
      if (range) assertInRange(name, range, n);
      return n;
    },
  };
  return spec;
}

/** One of a fixed set of values; anything else is an error naming them. */
export function choice<const C extends string, D extends C | undefined = undefined>(choices: readonly C[], o: Common & { default?: D }): OptionSpec<C | D> {
  return {
    kind: "choice",
    valueName: choices.join("|"),
    ...o,
    choices,
    default: o.default as D,
    parse(raw, name) {
      if (typeof raw !== "string" || !(choices as readonly string[]).includes(raw)) throw new UsageError(`--${kebab(name)} must be ${choices.length > 1 ? `one of ${choices.join(", ")}` : choices[0]}, got ${shown(raw)}`);
      return raw as C;
    },
  };
}

/** An on/off switch: `--flag` (and `--no-flag` when it is on by default). */
export function flag(description: string, dflt = false): OptionSpec<boolean> {
  return {
    kind: "flag",
    description,
    default: dflt,
    parse(raw, name) {
      if (raw === true || raw === "true") return true;
      if (raw === false || raw === "false") return false;
      throw new UsageError(`--${kebab(name)} must be true or false, got ${shown(raw)}`);
    },
  };
}

/** A list: comma-separated on the command line, a JSON list (or such a string) in a --config file. */
export function list(o: Common & { default?: string[] }): OptionSpec<string[]> {
  return {
    kind: "list",
    valueName: "A,B,…",
    ...o,
    default: o.default ?? [],
    parse(raw, name) {
      if (Array.isArray(raw)) return raw.map(String);
      if (typeof raw === "string") return raw.split(",").map((s) => s.trim()).filter(Boolean);
      throw new UsageError(`--${kebab(name)} must be a list (comma-separated on the command line), got ${shown(raw)}`);
    },
  };
}

/** A text value of a given form (`cuda:N`, …): `allowed` says the form in the error message. */
export function pattern<D extends string>(form: RegExp, o: Common & { default: D; allowed: string }): OptionSpec<string> {
  return {
    kind: "text",
    ...o,
    parse(raw, name) {
      if (typeof raw !== "string" || !form.test(raw)) throw new UsageError(`--${kebab(name)} must be ${o.allowed}, got ${shown(raw)}`);
      return raw;
    },
  };
}

function formatDefault(v: unknown): string {
  if (v === undefined) return "none";
  if (v === null) return "unset";
  if (typeof v === "boolean") return v ? "on" : "off";
  if (Array.isArray(v)) return v.length ? v.join(",") : "none";
  return String(v);
}

/** The --help text of one option: its description, then what is allowed and the default. */
export function describeOption(name: string, spec: OptionSpec<unknown>): string {
  const facts: string[] = [];
  if (spec.choices && spec.valueName !== spec.choices.join("|")) facts.push(`one of ${spec.choices.join(", ")}`); // else the term shows them
  const range = spec.kind === "number" ? (spec.range ?? rangeOf(name)) : undefined;
  if (range) facts.push(describeRange(range));
  facts.push(spec.required ? "required" : `default: ${spec.defaultText ?? formatDefault(spec.default)}`);
  if (spec.kind === "flag" && spec.default === true) facts.push(`--no-${kebab(name)} turns it off`); // (--no-… exists for every flag; only useful for these)
  return `${spec.description} (${facts.join("; ")})`;
}
