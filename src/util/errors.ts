/**
 * The configuration mistake, one class for all of them: a model config (unknown model, bad
 * override, inconsistent sizes), a run config (unknown key, wrong type), a checkpoint's
 * config.json. Thrown before any work starts; the message says which field and what is valid.
 */
export class ConfigError extends Error {
  override name = "ConfigError";
}
