/** The checkpoint format (src/io/checkpoint.ts): whole reads, header-only reads, the format check. */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { CHECKPOINT_FORMAT, isCheckpointFile, loadCheckpoint, readCheckpointHeader, writeCheckpoint } from "../../src/io/checkpoint.ts";
import { openSafetensors } from "../../src/io/safetensors.ts";
import { saveTensors } from "../../src/io/tensors.ts";
import { ones, zeros } from "../../src/torch/index.ts";

const dir = mkdtempSync(join(tmpdir(), "vm-ckpt-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("whole read and header-only read (config and state without a tensor)", async () => {
  const file = join(dir, "run.safetensors");
  const w = ones([64, 64]);
  const m = zeros([64, 64]);
  await writeCheckpoint(file, {
    model: new Map([["head.weight", w]]),
    optimizer: { steps: [3], lr: 1e-3, weightDecay: 0.05, expAvg: [m], expAvgSq: [m] },
    state: { step: 3 },
    config: { modelConfig: { kind: "vit" }, labels: ["a", "b"] },
  });
  const full = await loadCheckpoint(file);
  assert.deepEqual(full.model.get("head.weight")!.shape, [64, 64]);
  assert.equal(full.optimizer!.steps[0], 3);
  for (const t of [...full.model.values(), ...full.optimizer!.expAvg, ...full.optimizer!.expAvgSq]) t?.dispose();
  assert.equal((await openSafetensors(file).then(async (f) => (await f.close(), f.metadata.format))), CHECKPOINT_FORMAT);

  assert.deepEqual(await readCheckpointHeader(file), { state: { step: 3 }, config: { modelConfig: { kind: "vit" }, labels: ["a", "b"] } });
  assert.equal(await isCheckpointFile(file), true);
  w.dispose();
  m.dispose();
});

test("a safetensors file of another format is not a checkpoint, and says so", async () => {
  const file = join(dir, "weights.safetensors");
  const t = ones([2]);
  await saveTensors(file, new Map([["w", t]]), { format: "pt" });
  t.dispose();
  assert.equal(await isCheckpointFile(file), false);
  await assert.rejects(readCheckpointHeader(file), /not a videomae training checkpoint \(format 'pt'\)/);
});
