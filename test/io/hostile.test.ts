// Hostile checkpoints (issue 11): each class ends quickly with a typed error naming the file, or
// loads when it is legitimate. Files are built by hostile_files.ts; nothing is run from them.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { CheckpointIoError, ForbiddenGlobalError, LimitExceededError, ZipFormatError } from "../../src/io/errors.ts";
import { unpickle } from "../../src/io/pickle.ts";
import { openPth, type PthFile } from "../../src/io/pth.ts";
import { readStateDict } from "../../src/io/state_dict.ts";
import { lazyToTensor } from "../../src/io/tensors.ts";
import { TorchTensor } from "../../src/io/torch_pickle.ts";
import { tempDir } from "./helpers.ts";
import { APPENDS_ITEMS, bytes, HOSTILE_CASES, PROTO2, pthArchive, STOP, str, tensorPickle, dict, f32 } from "./hostile_files.ts";

// A hang would otherwise stall the suite; a correct reader takes milliseconds per case.
const GUARD = { timeout: 60_000 };

const { dir, cleanup } = tempDir();
const paths = new Map<string, string>();

before(async () => {
  for (const c of HOSTILE_CASES) {
    const p = join(dir, c.file);
    writeFileSync(p, await c.build());
    paths.set(c.name, p);
  }
});
after(cleanup);

/** Open the case's file and read every tensor; returns the error (or undefined) and the file. */
async function run(name: string, keep?: (pth: PthFile) => Promise<void>): Promise<{ err: unknown; path: string }> {
  const path = paths.get(name)!;
  let pth: PthFile | undefined;
  try {
    pth = await openPth(path);
    if (keep) await keep(pth);
    else for (const e of pth.tensors) await e.tensor.read();
    return { err: undefined, path };
  } catch (err) {
    return { err, path };
  } finally {
    await pth?.close();
  }
}

function assertTyped(err: unknown, path: string, cls: abstract new (...a: never[]) => Error): asserts err is CheckpointIoError {
  assert.ok(err instanceof cls, `expected ${cls.name}, got ${String(err)}`);
  assert.ok(err instanceof CheckpointIoError);
  assert.equal(err.file, path);
  assert.ok(err.message.includes(path), `the message names the file: ${err.message}`);
}

describe("hostile checkpoints: views", () => {
  test("a zero-stride view of one float to [65536, 65536, 4] is refused by read()", GUARD, async () => {
    const { err, path } = await run("zero-stride bomb");
    assertTyped(err, path, LimitExceededError);
    assert.match(err.message, /refusing to materialise .*\[65536, 65536, 4\].*strides \[0, 0, 0\]/);
  });

  test("...and is created as a libtorch view of its 4-byte storage by lazyToTensor", GUARD, async () => {
    const { err } = await run("zero-stride bomb", async (pth) => {
      const [e] = pth.tensors;
      const t = await lazyToTensor(e!.tensor);
      try {
        assert.deepEqual(t.shape, [65536, 65536, 4]);
        assert.deepEqual(t.strides, [0, 0, 0]);
        const corner = t.narrow(0, 65535, 1).narrow(1, 7, 1);
        assert.deepEqual([...corner.data()], [1.5, 1.5, 1.5, 1.5]);
        corner.dispose();
      } finally {
        t.dispose();
      }
    });
    assert.equal(err, undefined);
  });

  test("overlapping strides ([40000, 40000] over 80,000 floats) are refused", GUARD, async () => {
    const { err, path } = await run("overlapping-stride bomb");
    assertTyped(err, path, LimitExceededError);
  });

  test("a small legitimate zero-stride view loads, by read(), readStateDict and lazyToTensor", GUARD, async () => {
    const { err } = await run("small zero-stride view", async (pth) => {
      const t = pth.tensors[0]!.tensor;
      assert.deepEqual(t.strides, [0, 1]);
      const raw = await t.read();
      assert.deepEqual([...raw.data], [1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3]);
      const lt = await lazyToTensor(t);
      assert.deepEqual(lt.shape, [4, 3]);
      assert.deepEqual([...lt.contiguous().data()], [1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3]);
      lt.dispose();
    });
    assert.equal(err, undefined);
    const sd = await readStateDict(paths.get("small zero-stride view")!);
    assert.deepEqual([...sd.get("w")!.data], [1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3]);
  });
});

