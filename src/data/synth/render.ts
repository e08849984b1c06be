/**
 * Pure-TypeScript rasteriser for synthetic scenes: RGB uint8 frames laid out (T, H, W, 3), the
 * Clip layout of src/video. Shapes are drawn from signed distance functions with a one-pixel
 * linear edge ramp (anti-aliasing), so sub-pixel motion changes pixel values smoothly instead of
 * jumping a whole pixel every few frames.
 *
 * The frame is a torus: a shape crossing the right edge reappears at the left (see scene.ts for
 * why). Output is a deterministic function of the scene and the frame index.
 */
import { Rng } from "../../util/rng.ts";
import type { Clip } from "../../video/reader.ts";
import { actorAt, frameNoiseSeed, type RGB, type Scene, type ShapeKind } from "./scene.ts";

/** Convex polygons in unit coordinates (the shape fits in the unit circle); +x is "forward". */
const POLYGONS: Record<Exclude<ShapeKind, "disc">, ReadonlyArray<readonly [number, number]>> = {
  // 180°-symmetric, still shows rotation as long as a frame turns it by less than 90°.
  bar: [[-0.94, -0.33], [0.94, -0.33], [0.94, 0.33], [-0.94, 0.33]],
  triangle: [[1, 0], [-0.75, 0.66], [-0.75, -0.66]],
  kite: [[1, 0], [-0.15, 0.6], [-0.7, 0], [-0.15, -0.6]],
};

type HalfPlane = readonly [nx: number, ny: number, d: number];

/** Outward unit normals and offsets of a convex polygon's edges: inside ⇔ n·p − d ≤ 0 for every edge. */
function halfPlanes(pts: ReadonlyArray<readonly [number, number]>): HalfPlane[] {
  // Orientation-independent: each normal is flipped to point away from the centroid.
  const cx = pts.reduce((s, p) => s + p[0], 0) / pts.length;
  const cy = pts.reduce((s, p) => s + p[1], 0) / pts.length;
  return pts.map((a, i) => {
    const b = pts[(i + 1) % pts.length]!;
    let nx = b[1] - a[1];
    let ny = a[0] - b[0];
    const len = Math.hypot(nx, ny);
    nx /= len;
    ny /= len;
    let d = nx * a[0] + ny * a[1];
    if (nx * cx + ny * cy - d > 0) {
      nx = -nx;
      ny = -ny;
      d = -d;
    }
    return [nx, ny, d] as const;
  });
}

const HALF_PLANES: Record<Exclude<ShapeKind, "disc">, HalfPlane[]> = {
  bar: halfPlanes(POLYGONS.bar),
  triangle: halfPlanes(POLYGONS.triangle),
  kite: halfPlanes(POLYGONS.kite),
};

/**
 * Renders the frames at `indices` of a scene (default: all of them, 0..frames−1), in that order.
 * Each frame is a function of (scene, t) alone — its noise has its own stream — so any subset
 * renders exactly as it appears in the full clip.
 */
export function renderScene(scene: Scene, indices?: readonly number[]): Clip {
  return renderScenes([scene], indices);
}

/**
 * Several actors in one video (the detection set): the background and distractor of `scenes[0]`,
 * then the actor of every scene, drawn in order (later ones in front), each moving as its own
 * scene says.
 */
export function renderScenes(scenes: readonly Scene[], indices?: readonly number[]): Clip {
  const scene = scenes[0]!;
  const { width, height } = scene;
  const ts = indices ?? Array.from({ length: scene.frames }, (_, t) => t);
  for (const t of ts) {
    if (!Number.isInteger(t) || t < 0 || t >= scene.frames) throw new RangeError(`renderScene: frame ${t} out of range 0..${scene.frames - 1}`);
  }
  const frameBytes = width * height * 3;
  const data = new Uint8Array(ts.length * frameBytes);
  const background = renderBackground(scene);
  const work = new Float32Array(frameBytes);
  ts.forEach((t, k) => {
    work.set(background);
    const d = scene.distractor;
    if (d) {
      const b = 1 + d.pulseAmp * Math.sin((2 * Math.PI * t) / d.pulsePeriod + d.pulsePhase);
      drawShape(work, width, height, d.shape, d.x, d.y, d.angle, d.r, [d.color[0] * b, d.color[1] * b, d.color[2] * b]);
    }
    for (const sc of scenes) {
      const a = actorAt(sc, t);
      drawShape(work, width, height, sc.actor.shape, a.x, a.y, a.angle, a.r, sc.actor.color);
    }
    quantize(work, data.subarray(k * frameBytes, (k + 1) * frameBytes), scene.noise, new Rng(frameNoiseSeed(scene.noiseSeed, t)));
  });
  return { data, frames: ts.length, height, width };
}

