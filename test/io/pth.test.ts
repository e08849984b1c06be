import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { toFloat32 } from "../../src/io/convert.ts";
import {
  CheckpointFormatError,
  CheckpointIoError,
  LegacyCheckpointError,
  TruncatedFileError,
} from "../../src/io/errors.ts";
import { OpaqueObject, pickleStateOf } from "../../src/io/pickle.ts";
import { openPth, type PthFile } from "../../src/io/pth.ts";
import { TorchTensor } from "../../src/io/torch_pickle.ts";
import { readStateDict } from "../../src/io/state_dict.ts";
import { expectedCheckpoint, fixture, hexOf, tempDir } from "./helpers.ts";

const tmp = tempDir();
after(tmp.cleanup);

async function withPth<T>(name: string, fn: (f: PthFile) => Promise<T>): Promise<T> {
  const f = await openPth(fixture(name));
  try {
    return await fn(f);
  } finally {
    await f.close();
  }
}

/** Every tensor under `prefix` in the file equals the expected dtype/shape/bytes. */
async function checkTensors(name: string, prefix: string): Promise<void> {
  const exp = expectedCheckpoint(name);
  await withPth(name, async (f) => {
    assert.equal(f.archiveRoot, exp.root);
    const found = f.tensors.filter((t) => t.name.startsWith(prefix));
    assert.deepEqual(
      found.map((t) => t.name.slice(prefix.length)),
      Object.keys(exp.tensors),
    );
    for (const { name: key, tensor } of found) {
      const e = exp.tensors[key.slice(prefix.length)]!;
      assert.equal(tensor.dtype, e.dtype, key);
      assert.deepEqual([...tensor.shape], e.shape, key);
      const raw = await tensor.read();
      assert.equal(raw.dtype, e.dtype);
      assert.deepEqual(raw.shape, e.shape);
      assert.equal(hexOf(raw), e.hex, key);
    }
  });
}

describe("openPth: official-style checkpoints", () => {
  test("fp32 {model, epoch, args}: structure and exact values", async () => {
    await checkTensors("sd_fp32.pth", "model.");
    await withPth("sd_fp32.pth", async (f) => {
      const top = f.topLevel();
      assert.deepEqual(
        top.map((t) => [t.key, t.kind, t.tensors]),
        [
          ["model", "dict", 32],
          ["epoch", "number", 0],
          ["args", "object", 0],
        ],
      );
      assert.equal(top[2]!.summary, "argparse.Namespace");
      const args = (f.root as Map<string, unknown>).get("args");
      assert.ok(args instanceof OpaqueObject);
      assert.equal(args.attributes.get("lr"), 0.001);
      assert.equal((f.root as Map<string, unknown>).get("epoch"), 3);
      const qkv = f.tensors.find((t) => t.name === "model.blocks.0.attn.qkv.weight")!.tensor;
      assert.deepEqual([...qkv.strides], [8, 1]);
      assert.equal(qkv.storageOffset, 0);
      assert.equal(qkv.storage.location, "cpu");
    });
  });

  for (const name of ["sd_fp16.pth", "sd_bf16.pth"]) {
    test(`${name}: raw half words and exact float32 widening`, async () => {
      await checkTensors(name, "model.");
      const exp = expectedCheckpoint(name);
      const sd = await readStateDict(fixture(name), { toFloat32: true });
      for (const [k, t] of sd) {
        assert.equal(t.dtype, "float32");
        assert.equal(hexOf(t), exp.float32![k], k);
      }
      // toFloat32 on a read tensor gives the same bytes.
      const raw = await readStateDict(fixture(name));
      assert.equal(hexOf(toFloat32(raw.get("head.weight")!)), exp.float32!["head.weight"]);
    });
  }

  test("module wrapper with an `archive/` root", async () => {
    await checkTensors("sd_module.pth", "module.");
  });

  test("zip64 and deflated re-packs read the same tensors", async () => {
    await checkTensors("sd_zip64.pth", "model.");
    await checkTensors("sd_deflate.pth", "model.");
  });

  test("views: transposed, sliced, shared storage, expanded, 0-d, empty, Parameter", async () => {
    const exp = expectedCheckpoint("views.pth");
    await checkTensors("views.pth", "");
    await withPth("views.pth", async (f) => {
      const byName = new Map(f.tensors.map((t) => [t.name, t.tensor]));
      for (const [k, strides] of Object.entries(exp.strides!)) {
        assert.deepEqual([...byName.get(k)!.strides], strides, k);
        assert.equal(byName.get(k)!.storageOffset, exp.offsets![k], k);
      }
      // rows / cols / row2 / every_other share one storage object.
      const s = byName.get("rows")!.storage;
      for (const k of ["cols", "row2", "every_other"]) assert.equal(byName.get(k)!.storage, s);
      assert.equal(byName.get("param")!.isParameter, true);
      assert.equal(byName.get("rows")!.isParameter, false);
    });
  });

  test("int64 / int32 / bool / uint8 / float64 tensors", async () => {
    await checkTensors("ints.pth", "");
    const sd = await readStateDict(fixture("ints.pth"));
    const i64 = sd.get("i64")!.data as BigInt64Array;
    assert.ok(i64 instanceof BigInt64Array);
    assert.equal(i64[3], 2n ** 40n);
    assert.equal(i64[5], 2n ** 63n - 1n);
    assert.deepEqual([...(sd.get("b")!.data as Uint8Array)], [1, 0, 1, 1]);
    assert.deepEqual(sd.get("num_batches_tracked")!.shape, []);
  });

  test("a full training checkpoint with optimizer, scaler, numpy scalars loads", async () => {
    const exp = expectedCheckpoint("misc.pth");
    await withPth("misc.pth", async (f) => {
      const root = f.root as Map<string, unknown>;
      assert.deepEqual(
        f.topLevel().map((t) => t.key),
        ["model", "optimizer", "epoch", "scaler", "args", "np_float", "np_int", "big", "neg", "blob", "tags", "size", "pair"],
      );
      // state_dict() OrderedDicts carry a `_metadata` attribute, applied by BUILD.
      const meta = pickleStateOf(root.get("model") as object);
      assert.ok(meta instanceof Map && meta.has("_metadata"));
      const opt = root.get("optimizer") as Map<string, unknown>;
      const state = opt.get("state") as Map<number, Map<string, unknown>>;
      assert.deepEqual([...state.keys()], [0, 1]);
      const expAvg = f.tensors.find((t) => t.name === "optimizer.state.0.exp_avg")!.tensor;
      assert.equal(hexOf(await expAvg.read()), exp.exp_avg_weight!.hex);
      const scaler = root.get("scaler") as Map<string, unknown>;
      assert.equal(scaler.get("scale"), 65536);
      const args = root.get("args") as OpaqueObject;
      assert.equal(args.attributes.get("model"), "vit_base_patch16_224");
      assert.deepEqual(args.attributes.get("input_size"), [16, 224]);
      const npf = root.get("np_float") as OpaqueObject;
      assert.equal(npf.className, "numpy.core.multiarray.scalar");
      assert.ok(npf.args[1] instanceof Uint8Array);
      assert.equal(new DataView((npf.args[1] as Uint8Array).buffer).getFloat64(0, true), 0.5);
      assert.equal(root.get("big"), 2n ** 70n);
      assert.equal(root.get("neg"), -123456789012);
      assert.deepEqual(root.get("blob"), new Uint8Array([0, 1, 255, 97, 98, 99]));
      assert.deepEqual(root.get("tags"), new Set(["a", "b"]));
      assert.deepEqual(root.get("size"), [2, 3]);
      assert.deepEqual(root.get("pair"), [1, "x", null, true, false, 1.5]);
    });
    const sd = await readStateDict(fixture("misc.pth"));
    assert.deepEqual([...sd.keys()], Object.keys(exp.tensors));
  });
});

