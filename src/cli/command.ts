/** What every CLI command provides, and how a command is declared from its option schema. */
import { optionHelp, parseCommandLine } from "./options/parse.ts";
import type { OptionSchema, OptionValues } from "./options/schema.ts";
import { configFileOption } from "./options/groups.ts";
import { UsageError } from "./usage_error.ts";

export interface Command {
  name: string;
  /** Full --help text: usage, description, options with descriptions and defaults, an example. */
  help: string;
  /** Every option it takes (with `config`), as declared. */
  options: OptionSchema;
  run(argv: string[]): Promise<number | void>;
}

export { UsageError } from "./usage_error.ts";

/**
 * A command's declaration. (`S` is any record, not `OptionSchema`: that constraint would give the
 * option builders a contextual return type with `any` values, losing the parsed values' types.)
 */
export interface CommandDefinition<S extends Record<string, unknown>> {
  name: string;
  /** The usage lines after `Usage: videomae <name> `. */
  usage: string;
  /** What the command does (the paragraphs between the usage and the options). */
  description: string;
  /** Every option, declared once (shared groups from options/groups.ts spread in). */
  options: S;
  /** Text after the option table: examples, notes. */
  epilogue?: string;
  /** Whether it takes operands (VIDEO…, CHECKPOINT); otherwise one is a usage error. */
  operands?: boolean;
  /** `argv` is the whole command line, for a command that passes on what follows `--` (launch). */
  run(options: OptionValues<S>, operands: string[], argv: string[]): Promise<number | void>;
}

/** Every command's options: its own, and `--config FILE.json` (option values; flags win). */
type WithConfigFile<S> = S & { config: typeof configFileOption };

/** A command from its declaration: argv is parsed and validated by the schema before `run`. */
export function defineCommand<S extends Record<string, unknown>>(def: CommandDefinition<S>): Command {
  const schema = { ...def.options, config: configFileOption } as WithConfigFile<S> & OptionSchema;
  let help: string | undefined;
  return {
    name: def.name,
    options: schema,
    get help() {
      help ??= [`Usage: videomae ${def.name} ${def.usage}`, "", def.description, "", optionHelp(def.name, schema), ...(def.epilogue ? ["", def.epilogue] : [])].join("\n");
      return help;
    },
    async run(argv) {
      const { options, operands } = parseCommandLine(def.name, schema, argv);
      if (!def.operands && operands.length) throw new UsageError(`unexpected argument '${operands[0]}' (options are --name value)`);
      return def.run(options, operands, argv);
    },
  };
}
