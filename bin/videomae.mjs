#!/usr/bin/env node
// The `videomae` command. Runs the compiled dist/ when it is built and at least as new as the
// sources (an installed package; `npm run build`), otherwise the TypeScript sources through tsx
// (development), so an old build never runs instead of edited sources.
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const root = join(import.meta.dirname, "..");
const compiled = join(root, "dist/cli/main.js");

function newestSourceMs(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSourceMs(path) : statSync(path).mtimeMs);
  }
  return newest;
}

const sources = join(root, "src");
const useDist = existsSync(compiled) && (!existsSync(sources) || statSync(compiled).mtimeMs >= newestSourceMs(sources));
let main;
if (useDist) {
  ({ main } = await import(pathToFileURL(compiled).href));
} else {
  const { register } = await import("tsx/esm/api");
  register();
  ({ main } = await import("../src/cli/main.ts"));
}
process.exitCode = await main(process.argv.slice(2));
