/**
 * Starting another module of this package in a worker thread or a child process, whether the
 * package runs from its TypeScript sources (development, through tsx) or compiled to `dist/`
 * (an installed package, plain Node).
 *
 *   const entry = siblingModule(import.meta.url, "model_worker");
 *   spawn(process.execPath, [...entry.execArgv, entry.file]);
 *   // sources:  node --import <tsx> …/src/bench/model_worker.ts
 *   // compiled: node …/dist/bench/model_worker.js
 */
import { fileURLToPath } from "node:url";

/** True when the calling file is compiled JavaScript (dist/…/*.js), false for a .ts source. */
export function isCompiled(callerUrl: string): boolean {
  return /\.js$/.test(new URL(callerUrl).pathname);
}

/** Node flags that let a fresh process import TypeScript sources: `--import tsx` in development, nothing when compiled. */
export function typeScriptExecArgv(callerUrl: string): string[] {
  return isCompiled(callerUrl) ? [] : ["--import", import.meta.resolve("tsx")];
}

/** The file of module `name` beside the caller (`name.ts` or `name.js`) and the flags a process needs to run it. */
export function siblingModule(callerUrl: string, name: string): { file: string; execArgv: string[] } {
  const file = fileURLToPath(new URL(`./${name}${isCompiled(callerUrl) ? ".js" : ".ts"}`, callerUrl));
  return { file, execArgv: typeScriptExecArgv(callerUrl) };
}
