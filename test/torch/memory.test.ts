/** Deterministic memory: scopes free temporaries, and a long training loop stays flat. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, test } from "node:test";
import { Linear, Sequential, GELU } from "../../src/nn/index.ts";
import { AdamW } from "../../src/optim/index.ts";
import { dispose, F, Generator, keep, manualSeed, native, randn, scopeDepth, tidy, zeros } from "../../src/torch/index.ts";

describe("scopes", () => {
  test("tidy disposes temporaries and keeps the result", () => {
    let inner: ReturnType<typeof zeros> | undefined;
    const out = tidy(() => {
      inner = zeros([4]).add(1);
      return inner.mul(2);
    });
    assert.equal(inner!.isDisposed, true);
    assert.equal(out.isDisposed, false);
    assert.equal(scopeDepth(), 0);
  });

  test("nested results, keep(), and errors inside tidy", () => {
    let kept: ReturnType<typeof zeros> | undefined;
    const res = tidy(() => {
      kept = keep(zeros([1]));
      return { a: [zeros([1])], b: new Map([["x", zeros([2])]]) };
    });
    assert.equal(kept!.isDisposed, false);
    assert.equal(res.a[0]!.isDisposed, false);
    assert.equal(res.b.get("x")!.isDisposed, false);
    let leaked: ReturnType<typeof zeros> | undefined;
    assert.throws(() =>
      tidy(() => {
        leaked = zeros([1]);
        throw new Error("boom");
      }),
    );
    assert.equal(leaked!.isDisposed, true);
    assert.equal(scopeDepth(), 0);
    dispose(res);
    assert.equal(res.a[0]!.isDisposed, true);
    // results move to the enclosing scope
    let mid: ReturnType<typeof zeros> | undefined;
    tidy(() => {
      mid = tidy(() => zeros([1]));
      return undefined;
    });
    assert.equal(mid!.isDisposed, true);
  });

  test("native memory is reported to V8 (views are not counted twice)", () => {
    const big = zeros([16, 1024, 1024]); // 64 MiB
    assert.equal(native.accountedBytes(big.handle), 64 * 2 ** 20);
    assert.equal(native.accountedBytes(big.reshape([-1]).handle), 0);
    assert.equal(native.accountedBytes(big.narrow(0, 0, 1).handle), 0);
    big.dispose();
    assert.equal(native.accountedBytes(big.handle), 0);
  });

  test("forgotten tensors are reclaimed by GC even inside a synchronous loop", () => {
    let maxRss = 0;
    for (let i = 0; i < 200; i++) {
      zeros([4, 1024, 1024]).add(1); // 2 × 16 MiB per iteration, never disposed
      maxRss = Math.max(maxRss, process.memoryUsage().rss);
    }
    // 6.4 GiB were allocated in total; GC-time finalizers must have returned almost all of it.
    assert.ok(maxRss < 1.5 * 2 ** 30, `max RSS ${(maxRss / 2 ** 20).toFixed(0)} MiB`);
  });
});

describe("a 1,000-step training loop holds its memory flat", () => {
  test("RSS growth stays bounded", () => {
    manualSeed(0);
    const model = new Sequential(new Linear(64, 256), new GELU(), new Linear(256, 10));
    const opt = new AdamW(model.parameters(), { lr: 1e-3, weightDecay: 0.05 });
    const g = new Generator(0);
    const step = () =>
      tidy(() => {
        const x = randn([32, 64], { generator: g });
        const y = randn([32, 10], { generator: g });
        const loss = F.mseLoss(model.forward(x), y);
        opt.zeroGrad();
        loss.backward();
        opt.step();
        return loss.item();
      });
    for (let i = 0; i < 100; i++) step(); // warm up allocator caches and optimizer state
    const rss0 = process.memoryUsage().rss;
    let last = 0;
    for (let i = 0; i < 1000; i++) last = step();
    const growth = process.memoryUsage().rss - rss0;
    assert.ok(Number.isFinite(last));
    // Every step allocates ~1 MiB of tensors; without freeing, 1000 steps would add ~1 GiB.
    assert.ok(growth < 48 * 2 ** 20, `RSS grew by ${(growth / 2 ** 20).toFixed(1)} MiB over 1000 steps`);
  });
});

describe("heap (native/src/core/heap.cc)", () => {
  // Each case in a fresh process: malloc is set up when the addon loads. The script allocates and
  // frees a batch of tensors six times and counts the page faults of the last three rounds, for
  // two patterns: 20 × 1 MiB (glibc's defaults hand the 20 MiB back to the kernel at every free,
  // so every page faults again) and 6 × 8 MiB of one size (with 64-byte posix_memalign a freed
  // block is just too small for the next request, so the heap grows into fresh pages instead).
  const script = `
    import { ones, native } from ${JSON.stringify(fileURLToPath(new URL("../../src/torch/index.ts", import.meta.url)))};
    const faults = () => process.resourceUsage().minorPageFault;
    const pattern = (count, floats) => {
      let after = 0, pages = 0;
      for (let round = 0; round < 6; round++) {
        const f0 = faults();
        const ts = Array.from({ length: count }, () => ones([floats]));
        for (const t of ts.reverse()) t.dispose();
        if (round >= 3) { after += faults() - f0; pages += (count * floats * 4) / 4096; }
      }
      return { faults: after, pages };
    };
    console.log(JSON.stringify({ heapReuse: native.buildInfo().heapReuse, small: pattern(20, 1 << 18), sameSize: pattern(6, 2 << 20) }));`;
  const run = (env: Record<string, string>) => {
    const base = { ...process.env };
    delete base.VIDEOMAE_HEAP;
    delete base.GLIBC_TUNABLES;
    for (const k of Object.keys(base)) if (k.startsWith("MALLOC_")) delete base[k];
    const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { env: { ...base, ...env }, encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    type Faults = { faults: number; pages: number };
    return JSON.parse(r.stdout.trim().split("\n").pop()!) as { heapReuse: boolean; small: Faults; sameSize: Faults };
  };
  const glibc = typeof (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header?.glibcVersionRuntime === "string";

  const libtorch1 = native.buildInfo().torchVersion.startsWith("1.");
  test("freed tensor memory is reused without new page faults (glibc, libtorch 1.x)", { skip: !(glibc && libtorch1) && "not glibc with libtorch 1.x" }, () => {
    const r = run({});
    assert.equal(r.heapReuse, true);
    for (const [name, p] of Object.entries({ small: r.small, sameSize: r.sameSize })) {
      assert.ok(p.faults < 0.4 * p.pages, `${name}: ${p.faults} page faults for ${p.pages} reused pages`);
    }
  });

  test("VIDEOMAE_HEAP=default and the user's own malloc settings leave glibc's defaults", () => {
    assert.equal(run({ VIDEOMAE_HEAP: "default" }).heapReuse, false);
    assert.equal(run({ GLIBC_TUNABLES: "glibc.malloc.arena_max=4" }).heapReuse, false);
    assert.equal(run({ MALLOC_ARENA_MAX: "4" }).heapReuse, false);
  });
});
