// Unit tests of the bounds added for issue 11, below the whole-file hostile cases: the pickle
// allow-list and its code-execution names, MARK semantics on the flat stack, linear LONG
// parsing, Python's integer-digit limit, the npy header limits, and streamed inflation.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { CheckpointIoError, ForbiddenGlobalError, LimitExceededError, NpyFormatError, PickleError, ZipFormatError } from "../../src/io/errors.ts";
import { decodeNpy, readNpy } from "../../src/io/npy.ts";
import { OpaqueObject, unpickle } from "../../src/io/pickle.ts";
import { crc32, ZipArchive } from "../../src/io/zip.ts";
import { tempDir } from "./helpers.ts";
import { bytes, global, PROTO2, STOP, str, tuple, zipArchive } from "./hostile_files.ts";

const tmp = tempDir();
after(tmp.cleanup);

const load = (data: Uint8Array) => unpickle(data, { file: "t.pkl" });
const refusal = (data: Uint8Array): ForbiddenGlobalError => {
  try {
    load(data);
  } catch (err) {
    assert.ok(err instanceof ForbiddenGlobalError, String(err));
    assert.equal(err.file, "t.pkl");
    return err;
  }
  assert.fail("expected a ForbiddenGlobalError");
};

describe("pickle allow-list", () => {
  test("data classes of real checkpoints load (OrderedDict, Namespace, numpy scalar, Python 2 aliases)", () => {
    const od = load(bytes(PROTO2, global("collections", "OrderedDict"), 0x29, 0x52, STOP));
    assert.ok(od instanceof Map);
    const ns = load(bytes(PROTO2, global("argparse", "Namespace"), 0x29, 0x81, 0x7d, str("lr"), 0x4b, 3, 0x73, 0x62, STOP));
    assert.ok(ns instanceof OpaqueObject && ns.attributes.get("lr") === 3);
    const np = load(bytes(PROTO2, global("numpy.core.multiarray", "scalar"), tuple(global("numpy", "dtype"), str("x")), 0x52, STOP));
    assert.ok(np instanceof OpaqueObject && np.className === "numpy.core.multiarray.scalar");
    assert.deepEqual(load(bytes(PROTO2, global("__builtin__", "set"), tuple(0x5d), 0x52, STOP)), new Set());
    // torch.__version__ as torch.save writes it: TorchVersion("1.13.0"), a str subclass.
    const version = load(bytes(PROTO2, global("torch.torch_version", "TorchVersion"), tuple(str("1.13.0")), 0x52, STOP));
    assert.ok(version instanceof OpaqueObject && version.className === "torch.torch_version.TorchVersion");
  });

  test("code-execution callables are named as such, in every spelling", () => {
    for (const [mod, name, shown] of [
      ["os", "system", "os.system"],
      ["posix", "system", "posix.system"],
      ["nt", "system", "nt.system"],
      ["subprocess", "check_output", "subprocess.check_output"],
      ["builtins", "__import__", "builtins.__import__"],
      ["builtins", "compile", "builtins.compile"],
      ["__builtin__", "eval", "builtins.eval"],
      ["subprocess", "Popen", "subprocess.Popen"],
    ] as const) {
      const err = refusal(bytes(PROTO2, global(mod, name), STOP));
      assert.equal(err.global, shown);
      assert.equal(err.codeExecution, true, shown);
      assert.ok(err.message.startsWith(`refusing code-execution payload ${shown} in t.pkl`), err.message);
    }
  });

  test("any other global is refused by name, and torch rebuilders only where torch allows them", () => {
    const err = refusal(bytes(PROTO2, global("mymodule", "Foo"), STOP));
    assert.equal(err.codeExecution, false);
    assert.match(err.message, /mymodule\.Foo .*not on the allow-list/);
    assert.equal(refusal(bytes(PROTO2, global("torch._utils", "_rebuild_tensor_v2"), STOP)).codeExecution, false);
    assert.equal(refusal(bytes(PROTO2, global("os.path", "join"), STOP)).codeExecution, false);
    // A name with a newline or control characters is shown escaped.
    assert.match(refusal(bytes(PROTO2, str("a\u0007b"), str("c"), 0x93, STOP)).message, /a\\u0007b\.c/);
  });
});

describe("pickle VM bounds", () => {
  test("MARK keeps the items below it out of reach", () => {
    assert.throws(() => load(bytes(PROTO2, 0x4e, 0x28, 0x30, STOP)), /stack underflow/);
    assert.throws(() => load(bytes(PROTO2, 0x4e, 0x28, 0x85, STOP)), /stack underflow/);
    assert.deepEqual(load(bytes(PROTO2, 0x5d, 0x28, 0x4b, 1, 0x4b, 2, 0x65, STOP)), [1, 2]);
    assert.throws(() => load(bytes(PROTO2, 0x28, 0x6f, STOP)), /OBJ without a class/);
  });

  test("a 200,000-byte LONG4 is parsed exactly", () => {
    const n = 200_000;
    const b = new Uint8Array(n);
    b[n - 1] = 0x01; // 2^(8(n-1))
    const len = Buffer.alloc(4);
    len.writeUInt32LE(n);
    assert.equal(load(bytes(PROTO2, 0x8b, len, b, STOP)), 1n << BigInt(8 * (n - 1)));
    assert.equal(load(bytes(PROTO2, 0x8b, len, new Uint8Array(n).fill(0xff), STOP)), -1);
  });

  test("decimal literals longer than Python's 4300 digits are refused", () => {
    assert.equal(load(bytes(PROTO2, 0x49, "9".repeat(4300), "\n", STOP)), 10n ** 4300n - 1n);
    assert.throws(() => load(bytes(PROTO2, 0x49, "9".repeat(5000), "\n", STOP)), PickleError);
  });

  test("copying one shared list over and over exceeds the work budget", () => {
    const calls: Uint8Array[] = [];
    for (let i = 0; i < 2000; i++) calls.push(bytes(0x68, 2, 0x68, 1, 0x85, 0x52, 0x30));
    const pickle = bytes(PROTO2, global("builtins", "list"), 0x71, 2, 0x30, 0x5d, 0x71, 1, 0x28, new Uint8Array(2000).fill(0x4e), 0x65, Buffer.concat(calls), STOP);
    assert.throws(() => load(pickle), (e: unknown) => e instanceof LimitExceededError && e.file === "t.pkl");
  });
});

