/** What every CLI command provides, and the shared option parsing. */
import { parseArgs, type ParseArgsConfig } from "node:util";

import { checkRange } from "./options/ranges.ts";

export interface Command {
  name: string;
  /** Full --help text: usage, options with defaults, an example. */
  help: string;
  run(argv: string[]): Promise<number | void>;
}

/** A mistake in the command line (exit code 2, help printed). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

type Options = NonNullable<ParseArgsConfig["options"]>;

/** What parseArgs returns for these options (spelled out so the compiled .d.ts can name it). */
type Parsed<O extends Options> = ReturnType<typeof parseArgs<{ args: string[]; options: O; allowPositionals: boolean; strict: true }>>;

/** parseArgs that turns its errors into UsageErrors. */
export function parseOptions<O extends Options>(argv: string[], options: O, allowPositionals = false): Parsed<O> {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** A numeric option value, or the default; rejects non-numbers and values outside the option's range (options/ranges.ts). */
export function num(value: string | undefined, dflt: number, name: string): number {
  if (value === undefined) return dflt;
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n)) throw new UsageError(`--${name} must be a number, got '${value}'`);
  checkRange(name, n);
  return n;
}
