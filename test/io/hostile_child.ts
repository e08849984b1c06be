// Runs every hostile case of hostile_files.ts in this (fresh) process and prints one JSON line
// per case, then the process's peak RSS: hostile.test.ts checks the outcomes and that memory
// stayed bounded. Loads only the pure-TypeScript readers (no libtorch), so the RSS is theirs.
//   node --expose-gc --import tsx test/io/hostile_child.ts <dir>
import { join } from "node:path";
import { writeFileSync } from "node:fs";
import { CheckpointIoError } from "../../src/io/errors.ts";
import { openPth } from "../../src/io/pth.ts";
import { HOSTILE_CASES } from "./hostile_files.ts";

const dir = process.argv[2];
if (!dir) throw new Error("usage: hostile_child.ts <dir>");

// With --expose-gc, collect between cases so the peak is one case's, not their sum of garbage.
const gc = (globalThis as { gc?: () => void }).gc;
// The runtime's own footprint (Node, tsx, the readers' modules) before any case: what the cases
// add is measured from here (a distribution's Node, e.g. one linked to a shared libnode, starts larger).
gc?.();
const baselineMiB = process.memoryUsage().rss / 1048576;

for (const c of HOSTILE_CASES) {
  gc?.();
  const path = join(dir, c.file);
  writeFileSync(path, await c.build());
  let outcome = "load";
  let typed = true;
  let message = "";
  let pth: Awaited<ReturnType<typeof openPth>> | undefined;
  try {
    pth = await openPth(path);
    for (const e of pth.tensors) await e.tensor.read();
  } catch (err) {
    outcome = (err as Error).name;
    typed = err instanceof CheckpointIoError && err.file === path;
    message = String((err as Error).message).slice(0, 300);
  } finally {
    await pth?.close();
  }
  const rssMiB = Math.round(process.memoryUsage().rss / 1048576);
  console.log(JSON.stringify({ case: c.name, expect: c.expect, outcome, typed, rssMiB, message }));
}
// maxRSS is in kilobytes.
console.log(JSON.stringify({ maxRssMiB: process.resourceUsage().maxRSS / 1024, baselineMiB }));