describe("npy header bounds", () => {
  const npy = (header: string, major = 1): Uint8Array => {
    const h = Buffer.from(header + "\n", "latin1");
    const len = Buffer.alloc(major === 1 ? 2 : 4);
    if (major === 1) len.writeUInt16LE(h.length);
    else len.writeUInt32LE(h.length);
    return bytes(0x93, "NUMPY", major, 0, len, h);
  };

  test("nesting deeper than 32 literals is a NpyFormatError, not a stack overflow", () => {
    const deep = "(".repeat(20_000) + ")".repeat(20_000);
    assert.throws(() => decodeNpy(npy(`{'descr': '<f4', 'fortran_order': False, 'shape': ${deep}, }`, 2)), NpyFormatError);
  });

  test("a header of many numbers parses in linear time and is rejected by shape", () => {
    const shape = `(${Array.from({ length: 50_000 }, () => "1").join(", ")})`;
    // numel 1 but 50,000 dims: the header is valid Python; the data (4 bytes) matches.
    const head = npy(`{'descr': '<f4', 'fortran_order': False, 'shape': ${shape}, }`, 2);
    const t = decodeNpy(bytes(head, new Uint8Array(4)));
    assert.equal(t.shape.length, 50_000);
  });

  test("a header length beyond 1 MiB is refused before reading it", async () => {
    const len = Buffer.alloc(4);
    len.writeUInt32LE(0x7fffffff);
    const p = join(tmp.dir, "huge_header.npy");
    writeFileSync(p, bytes(0x93, "NUMPY", 2, 0, len, "{}"));
    await assert.rejects(readNpy(p), (e: unknown) => e instanceof NpyFormatError && e.file === p && /header/.test(e.message));
  });
});

describe("streamed inflation", () => {
  // 9 MiB of low-entropy bytes: above the cache size, so reads stream every time.
  const n = 9 * 1024 * 1024;
  const data = new Uint8Array(n);
  let x = 7;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    data[i] = (x >>> 29) & 3;
  }

  test("readRange of a large deflated entry returns exactly the asked bytes", async () => {
    const p = join(tmp.dir, "big_deflate.zip");
    writeFileSync(p, zipArchive([{ name: "a/data/0", data, deflate: true }]));
    const z = await ZipArchive.open(p);
    try {
      const e = z.entry("a/data/0")!;
      for (const [start, length] of [[0, 10], [n - 7, 7], [4_000_001, 65_536 * 3 + 5]] as const) {
        assert.deepEqual(await z.readRange(e, start, length), data.subarray(start, start + length));
      }
    } finally {
      await z.close();
    }
  });

  test("a wrong CRC-32 is found on a streamed read too", async () => {
    const p = join(tmp.dir, "big_deflate_badcrc.zip");
    writeFileSync(p, zipArchive([{ name: "a/data/0", data, deflate: true, declaredCrc: crc32(data) ^ 1 }]));
    const z = await ZipArchive.open(p);
    try {
      await assert.rejects(z.readRange(z.entry("a/data/0")!, 5, 5), (e: unknown) => e instanceof ZipFormatError && /CRC-32/.test(e.message));
    } finally {
      await z.close();
    }
    assert.ok(new ZipFormatError(p, "x") instanceof CheckpointIoError);
  });
});

describe("opening", () => {
  test("a missing file, a directory and a FIFO are FileAccessErrors naming the path (a FIFO does not block)", async () => {
    const { spawnSync } = await import("node:child_process");
    const { FileAccessError } = await import("../../src/io/errors.ts");
    const { openPth } = await import("../../src/io/pth.ts");
    const { openSafetensors } = await import("../../src/io/safetensors.ts");
    const missing = join(tmp.dir, "nope.pth");
    for (const open of [openPth, openSafetensors, readNpy]) {
      await assert.rejects(open(missing), (e: unknown) => e instanceof FileAccessError && e.code === "ENOENT" && e.message.startsWith(`${missing}: no such file`));
      await assert.rejects(open(tmp.dir), (e: unknown) => e instanceof FileAccessError && /is a directory/.test(e.message));
    }
    const fifo = join(tmp.dir, "pipe.pth");
    if (spawnSync("mkfifo", [fifo]).status === 0) {
      await assert.rejects(openPth(fifo), (e: unknown) => e instanceof FileAccessError && e.file === fifo && /FIFO/.test(e.message));
    }
  });
});
