#!/usr/bin/env node
// The `videomae` command. Runs the TypeScript sources through tsx (no separate build step).
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src/cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
