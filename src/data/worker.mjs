// Entry point of a data-loader worker thread (src/data/pool.ts starts it).
//
// Worker threads do not inherit module hooks that the main thread installed with tsx's
// `register()` (how bin/videomae.mjs loads TypeScript), and Node cannot start a worker from a
// .ts file directly even under `node --import tsx`. So the worker starts from this plain
// JavaScript file, registers tsx itself, then imports the TypeScript worker. Registering again
// when `--import tsx` was inherited through execArgv is harmless.
import { register } from "tsx/esm/api";

register();
await import("./worker.ts");
