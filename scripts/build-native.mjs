// Builds the libtorch addon (native/) with the node-gyp that ships with npm, only when a source
// file, binding.gyp or the LIBTORCH choice changed since the last build.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const native = join(root, "native");
const output = join(native, "build/Release/videomae_native.node");
const stamp = join(native, "build/.libtorch");
const force = process.argv.includes("--force");

function newestSource() {
  const files = ["binding.gyp", "config.mjs", ...readdirSync(join(native, "src")).map((f) => join("src", f))];
  return Math.max(...files.map((f) => statSync(join(native, f)).mtimeMs));
}

function nodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    join(dirname(process.execPath), "../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js"),
    join(root, "node_modules/node-gyp/bin/node-gyp.js"),
  ];
  const found = candidates.find((c) => c && existsSync(c));
  if (!found) {
    throw new Error("node-gyp not found: it ships with npm; reinstall npm or run `npm i -D node-gyp`");
  }
  return found;
}

const libtorch = process.env.LIBTORCH ?? "";
// What the build was configured with: the libtorch and the feature defines (e.g. gloo headers
// installed since the last build), so a change of either rebuilds.
const defines = spawnSync(process.execPath, [join(native, "config.mjs"), "defines"], { encoding: "utf8" }).stdout.trim();
const configured = `${libtorch}\n${defines}`;
const upToDate =
  existsSync(output) && existsSync(stamp) && readFileSync(stamp, "utf8") === configured && statSync(output).mtimeMs > newestSource();
if (upToDate && !force) {
  console.log("[build] native addon is up to date");
  process.exit(0);
}

console.log(`[build] compiling the libtorch addon (${libtorch ? `LIBTORCH=${libtorch}` : "Debian libtorch-dev"}); about a minute`);
const args = [nodeGyp(), "rebuild", "--directory", native, "-j", "2"];
// Build against the headers of the running Node when they are installed (Debian/NodeSource put
// them in <prefix>/include/node), so no header download is needed.
const prefix = join(dirname(process.execPath), "..");
if (existsSync(join(prefix, "include/node/node_api.h"))) args.push(`--nodedir=${prefix}`);
const r = spawnSync(process.execPath, args, { stdio: "inherit", cwd: native });
if (r.status !== 0) {
  console.error("[build] the native build failed; see the compiler output above.");
  console.error("[build] needs: g++ (build-essential), libtorch-dev (or LIBTORCH=<prefix> of a libtorch >= 1.13).");
  process.exit(r.status ?? 1);
}
writeFileSync(stamp, configured);
console.log("[build] done:", output);
