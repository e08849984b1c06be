/**
 * Run configuration: defaults ← JSON config file ← `--key value` overrides, with types taken
 * from the defaults (numbers, booleans, strings, string lists) and unknown keys rejected with
 * the list of valid ones. Keys may be written kebab-case on the command line (`--warmup-epochs`)
 * and camelCase or snake_case in files.
 */
import { readFileSync } from "node:fs";
import { ConfigError } from "../util/errors.ts";

export type ConfigValue = number | boolean | string | string[] | null;
export type Config = Record<string, ConfigValue>;

export { ConfigError };

/** `warmup-epochs`, `warmup_epochs` → `warmupEpochs`. */
export function normalizeKey(k: string): string {
  return k.replace(/[-_]+([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function coerce(key: string, raw: unknown, like: ConfigValue, origin: string): ConfigValue {
  if (Array.isArray(like)) {
    if (Array.isArray(raw)) return raw.map(String);
    if (typeof raw === "string") return raw.split(",").map((s) => s.trim()).filter(Boolean);
    throw new ConfigError(`${origin}: ${key} must be a list (comma-separated on the command line)`);
  }
  if (typeof like === "number") {
    const n = typeof raw === "number" ? raw : Number(raw);
    if (raw === "" || !Number.isFinite(n)) throw new ConfigError(`${origin}: ${key} must be a number, got ${JSON.stringify(raw)}`);
    return n;
  }
  if (typeof like === "boolean") {
    if (typeof raw === "boolean") return raw;
    if (raw === "true" || raw === "1" || raw === "yes" || raw === undefined) return true;
    if (raw === "false" || raw === "0" || raw === "no") return false;
    throw new ConfigError(`${origin}: ${key} must be true or false, got ${JSON.stringify(raw)}`);
  }
  if (raw === null) return null;
  if (like === null && typeof raw === "string") {
    // An option without a typed default (e.g. an optional model override): infer from the text.
    if (raw === "null") return null;
    if (raw === "true" || raw === "false") return raw === "true";
    if (raw.trim() !== "" && Number.isFinite(Number(raw))) return Number(raw);
  }
  if (like === null && (typeof raw === "number" || typeof raw === "boolean")) return raw;
  return String(raw);
}

function apply(cfg: Config, key: string, raw: unknown, origin: string): void {
  const k = normalizeKey(key);
  if (!(k in cfg)) {
    throw new ConfigError(`${origin}: unknown option '${key}'. Valid options: ${Object.keys(cfg).sort().join(", ")}`);
  }
  cfg[k] = coerce(k, raw, cfg[k]!, origin);
}

/**
 * Resolves a configuration. `argv` holds `--key value` / `--flag` / `--no-flag` pairs (anything
 * else is an error); `--config FILE` in argv loads a JSON file first.
 */
export function resolveConfig<C extends Config>(defaults: C, argv: string[], opts: { file?: string } = {}): { config: C; rest: string[] } {
  const cfg: Config = { ...defaults };
  const args = [...argv];
  const rest: string[] = [];
  let file = opts.file;
  const ci = args.indexOf("--config");
  if (ci >= 0) {
    file = args[ci + 1];
    if (!file) throw new ConfigError("--config needs a file name");
    args.splice(ci, 2);
  }
  if (file) {
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(file, "utf8"));
    } catch (e) {
      throw new ConfigError(`cannot read config file ${file}: ${(e as Error).message}`);
    }
    if (typeof json !== "object" || json === null || Array.isArray(json)) throw new ConfigError(`${file}: must hold a JSON object`);
    for (const [k, v] of Object.entries(json)) apply(cfg, k, v, file);
  }
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith("--")) {
      rest.push(a);
      continue;
    }
    let key = a.slice(2);
    let value: string | undefined;
    const eq = key.indexOf("=");
    if (eq >= 0) [key, value] = [key.slice(0, eq), key.slice(eq + 1)];
    const k = normalizeKey(key);
    if (value === undefined && key.startsWith("no-") && typeof cfg[normalizeKey(key.slice(3))] === "boolean") {
      apply(cfg, key.slice(3), false, "command line");
      continue;
    }
    if (value === undefined && typeof cfg[k] === "boolean") {
      const next = args[i + 1];
      if (next === "true" || next === "false") {
        value = next;
        i++;
      }
      apply(cfg, key, value ?? true, "command line");
      continue;
    }
    if (value === undefined) {
      value = args[++i];
      if (value === undefined) throw new ConfigError(`--${key} needs a value`);
    }
    apply(cfg, key, value, "command line");
  }
  return { config: cfg as C, rest };
}
