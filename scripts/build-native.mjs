// Builds the libtorch addon (native/) with the node-gyp that ships with npm, only when a source
// file, binding.gyp or the LIBTORCH choice changed since the last build.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
// VIDEOMAE_NATIVE_DIR: build a copy of native/ elsewhere (scripts/libtorch-env.sh builds one per
// libtorch inside its root, leaving native/build alone).
const native = process.env.VIDEOMAE_NATIVE_DIR ?? join(root, "native");
const output = join(native, "build/Release/videomae_native.node");
const stamp = join(native, "build/.libtorch");
const force = process.argv.includes("--force");

function newestSource() {
  // native/src and its folders (native/src/video/, ...), recursively.
  const sources = readdirSync(join(native, "src"), { recursive: true }).map((f) => join("src", String(f)));
  const files = ["binding.gyp", "config.mjs", ...sources];
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
// What the build was configured with: the libtorch and the feature defines (e.g. gloo headers or
// FFmpeg's libraries installed since the last build), so a change of either rebuilds.
const defines = spawnSync(process.execPath, [join(native, "config.mjs"), "defines"], { encoding: "utf8" }).stdout.trim();
const configured = `${libtorch}\n${defines}`;
const upToDate =
  existsSync(output) && existsSync(stamp) && readFileSync(stamp, "utf8") === configured && statSync(output).mtimeMs > newestSource();
if (upToDate && !force) {
  console.log("[build] native addon is up to date");
  process.exit(0);
}

console.log(`[build] compiling the libtorch addon (${libtorch ? `LIBTORCH=${libtorch}` : "Debian libtorch-dev"}); about a minute`);
// configure + build (not rebuild): objects whose sources and flags did not change are kept (gyp's
// makefiles recompile when a command line changes), and the previous addon stays in place until
// the new one is linked, so processes starting meanwhile still load one. --clean starts from scratch.
const gyp = (...cmd) => {
  const args = [nodeGyp(), ...cmd, "--directory", native];
  // Build against the headers of the running Node when they are installed (Debian/NodeSource put
  // them in <prefix>/include/node), so no header download is needed.
  const prefix = join(dirname(process.execPath), "..");
  if (existsSync(join(prefix, "include/node/node_api.h"))) args.push(`--nodedir=${prefix}`);
  return spawnSync(process.execPath, args, { stdio: "inherit", cwd: native });
};
let r = process.argv.includes("--clean") ? gyp("clean") : { status: 0 };
if (r.status === 0) r = gyp("configure");
if (r.status === 0) r = gyp("build", "-j", String(Math.max(2, availableParallelism())));
if (r.status !== 0) {
  console.error("[build] the native build failed; see the compiler output above.");
  console.error("[build] needs: g++ (build-essential), libtorch-dev (or LIBTORCH=<prefix> of a libtorch >= 1.13).");
  process.exit(r.status ?? 1);
}
writeFileSync(stamp, configured);
if (!/\bVM_HAVE_LIBAV\b/.test(defines)) {
  console.log(
    "[build] note: built without the in-process video decoder (FFmpeg's libraries not found by pkg-config); " +
      "videos are decoded through the ffmpeg program. For the faster in-process decoder: " +
      "apt-get install libavformat-dev libavcodec-dev libswscale-dev libavutil-dev, then `node scripts/build-native.mjs`.",
  );
}
console.log("[build] done:", output);
