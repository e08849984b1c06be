// Runs the test suite with node's built-in runner (TypeScript through tsx), after a type check.
//   npm test                      every test/**/*.test.ts
//   npm test -- test/tensor.test.ts   only the named files (no type check)
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

function findTests(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...findTests(p));
    else if (name.endsWith(".test.ts")) out.push(relative(root, p));
  }
  return out;
}

const picked = process.argv.slice(2);
const files = picked.length ? picked : findTests(join(root, "test"));

if (!picked.length) {
  console.log("[test] type-checking (tsc --noEmit)");
  const tsc = spawnSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "--noEmit", "-p", root], {
    stdio: "inherit",
    cwd: root,
  });
  if (tsc.status !== 0) {
    console.error("[test] type check failed");
    process.exit(tsc.status ?? 1);
  }
}

console.log(`[test] running ${files.length} test files`);
// Tests run one file at a time: each may use both cores, and parallel files would fight for them.
const r = spawnSync(
  process.execPath,
  ["--import", "tsx", "--test", "--test-concurrency=1", "--test-reporter=spec", ...files],
  { stdio: "inherit", cwd: root, env: { ...process.env, VIDEOMAE_TEST: "1" } },
);
process.exit(r.status ?? 1);
