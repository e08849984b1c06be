/**
 * The npm package as a user gets it: `npm run build` (dist/: ES modules + .d.ts), `npm pack`, the
 * tarball unpacked into an empty folder's node_modules/videomae, then plain Node (no tsx, no
 * TypeScript loader) runs the README's library example there and `tsc` type-checks the same code
 * against the packed .d.ts.
 *
 * How the installed package finds what it needs without a network:
 *  - its dependencies: the test does what `npm install` would, without npm touching anything —
 *    it unpacks the tarball itself and symlinks each of the package's runtime dependencies from
 *    this checkout's node_modules (Node resolves a symlinked package at its real path, so their
 *    own dependencies resolve there too). `tsx` is left out on purpose: nothing in dist needs it.
 *    (An `npm install` over symlinked dependencies is unsafe: npm prunes "extraneous" packages
 *    inside symlinked scope folders, i.e. in the real node_modules they point to.)
 *  - the libtorch addon: VIDEOMAE_ADDON points at this checkout's compiled addon (the package
 *    ships native/ sources for `npm run build:native`, which needs libtorch and a compiler).
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { saveCheckpoint } from "../src/train/checkpoint.ts";
import { createModel } from "../src/models/index.ts";

const root = join(import.meta.dirname, "..");
const addon = process.env.VIDEOMAE_ADDON || join(root, "native/build/Release/videomae_native.node");
const work = mkdtempSync(join(tmpdir(), "vm-package-"));
const app = join(work, "app");
after(() => rmSync(work, { recursive: true, force: true }));

/** The first ```ts block under "## Library example" in README.md. */
function readmeExample(): string {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("## Library example"));
  const m = /```ts\n([\s\S]*?)```/.exec(section);
  assert.ok(m, "README.md has a ```ts block under ## Library example");
  return m[1]!;
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8", env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env } });
  assert.equal(r.status, 0, `${cmd} ${args.join(" ")} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

describe("npm package", () => {
  before(async () => {
    // Build (incremental: quick when dist/ is current), pack, unpack as npm would.
    run(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"], root);
    const packed = JSON.parse(run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", work], root, { npm_config_cache: process.env.npm_config_cache ?? join(process.env.HOME ?? work, ".npm") })) as { filename: string }[];
    const pkg = join(app, "node_modules", "videomae");
    mkdirSync(pkg, { recursive: true });
    execFileSync("tar", ["-xzf", join(work, packed[0]!.filename), "-C", pkg, "--strip-components=1"]);
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module", dependencies: { videomae: "0.1.0" } }));
    const manifest = JSON.parse(readFileSync(join(pkg, "package.json"), "utf8")) as { dependencies: Record<string, string> };
    for (const dep of [...Object.keys(manifest.dependencies).filter((d) => d !== "tsx"), "@types/node"]) {
      const link = join(app, "node_modules", dep);
      mkdirSync(dirname(link), { recursive: true });
      symlinkSync(realpathSync(join(root, "node_modules", dep)), link, "dir");
    }
    // What the README example reads: a training checkpoint and a clip.
    const model = createModel("tiny_test_vit", { numClasses: 3 });
    const ckpt = join(app, "runs/demo/finetune-pretrained/checkpoint-best.safetensors");
    mkdirSync(dirname(ckpt), { recursive: true });
    await saveCheckpoint(ckpt, { model, state: { step: 1 }, config: { modelConfig: model.config, labels: ["left", "right", "up"] } });
    model.dispose();
    execFileSync("ffmpeg", ["-v", "error", "-f", "lavfi", "-i", "testsrc=size=48x32:rate=25:duration=1", "-pix_fmt", "yuv420p", join(app, "clip.mp4")]);
  });

  test("the tarball holds dist (ESM + .d.ts), not the build info; exports point at dist", () => {
    const pkg = join(app, "node_modules", "videomae");
    for (const f of ["dist/index.js", "dist/index.d.ts", "dist/hf/models.d.ts", "dist/data/worker.js", "bin/videomae.mjs", "native/binding.gyp"]) assert.ok(existsSync(join(pkg, f)), f);
    assert.ok(!existsSync(join(pkg, "dist/.tsbuildinfo")));
    const manifest = JSON.parse(readFileSync(join(pkg, "package.json"), "utf8"));
    assert.deepEqual(manifest.exports["."], { types: "./dist/index.d.ts", default: "./dist/index.js" });
  });

  test("plain Node imports it and runs the README example", () => {
    writeFileSync(join(app, "example.mjs"), readmeExample());
    const stdout = run(process.execPath, ["example.mjs"], app, { VIDEOMAE_ADDON: addon, VIDEOMAE_NUM_THREADS: "1" });
    assert.match(stdout, /label: '(left|right|up)'/);
    assert.match(stdout, /loss \d+\.\d{3}/);
    assert.ok(existsSync(join(app, "runs/demo/hf/config.json")) && existsSync(join(app, "runs/demo/hf/model.safetensors")));
    const imported = run(process.execPath, ["-e", 'import("videomae").then((m) => console.log(typeof m.pipeline, typeof m.VideoMAEForVideoClassification.fromPretrained))'], app, { VIDEOMAE_ADDON: addon });
    assert.equal(imported.trim(), "function function");
  });

  test("tsc type-checks the README example against the packed .d.ts", () => {
    writeFileSync(join(app, "example.ts"), readmeExample());
    writeFileSync(
      join(app, "tsconfig.json"),
      JSON.stringify({ compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, noEmit: true, skipLibCheck: true, types: ["node"] }, files: ["example.ts"] }),
    );
    run(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", "."], app);
  });

  test("data-loader worker threads start from the compiled worker (no tsx)", () => {
    writeFileSync(join(app, "list.csv"), `${join(app, "clip.mp4")} 1\n`);
    const script = [
      'import { data } from "videomae";',
      'const ds = new data.VideoClsDataset({ list: "list.csv", mode: "validation", numFrames: 4, samplingRate: 2, inputSize: 24 });',
      "const loader = new data.DataLoader(ds, { batchSize: 1, numWorkers: 1, log: () => {} });",
      "for await (const b of loader.epoch(0)) { console.log(b.kind, b.labels[0], b.video.shape.join('x')); b.dispose(); }",
      "await loader.close();",
    ].join("\n");
    writeFileSync(join(app, "loader.mjs"), script);
    assert.equal(run(process.execPath, ["loader.mjs"], app, { VIDEOMAE_ADDON: addon }).trim(), "labelled 1 1x3x4x24x24");
  });

  test("the CLI runs from dist without tsx", () => {
    const stdout = run(process.execPath, [join(app, "node_modules/videomae/bin/videomae.mjs"), "info", "--list"], app, { VIDEOMAE_ADDON: addon });
    assert.match(stdout, /vit_base_patch16_224/);
  });
});