/**
 * The tight pixel extent [x1, y1, x2, y2] of an actor shape of radius r at `angle` centred at
 * (cx, cy): the rotated polygon's corners (a disc: the circle's square).
 */
export function shapeExtent(shape: ShapeKind, cx: number, cy: number, angle: number, r: number): [number, number, number, number] {
  if (shape === "disc") return [cx - r, cy - r, cx + r, cy + r];
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  // Shape coordinates (u, v) map to screen as (cx + r(u cos − v sin), cy + r(u sin + v cos)).
  const xs = POLYGONS[shape].map(([u, v]) => cx + r * (u * cos - v * sin));
  const ys = POLYGONS[shape].map(([u, v]) => cy + r * (u * sin + v * cos));
  return [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
}

/** Gradient plus gratings, as float RGB (0..255, not yet clamped). */
function renderBackground(scene: Scene): Float32Array {
  const { width, height } = scene;
  const bg = scene.background;
  const out = new Float32Array(width * height * 3);
  // Project the frame corners on the gradient direction to span exactly from..to.
  const proj = [0, width].flatMap((x) => [0, height].map((y) => x * bg.dirX + y * bg.dirY));
  const lo = Math.min(...proj);
  const span = Math.max(...proj) - lo;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const px = x + 0.5;
      const py = y + 0.5;
      const u = (px * bg.dirX + py * bg.dirY - lo) / span;
      let tex = 0;
      for (const g of bg.gratings) tex += g.amp * Math.sin(g.kx * px + g.ky * py + g.phase);
      const o = (y * width + x) * 3;
      for (let c = 0; c < 3; c++) out[o + c] = bg.from[c]! + (bg.to[c]! - bg.from[c]!) * u + tex;
    }
  }
  return out;
}

/**
 * Alpha-blends a shape of radius r centred at (cx, cy), rotated by `angle` (clockwise on screen,
 * since y points down), wrapping around the frame edges.
 */
function drawShape(buf: Float32Array, width: number, height: number, shape: ShapeKind, cx: number, cy: number, angle: number, r: number, color: RGB): void {
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  const planes = shape === "disc" ? null : HALF_PLANES[shape];
  // Pixels are visited in unwrapped coordinates around the centre, then wrapped for storage;
  // r < size/2 keeps a pixel from being visited twice.
  const x0 = Math.floor(cx - r - 1);
  const x1 = Math.ceil(cx + r + 1);
  const y0 = Math.floor(cy - r - 1);
  const y1 = Math.ceil(cy + r + 1);
  for (let y = y0; y <= y1; y++) {
    const wy = mod(y, height);
    const dy = y + 0.5 - cy;
    for (let x = x0; x <= x1; x++) {
      const dx = x + 0.5 - cx;
      // Into shape coordinates: rotate by −angle, scale by 1/r.
      const u = (dx * cos + dy * sin) / r;
      const v = (-dx * sin + dy * cos) / r;
      let sd: number;
      if (planes === null) sd = Math.hypot(u, v) - 1;
      else {
        sd = -Infinity;
        for (const [nx, ny, d] of planes) sd = Math.max(sd, nx * u + ny * v - d);
      }
      // Signed distance in pixels → coverage over a one-pixel ramp centred on the edge.
      const alpha = Math.min(1, Math.max(0, 0.5 - sd * r));
      if (alpha === 0) continue;
      const o = (wy * width + mod(x, width)) * 3;
      for (let c = 0; c < 3; c++) buf[o + c] = buf[o + c]! + (color[c]! - buf[o + c]!) * alpha;
    }
  }
}

/** Adds Gaussian noise (σ in 0..255 units), rounds and clamps to uint8. */
function quantize(src: Float32Array, dst: Uint8Array, sigma: number, rng: Rng): void {
  for (let i = 0; i < src.length; i += 2) {
    let n0 = 0;
    let n1 = 0;
    if (sigma > 0) {
      // Box-Muller, using both outputs (the noise is most of the rendering time).
      let u = 0;
      while (u === 0) u = rng.float();
      const rad = sigma * Math.sqrt(-2 * Math.log(u));
      const phi = 2 * Math.PI * rng.float();
      n0 = rad * Math.cos(phi);
      n1 = rad * Math.sin(phi);
    }
    dst[i] = toByte(src[i]! + n0);
    if (i + 1 < src.length) dst[i + 1] = toByte(src[i + 1]! + n1);
  }
}

function toByte(v: number): number {
  return v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
}

function mod(a: number, n: number): number {
  const m = a % n;
  return m < 0 ? m + n : m;
}