describe("hostile checkpoints: deflate", () => {
  test("an entry declaring 40 MiB from 40 KB of deflate data is refused before inflating", GUARD, async () => {
    const { err, path } = await run("deflate bomb (declared)");
    assertTyped(err, path, LimitExceededError);
    assert.match(err.message, /declares 41943040 bytes from \d+ compressed bytes/);
  });

  test("an entry inflating past its declared size stops at the cap", GUARD, async () => {
    const { err, path } = await run("deflate bomb (lying size)");
    assertTyped(err, path, ZipFormatError);
    assert.match(err.message, /inflates to more than its declared 64 bytes/);
  });

  test("a deflated data.pkl of 30 MiB from 30 KB is refused before inflating", GUARD, async () => {
    const { err, path } = await run("deflate bomb (pickle)");
    assertTyped(err, path, LimitExceededError);
    assert.match(err.message, /archive\/data\.pkl/);
  });

  test("many views of one deflated storage stop at the archive's inflation budget", GUARD, async () => {
    const { err, path } = await run("deflate bomb (many views)");
    assertTyped(err, path, LimitExceededError);
    assert.match(err.message, /already inflated/);
  });

  test("a deflated data.pkl with a wrong CRC-32 is a ZipFormatError", GUARD, async () => {
    const pickle = bytes(PROTO2, dict([["model", dict([["w", tensorPickle("0", 2, 0, [2], [1])]])]]), STOP);
    const good = pthArchive(pickle, { "0": f32([1, 2]) }, { deflatePickle: true });
    const path = join(dir, "deflate_ok.pth");
    writeFileSync(path, good);
    assert.deepEqual([...(await readStateDict(path)).get("w")!.data], [1, 2]);
    // Flip one stored CRC byte (local header byte 14 and central directory copy).
    const bad = Buffer.from(good);
    const cd = bad.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    bad[14] ^= 0xff;
    bad[cd + 16] ^= 0xff;
    const badPath = join(dir, "deflate_badcrc.pth");
    writeFileSync(badPath, bad);
    await assert.rejects(openPth(badPath), (e: unknown) => e instanceof ZipFormatError && /CRC-32/.test(e.message) && e.file === badPath);
  });
});

describe("hostile checkpoints: pickle structure", () => {
  test("a DAG of shared lists (2^60 paths) loads, walking each list once", GUARD, async () => {
    const { err } = await run("DAG of shared references", async (pth) => {
      assert.equal(pth.tensors.length, 1);
      assert.equal(pth.tensors[0]!.name, ["model", ...new Array<number>(61).fill(0)].join("."));
      assert.deepEqual([...(await pth.tensors[0]!.tensor.read()).data], [1, 2]);
      assert.deepEqual(pth.topLevel()[0]!.tensors, 1);
    });
    assert.equal(err, undefined);
  });

  test("one shared list passed to builtins.list 50,000 times exceeds the work budget", GUARD, async () => {
    const { err, path } = await run("DAG through a copying constructor");
    assertTyped(err, path, LimitExceededError);
  });

  test("100,000 nested lists unpickle without recursion, and openPth refuses the depth", GUARD, async () => {
    const n = 100_000;
    const v = unpickle(bytes(PROTO2, new Uint8Array(n).fill(0x5d), new Uint8Array(n - 1).fill(0x61), STOP), { file: "deep.pkl" });
    let depth = 0;
    for (let x: unknown = v; Array.isArray(x) && x.length; x = x[0]) depth++;
    assert.equal(depth, n - 1);
    const { err, path } = await run("deep nesting (lists)");
    assertTyped(err, path, LimitExceededError);
    assert.match(err.message, /nested more than 1000 levels/);
  });

  test("100,000 nested MARK ... DICT levels are refused with a typed error", GUARD, async () => {
    const { err, path } = await run("deep nesting (marks and dicts)");
    assertTyped(err, path, LimitExceededError);
  });

  test("a 500,000-item APPENDS and SETITEMS load", GUARD, async () => {
    const { err } = await run("huge APPENDS and SETITEMS", async (pth) => {
      const root = pth.root as Map<string, unknown>;
      assert.equal((root.get("list") as unknown[]).length, APPENDS_ITEMS);
      assert.deepEqual(root.get("dict"), new Map([[true, null]]));
      assert.equal(pth.tensors.length, 0);
    });
    assert.equal(err, undefined);
  });

  test("a tensor reference whose wrapper calls itself is refused, not a stack overflow", GUARD, async () => {
    // L = [_rebuild_from_type_v2, None, L, None]; _rebuild_from_type_v2(*L) calls L[0](*L[2]) forever.
    const pickle = bytes(
      PROTO2, 0x7d, str("model"),
      0x5d, 0x71, 1, // EMPTY_LIST, BINPUT 1
      0x28, 0x63, "torch._tensor\n_rebuild_from_type_v2\n", 0x4e, 0x68, 1, 0x4e, 0x65, // APPENDS [f, None, L, None]
      0x30, // POP
      0x63, "torch._tensor\n_rebuild_from_type_v2\n", 0x68, 1, 0x52, // f(*L)
      0x73, STOP,
    );
    const path = join(dir, "self_call.pth");
    writeFileSync(path, pthArchive(pickle));
    await assert.rejects(openPth(path), (e: unknown) => e instanceof CheckpointIoError && e.file === path && /nested more than/.test(e.message));
  });
});

