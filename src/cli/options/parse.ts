/**
 * From an option schema to a commander program (https://github.com/tj/commander.js): commander
 * parses argv (long options, `--name=value`, `--no-flag`, unknown options with a "did you mean"),
 * and formats the --help option table; each spec's `parse` validates the values. The --config
 * FILE.json of every command is merged here: defaults < file < flags.
 */
import { readFileSync } from "node:fs";
import { Command as Program, CommanderError, Option } from "commander";

import { UsageError } from "../usage_error.ts";
import { camel, describeOption, kebab, type OptionSchema, type OptionSpec, type OptionValues } from "./schema.ts";

/** A file the --config option could not read (exit code 2: it is part of the command line). */
export class OptionsFileError extends UsageError {
  override name = "OptionsFileError";
}

function optionsOf(name: string, spec: OptionSpec<unknown>): Option[] {
  const flagName = kebab(name);
  const term = spec.kind === "flag" ? `--${flagName}` : `--${flagName} <${spec.valueName ?? "value"}>`;
  const option = new Option(term, spec.description);
  if (spec.kind === "flag") return [option.default(spec.default), new Option(`--no-${flagName}`).hideHelp()];
  if (spec.choices) option.choices(spec.choices);
  option.argParser((raw: string) => spec.parse(raw, name));
  if (spec.default !== undefined) option.default(spec.default);
  return [option];
}

function program(commandName: string, schema: OptionSchema): Program {
  const p = new Program(`videomae ${commandName}`)
    .exitOverride()
    .configureOutput({ writeOut: () => {}, writeErr: () => {}, outputError: () => {} })
    .helpOption(false)
    .allowExcessArguments(true);
  for (const [name, spec] of Object.entries(schema)) for (const o of optionsOf(name, spec)) p.addOption(o);
  return p;
}

/** The option table of --help (commander's layout, every line with its default and allowed values). */
export function optionHelp(commandName: string, schema: OptionSchema): string {
  const specs = new Map(Object.entries(schema).map(([name, spec]) => [`--${kebab(name)}`, { name, spec }]));
  const p = program(commandName, schema).configureHelp({
    helpWidth: 100,
    optionDescription: (o) => {
      const s = specs.get(o.long ?? "");
      return s ? describeOption(s.name, s.spec) : o.description;
    },
  });
  const help = p.helpInformation();
  return help.slice(help.indexOf("Options:")).trimEnd();
}

/** The `--key value` pairs of a JSON object file, checked by the same specs as the flags. */
function readOptionsFile(file: string, schema: OptionSchema): Record<string, unknown> {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new OptionsFileError(`cannot read --config ${file}: ${(e as Error).message}`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw new OptionsFileError(`--config ${file} must hold a JSON object of option values`);
  const values: Record<string, unknown> = {};
  for (const [key, raw] of Object.entries(json)) {
    const name = camel(key);
    const spec = schema[name];
    if (!spec || name === "config") {
      const known = Object.keys(schema).filter((k) => k !== "config").map(kebab).sort();
      throw new OptionsFileError(`${file}: unknown option '${key}'. Valid options: ${known.join(", ")}`);
    }
    try {
      values[name] = spec.parse(raw, name);
    } catch (e) {
      throw e instanceof UsageError ? new OptionsFileError(`${file}: ${e.message}`) : e;
    }
  }
  return values;
}

/**
 * `--flag true|false` and `--flag=true|false` (as run configs and scripts write them) → `--flag`
 * or `--no-flag`, the forms commander knows. Stops at `--` (what follows is another command's).
 */
function foldFlagValues(argv: string[], flags: Set<string>): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") return [...out, ...argv.slice(i)];
    const [name, attached] = arg.split(/=(.*)/s) as [string, string | undefined];
    const value = attached ?? argv[i + 1];
    if (flags.has(name) && (value === "true" || value === "false")) {
      out.push(value === "true" ? name : `--no-${name.slice(2)}`);
      if (attached === undefined) i++;
    } else out.push(arg);
  }
  return out;
}

/**
 * Parses argv by the schema: typed, validated values (defaults < --config file < flags), and the
 * operands (arguments that are not options).
 */
export function parseCommandLine<S extends OptionSchema>(commandName: string, schema: S, argv: string[]): { options: OptionValues<S>; operands: string[] } {
  const p = program(commandName, schema);
  const flags = new Set(Object.entries(schema).flatMap(([name, spec]) => (spec.kind === "flag" ? [`--${kebab(name)}`] : [])));
  try {
    p.parse(foldFlagValues(argv, flags), { from: "user" });
  } catch (e) {
    if (e instanceof CommanderError) throw new UsageError(e.message.replace(/^error: /, ""));
    throw e;
  }
  const options = p.opts() as Record<string, unknown>;
  const file = options.config;
  if (typeof file === "string") {
    for (const [name, value] of Object.entries(readOptionsFile(file, schema))) if (p.getOptionValueSource(name) !== "cli") options[name] = value;
  }
  for (const [name, spec] of Object.entries(schema)) {
    if (spec.required && (options[name] === undefined || options[name] === "")) throw new UsageError(`--${kebab(name)} ${spec.valueName ?? ""} is required`.replace("  ", " "));
    if (!(name in options)) options[name] = spec.default;
  }
  return { options: options as OptionValues<S>, operands: p.args };
}
