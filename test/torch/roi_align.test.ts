/**
 * ROIAlign (native/src/ops/roi_align.cc) against a float64 reference written here from
 * torchvision's documented semantics, on odd boxes: partly and fully outside the map, tiny,
 * reversed (x2 < x1), on the border, several per image; forward and backward, float64 and float32.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { F, tensor, type Tensor } from "../../src/torch/index.ts";
import { assertClose, gradcheck, ramp } from "../helpers.ts";

interface Opts {
  output: [number, number];
  spatialScale: number;
  samplingRatio: number;
  aligned: boolean;
}

/** Bilinear weights of one sample as (plane index, weight) pairs; none outside [-1, H]×[-1, W]. */
function sampleWeights(H: number, W: number, y: number, x: number): [number, number][] {
  if (y < -1 || y > H || x < -1 || x > W) return [];
  y = Math.max(y, 0);
  x = Math.max(x, 0);
  let y0 = Math.floor(y);
  let x0 = Math.floor(x);
  let y1 = y0 + 1;
  let x1 = x0 + 1;
  if (y0 >= H - 1) [y0, y1, y] = [H - 1, H - 1, H - 1];
  if (x0 >= W - 1) [x0, x1, x] = [W - 1, W - 1, W - 1];
  const ly = y - y0;
  const lx = x - x0;
  return [
    [y0 * W + x0, (1 - ly) * (1 - lx)],
    [y0 * W + x1, (1 - ly) * lx],
    [y1 * W + x0, ly * (1 - lx)],
    [y1 * W + x1, ly * lx],
  ];
}

/** Per output element (k, bin): the weights on the feature plane of roi k (same for every channel). */
function binWeights(H: number, W: number, roi: number[], o: Opts): Map<number, number>[] {
  const [PH, PW] = o.output;
  const off = o.aligned ? 0.5 : 0;
  const [x1, y1, x2, y2] = roi.slice(1).map((v) => v * o.spatialScale - off) as [number, number, number, number];
  let rw = x2 - x1;
  let rh = y2 - y1;
  if (!o.aligned) [rw, rh] = [Math.max(rw, 1), Math.max(rh, 1)];
  const gh = o.samplingRatio > 0 ? o.samplingRatio : Math.ceil(rh / PH);
  const gw = o.samplingRatio > 0 ? o.samplingRatio : Math.ceil(rw / PW);
  const count = Math.max(gh * gw, 1);
  const bins: Map<number, number>[] = [];
  for (let ph = 0; ph < PH; ph++) {
    for (let pw = 0; pw < PW; pw++) {
      const m = new Map<number, number>();
      for (let iy = 0; iy < gh; iy++) {
        for (let ix = 0; ix < gw; ix++) {
          const y = y1 + ph * (rh / PH) + ((iy + 0.5) * (rh / PH)) / gh;
          const x = x1 + pw * (rw / PW) + ((ix + 0.5) * (rw / PW)) / gw;
          for (const [i, w] of sampleWeights(H, W, y, x)) m.set(i, (m.get(i) ?? 0) + w / count);
        }
      }
      bins.push(m);
    }
  }
  return bins;
}

/** Reference forward [K, C, PH, PW] and backward (gradient of Σ out·g w.r.t. the features). */
function reference(x: number[], shape: number[], rois: number[][], o: Opts, g: number[]) {
  const [, C, H, W] = shape as [number, number, number, number];
  const P = o.output[0] * o.output[1];
  const out: number[] = [];
  const grad = new Array(x.length).fill(0);
  rois.forEach((roi, k) => {
    const bins = binWeights(H, W, roi, o);
    for (let c = 0; c < C; c++) {
      const base = (roi[0]! * C + c) * H * W;
      bins.forEach((m, b) => {
        let v = 0;
        for (const [i, w] of m) {
          v += w * x[base + i]!;
          grad[base + i] += w * g[(k * C + c) * P + b]!;
        }
        out.push(v);
      });
    }
  });
  return { out, grad };
}