describe("hostile checkpoints: payload globals", () => {
  for (const c of HOSTILE_CASES.filter((x) => x.file.startsWith("payload_") && x.name !== "unknown class")) {
    const global = c.name.split(" ")[1]!.replace("__builtin__", "builtins");
    test(`${c.name} is refused as a code-execution payload`, GUARD, async () => {
      const { err, path } = await run(c.name);
      assertTyped(err, path, ForbiddenGlobalError);
      assert.ok(err instanceof ForbiddenGlobalError);
      assert.equal(err.global, global);
      assert.equal(err.codeExecution, true);
      assert.ok(err.message.startsWith(`refusing code-execution payload ${global} in ${path}`), err.message);
    });
  }

  test("a class off the allow-list is refused by name (not as code execution)", GUARD, async () => {
    const { err, path } = await run("unknown class");
    assertTyped(err, path, ForbiddenGlobalError);
    assert.ok(err instanceof ForbiddenGlobalError);
    assert.equal(err.global, "mypackage.models.Net");
    assert.equal(err.codeExecution, false);
    assert.match(err.message, /mypackage\.models\.Net.*not on the allow-list/);
  });

  test("tensors of real checkpoints are TorchTensors (allow-list covers them)", GUARD, async () => {
    const { err } = await run("small zero-stride view", async (pth) => {
      assert.ok(pth.tensors[0]!.tensor instanceof TorchTensor);
    });
    assert.equal(err, undefined);
  });
});

describe("hostile checkpoints in a fresh process", () => {
  test("every case ends as expected with a typed error naming the file, under 150 MiB of peak RSS above the runtime's", GUARD, () => {
    const sub = tempDir();
    try {
      const r = spawnSync(process.execPath, ["--expose-gc", "--import", "tsx", join(import.meta.dirname, "hostile_child.ts"), sub.dir], {
        encoding: "utf8",
        timeout: 120_000,
      });
      assert.equal(r.status, 0, `child failed (signal ${r.signal}):\n${r.stderr}`);
      const lines = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
      const peak = lines.pop()!;
      assert.equal(lines.length, HOSTILE_CASES.length);
      for (const l of lines) {
        assert.equal(l.outcome, l.expect, `${String(l.case)}: ${String(l.message)}`);
        assert.equal(l.typed, true, `${String(l.case)}: untyped error or wrong file: ${String(l.message)}`);
      }
      // The cases claim gigabytes; bounded reading keeps what they add far below that. (What is
      // added includes building each case's file in memory: ~100 MiB here, Node 20 on Debian 12.)
      const added = (peak.maxRssMiB as number) - (peak.baselineMiB as number);
      assert.ok(added < 150, `peak RSS ${String(peak.maxRssMiB)} MiB, ${added.toFixed(0)} MiB above the runtime's ${Number(peak.baselineMiB).toFixed(0)} MiB`);
    } finally {
      sub.cleanup();
    }
  });
});
