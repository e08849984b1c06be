import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { PickleError } from "../../src/io/errors.ts";
import { OpaqueObject, PickleGlobal, pickleStateOf, unpickle } from "../../src/io/pickle.ts";
import { fixture, pkl } from "./helpers.ts";

const load = (data: Uint8Array) => unpickle(data, { file: "test.pkl" });
// Classes the tests below allow on top of the built-in allow-list.
const extra = new Set(["some.module.Thing", "easydict.EasyDict", "m.MyList", "torch.float32"]);
const loadAllowing = (data: Uint8Array) => unpickle(data, { file: "test.pkl", allowGlobals: extra });

describe("unpickle: Python-written pickles, protocols 1-5", () => {
  for (const proto of [1, 2, 3, 4, 5]) {
    test(`protocol ${proto}`, () => {
      const v = unpickle(readFileSync(fixture("pickles", `p${proto}.pkl`)), { file: `p${proto}.pkl` });
      assert.ok(v instanceof Map);
      const get = (k: unknown) => v.get(k);
      assert.equal(get("int"), 1);
      assert.equal(get("i2"), 300);
      assert.equal(get("neg"), -70000);
      assert.equal(get("big"), 2n ** 70n);
      assert.equal(get("negbig"), -(2n ** 64n));
      assert.equal(get("f"), 1.5);
      assert.equal(get("s"), "h\u00e9llo \u2713");
      assert.deepEqual(get("b"), new Uint8Array([0x00, 0xff]));
      assert.deepEqual(get("ba"), new Uint8Array([0x78, 0x79]));
      assert.deepEqual(get("t"), [1, 2, 3]);
      assert.deepEqual(get("t1"), [1]);
      assert.deepEqual(get("t0"), []);
      assert.deepEqual(get("t5"), [1, 2, 3, 4, 5]);
      assert.deepEqual(get("l"), [1, [2]]);
      assert.equal(get("none"), null);
      assert.deepEqual(get("bools"), [true, false]);
      assert.deepEqual(get("set"), new Set([1]));
      assert.deepEqual(get("fs"), new Set([2]));
      const od = get("od");
      assert.ok(od instanceof Map);
      assert.deepEqual([...od.keys()], ["z", "a"]); // order preserved
      const shared = get("shared") as unknown[][];
      assert.equal(shared[0], shared[1]); // memo keeps identity
      assert.deepEqual(shared[0], [7, 8]);
      const ns = get("ns");
      assert.ok(ns instanceof OpaqueObject);
      assert.equal(ns.className, "argparse.Namespace");
      assert.equal(ns.attributes.get("x"), 1);
      assert.equal(get(3), "int key");
      assert.deepEqual([...v.keys()].slice(0, 3), ["int", "i2", "neg"]);
    });
  }
});

describe("unpickle: hand-assembled opcodes", () => {
  test("integers, floats, LONG1 sign handling", () => {
    // PROTO 2, MARK, BININT -2, BININT1 255, BININT2 65535, LONG1 [0xff] = -1, LONG1 [] = 0,
    // LONG1 8 bytes 2^63, BINFLOAT -0.25, TUPLE, STOP
    const v = load(
      pkl(0x80, 2, 0x28, 0x4a, [0xfe, 0xff, 0xff, 0xff], 0x4b, 255, 0x4d, [0xff, 0xff], 0x8a, 1, 0xff, 0x8a, 0,
        0x8a, 9, [0, 0, 0, 0, 0, 0, 0, 0x80, 0], 0x47, [0xbf, 0xd0, 0, 0, 0, 0, 0, 0], 0x74, 0x2e),
    );
    assert.deepEqual(v, [-2, 255, 65535, -1, 0, 2n ** 63n, -0.25]);
  });

  test("allowed classes without a callable become OpaqueObjects with args and BUILD state", () => {
    // NEWOBJ some.module.Thing("abc"), then BUILD {"k": 7}
    const v = loadAllowing(
      pkl(0x80, 2, 0x63, "some.module\nThing\n", 0x58, [3, 0, 0, 0], "abc", 0x85, 0x81,
        0x7d, 0x58, [1, 0, 0, 0], "k", 0x4b, 7, 0x73, 0x62, 0x2e),
    );
    assert.ok(v instanceof OpaqueObject);
    assert.equal(v.className, "some.module.Thing");
    assert.deepEqual(v.args, ["abc"]);
    assert.deepEqual(v.attributes, new Map([["k", 7]]));
  });

  test("dict and list subclasses of allowed classes keep their items", () => {
    const d = loadAllowing(pkl(0x80, 2, 0x63, "easydict\nEasyDict\n", 0x29, 0x52, 0x58, [1, 0, 0, 0], "a", 0x4b, 1, 0x73, 0x2e));
    assert.ok(d instanceof OpaqueObject);
    assert.equal(d.className, "easydict.EasyDict");
    assert.deepEqual(d.dictItems, new Map([["a", 1]]));
    const l = loadAllowing(pkl(0x80, 2, 0x63, "m\nMyList\n", 0x29, 0x81, 0x4b, 4, 0x61, 0x2e));
    assert.ok(l instanceof OpaqueObject);
    assert.deepEqual(l.listItems, [4]);
  });

  test("BUILD on an OrderedDict records the state (torch's _metadata)", () => {
    const v = load(
      pkl(0x80, 2, 0x63, "collections\nOrderedDict\n", 0x29, 0x52, 0x7d, 0x58, [1, 0, 0, 0], "m", 0x4b, 1, 0x73, 0x62, 0x2e),
    );
    assert.ok(v instanceof Map);
    assert.equal(v.size, 0);
    assert.deepEqual(pickleStateOf(v), new Map([["m", 1]]));
  });

  test("truncated data, unknown opcodes and bad memo keys are PickleErrors", () => {
    assert.throws(() => load(pkl(0x80, 2, 0x58, [10, 0, 0, 0], "ab")), PickleError);
    assert.throws(() => load(pkl(0x80, 2, 0x4e)), /ends unexpectedly/);
    assert.throws(() => load(pkl(0x80, 2, 0xff, 0x2e)), /unsupported pickle opcode 0xff/);
    assert.throws(() => load(pkl(0x80, 2, 0x68, 5, 0x2e)), /memo key 5/);
    assert.throws(() => load(pkl(0x80, 2, 0x4e, 0x4e, 0x2e)), /unbalanced/);
    assert.throws(() => load(pkl(0x80, 2, 0x4e, 0x51, 0x2e)), /no persistent loader/);
    assert.throws(() => load(pkl(0x80, 2, 0x73, 0x2e)), /underflow/);
  });

  test("persistent ids go through the loader", () => {
    const v = unpickle(pkl(0x80, 2, 0x58, [2, 0, 0, 0], "id", 0x51, 0x2e), {
      file: "t",
      persistentLoad: (pid) => ({ loaded: pid }),
    });
    assert.deepEqual(v, { loaded: "id" });
  });

  test("globals table overrides and CallContext.call", () => {
    const globals = new Map([
      ["m.f", (args: unknown[]) => `f(${args.join(",")})`],
      ["m.wrap", (args: unknown[], ctx: { call(c: unknown, a: unknown[]): unknown }) => ctx.call(args[0], [9])],
    ]);
    const v = unpickle(
      pkl(0x80, 2, 0x63, "m\nwrap\n", 0x63, "m\nf\n", 0x85, 0x52, 0x2e),
      { file: "t", globals },
    );
    assert.equal(v, "f(9)");
    assert.ok(loadAllowing(pkl(0x80, 2, 0x63, "torch\nfloat32\n", 0x2e)) instanceof PickleGlobal);
  });
});