const SHAPE = [2, 3, 6, 7]; // N, C, H, W: stride 4 → a 24×28 pixel input
const ODD_ROIS = [
  [0, 2.5, 3.1, 17.9, 20.2], // inside
  [1, -10, -6, 9, 12], // partly outside (top-left)
  [0, 20, 14, 40, 33], // partly outside (bottom-right), samples beyond H and W
  [1, 5, 5, 5.3, 5.2], // tiny: clamped to one feature pixel
  [0, 12, 9, 4, 3], // reversed corners: negative size clamped to 1
  [1, -30, -30, -8, -9], // fully outside: all samples vanish
  [0, 26, 22, 28, 24], // on the far border: y, x in (H−1, H]
  [1, 0, 0, 28, 24], // the whole map
];

function run(dtype: "float32" | "float64", o: Opts) {
  const x = ramp(SHAPE, 2, 0.3, dtype);
  const rois = tensor(ODD_ROIS, { dtype: "float64" });
  const y = F.roiAlign(x.requiresGrad_(), rois, o);
  const g = ramp(y.shape, 1, 0.9, dtype);
  y.backward(g);
  const ref = reference(x.detach().to("float64").toArray(), SHAPE, ODD_ROIS, o, g.to("float64").toArray());
  return { x, y, ref, grad: x.grad! };
}

const VARIANTS: [string, Opts][] = [
  ["AVA's setting: 7×7, adaptive grid, aligned=false", { output: [7, 7], spatialScale: 0.25, samplingRatio: 0, aligned: false }],
  ["3×2 bins, sampling ratio 2", { output: [3, 2], spatialScale: 0.25, samplingRatio: 2, aligned: false }],
  ["aligned=true (−0.5 shift, no size clamp)", { output: [2, 3], spatialScale: 0.25, samplingRatio: 0, aligned: true }],
];

describe("roiAlign matches the float64 reference", () => {
  for (const [name, o] of VARIANTS) {
    test(`${name}: float64 forward and backward`, () => {
      const { y, ref, grad } = run("float64", o);
      assert.deepEqual(y.shape, [ODD_ROIS.length, 3, ...o.output]);
      // Same sums in a different order: a few ulps of the largest magnitude (|x| ≤ 2).
      assertClose(y.toArray(), ref.out, 1e-13, 0, "forward");
      assertClose(grad.toArray(), ref.grad, 1e-13, 0, "backward");
    });

    test(`${name}: float32 within float32 rounding`, () => {
      const { y, ref, grad } = run("float32", o);
      // The kernel accumulates in float64 from exactly representable float32 inputs and rounds
      // once at the end (forward), or once per added term (backward: float32 accumulation in the
      // gradient buffer, at most K·gh·gw·4 terms per element, each |term| ≤ max|g| = 1).
      assertClose(y.toArray(), ref.out, 2 * 2 ** -24, 2 ** -24, "forward");
      const terms = ODD_ROIS.length * 64 * 4;
      assertClose(grad.toArray(), ref.grad, terms * 2 ** -24, 0, "backward");
    });
  }

  test("fully outside box pools zeros; degenerate boxes still pool one pixel", () => {
    const { y } = run("float64", VARIANTS[0]![1]);
    const per = 3 * 49;
    const flat = y.toArray();
    assert.ok(flat.slice(5 * per, 6 * per).every((v) => v === 0));
    assert.ok(flat.slice(4 * per, 5 * per).some((v) => v !== 0));
  });

  test("backward matches central finite differences (float64)", () => {
    const rois = tensor(ODD_ROIS, { dtype: "float64" });
    const small = ramp([2, 2, 6, 7], 1, 0.1, "float64");
    // The op is linear in the features, so central differences are exact up to rounding.
    gradcheck((x: Tensor) => F.roiAlign(x, rois, VARIANTS[0]![1]), [small], 1e-3, 1e-9);
  });

  test("a batch index outside the batch is an error naming it", () => {
    const x = ramp([1, 1, 4, 4], 1);
    assert.throws(() => F.roiAlign(x, tensor([[1, 0, 0, 2, 2]]), VARIANTS[0]![1]), /batch index 1/);
    assert.throws(() => F.roiAlign(x, tensor([[0, 0, 0, 2]]), VARIANTS[0]![1]), /\[K, 5\]/);
  });
});