describe("openPth: bad input", () => {
  test("legacy (non-zip) checkpoints are rejected with re-save instructions", async () => {
    await assert.rejects(openPth(fixture("legacy.pth")), (err: unknown) => {
      assert.ok(err instanceof LegacyCheckpointError);
      assert.ok(err.message.includes(fixture("legacy.pth")));
      assert.match(err.message, /torch\.save\(obj, new_path\)/);
      assert.match(err.message, />= 1\.6/);
      return true;
    });
  });

  test("a file that is neither zip nor pickle", async () => {
    const p = join(tmp.dir, "weights.pth");
    writeFileSync(p, "GIF89a not a checkpoint");
    await assert.rejects(openPth(p), (err: unknown) => err instanceof CheckpointFormatError && /not a PyTorch checkpoint/.test(err.message));
    const empty = join(tmp.dir, "empty.pth");
    writeFileSync(empty, "");
    await assert.rejects(openPth(empty), /empty/);
  });

  test("a checkpoint cut in the middle gives TruncatedFileError", async () => {
    const bytes = readFileSync(fixture("sd_fp32.pth"));
    const p = join(tmp.dir, "cut.pth");
    writeFileSync(p, bytes.subarray(0, bytes.length >> 1));
    await assert.rejects(openPth(p), (err: unknown) => {
      assert.ok(err instanceof TruncatedFileError);
      assert.match(err.message, /truncated/);
      assert.ok(err.message.includes(p));
      return true;
    });
  });

  test("every cut point fails cleanly with a CheckpointIoError", async () => {
    const bytes = readFileSync(fixture("sd_fp16.pth"));
    const p = join(tmp.dir, "cuts.pth");
    for (let cut = 1; cut < bytes.length; cut += 97) {
      writeFileSync(p, bytes.subarray(0, cut));
      await assert.rejects(openPth(p), (err: unknown) => {
        assert.ok(err instanceof CheckpointIoError, `cut at ${cut}: ${String(err)}`);
        return true;
      });
    }
  });

  test("an unsupported storage type loads, and fails only when that tensor is used", async () => {
    await withPth("unsupported.pth", async (f) => {
      const s = f.tensors.find((t) => t.name === "s")!.tensor;
      assert.equal(s.storage.storageType, "torch.ShortStorage");
      assert.equal(s.storage.dtype, null);
      assert.throws(() => s.dtype, (err: unknown) => err instanceof CheckpointFormatError && /ShortStorage/.test(err.message));
      assert.match(f.topLevel()[1]!.summary, /torch\.ShortStorage/);
    });
    const sd = await readStateDict(fixture("unsupported.pth"), { filter: (k) => k !== "s", toFloat32: true });
    assert.deepEqual([...sd.keys()], ["w"]);
    await assert.rejects(readStateDict(fixture("unsupported.pth")), /ShortStorage/);
  });

  test("a view reaching past its storage is refused", async () => {
    await withPth("views.pth", async (f) => {
      const t = f.tensors.find((x) => x.name === "rows")!.tensor;
      // Same 20-element storage, but a [2, 5] view starting at element 18.
      const bad = new TorchTensor(t.storage, 18, [2, 5], [5, 1], false, false, "views.pth");
      await assert.rejects(bad.read(), (err: unknown) => err instanceof CheckpointFormatError && /holds only 20/.test(err.message));
    });
  });
});
