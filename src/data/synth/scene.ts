/**
 * What one synthetic video shows, drawn from a seeded Rng: a static textured background, an
 * optional static "distractor" shape whose brightness pulses, and the "actor" shape whose motion
 * is the class.
 *
 * Why a single frame says nothing about the class:
 *   - every random draw (shape, colours, size, position, orientation, all motion parameters,
 *     background, distractor, pixel noise) is made for every video in the same order, whatever
 *     its class, and the Rng is keyed by (seed, split, index) only — so the K videos with the same
 *     key are the same scene set in K different motions, and their frame 0 is byte-identical;
 *   - at any later frame t the actor's state is still distributed as at t = 0: the position is
 *     uniform on the frame, which is treated as a torus (motion wraps around the edges), the
 *     orientation is uniform on the circle, and the size is log-uniform because "grow"/"shrink"
 *     move a uniformly distributed phase around a cycle. Translation, rotation, sawtooth scaling
 *     and oscillation all preserve these uniform distributions.
 * Only how the state changes between frames carries the label.
 */
import { Rng } from "../../util/rng.ts";
import type { Motion } from "./classes.ts";

export type RGB = [number, number, number];

/** Actor shapes all look different when rotated (no disc), so rotation is visible for each. */
export const ACTOR_SHAPES = ["bar", "triangle", "kite"] as const;
export const DISTRACTOR_SHAPES = ["disc", "bar", "triangle", "kite"] as const;
export type ShapeKind = (typeof DISTRACTOR_SHAPES)[number];

/** What rendering needs besides the scene: frame size, length, noise and distractor rate. */
export interface SceneSettings {
  /** Frame width and height in pixels. */
  size: number;
  frames: number;
  /** Standard deviation of the per-pixel, per-frame Gaussian noise, in 0..255 units. */
  noise: number;
  /** Probability that a video has a distractor shape. */
  distractorProb: number;
  /**
   * Forces the contrast polarity (true: a light actor on a dark background). The polarity is
   * still drawn, so the stream stays aligned; the detection set uses this to give every shape of
   * a video the polarity of the one background it is drawn on.
   */
  lightActor?: boolean;
}

/** A sinusoidal grating added to the background gradient (texture, so motion is visible against it). */
export interface Grating {
  /** Spatial frequency in radians per pixel along x and y. */
  kx: number;
  ky: number;
  phase: number;
  /** Amplitude in 0..255 units. */
  amp: number;
}

export interface Background {
  /** Colours at the two ends of a linear gradient across the frame. */
  from: RGB;
  to: RGB;
  /** Unit direction of the gradient. */
  dirX: number;
  dirY: number;
  gratings: Grating[];
}

/** The moving shape. Sizes are "radii": the shape fits in a circle of that radius. */
export interface Actor {
  shape: (typeof ACTOR_SHAPES)[number];
  color: RGB;
  /** Centre at frame 0, pixels. */
  x0: number;
  y0: number;
  /** Orientation at frame 0, radians. */
  angle0: number;
  /** Smallest and largest radius; the radius at frame 0 is rMin·(rMax/rMin)^phase0. */
  rMin: number;
  rMax: number;
  phase0: number;
  /** Translation speed, pixels per frame. */
  speed: number;
  /** Rotation speed, radians per frame. */
  omega: number;
  /** Scale speed: fraction of the log-size range crossed per frame. */
  scaleRate: number;
  /** Oscillation amplitude (pixels), period (frames) and phase (radians). */
  oscAmp: number;
  oscPeriod: number;
  oscPhase: number;
}

/** A static shape whose brightness pulses: temporal change that is not motion and not the class. */
export interface Distractor {
  shape: ShapeKind;
  color: RGB;
  x: number;
  y: number;
  angle: number;
  r: number;
  /** Brightness factor 1 + pulseAmp·sin(2π t / pulsePeriod + pulsePhase). */
  pulseAmp: number;
  pulsePeriod: number;
  pulsePhase: number;
}

export interface Scene {
  width: number;
  height: number;
  frames: number;
  noise: number;
  motion: Motion;
  background: Background;
  actor: Actor;
  distractor: Distractor | null;
  /** Seed of the pixel noise (drawn from the scene Rng, so noise is part of the scene); see frameNoiseSeed. */
  noiseSeed: number;
}

/** The actor's state at frame t (position not yet wrapped into the frame). */
export interface ActorState {
  x: number;
  y: number;
  angle: number;
  r: number;
}

const SPLIT_CODES = { train: 1, val: 2, test: 3 } as const;
export type Split = keyof typeof SPLIT_CODES;

/**
 * The seed of the scene Rng for video `index` of a split. The class is deliberately not part of
 * the key (see the file comment).
 */
export function sceneSeed(seed: number, split: Split, index: number): number {
  const lo = seed >>> 0;
  const hi = Math.floor(seed / 2 ** 32) >>> 0;
  let h = mix32(lo ^ 0x9e3779b9);
  h = mix32(h ^ mix32(hi + 0x7f4a7c15));
  h = mix32(h ^ SPLIT_CODES[split]);
  h = mix32(h ^ mix32(index + 0x632be5ab));
  return h;
}

/** The seed of frame t's pixel-noise stream: frames are independent, so any frame renders alone. */
export function frameNoiseSeed(noiseSeed: number, t: number): number {
  return mix32(noiseSeed ^ mix32(t + 0x2545f491));
}

/** A 32-bit integer hash (lowbias32), so neighbouring keys give unrelated seeds. */
function mix32(x: number): number {
  x >>>= 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  x ^= x >>> 16;
  return x >>> 0;
}

/**
 * Draws a scene. Every draw happens whatever `motion` is (see the file comment); the ranges are
 * relative to the frame size so the task looks the same at 32, 64 or 96 pixels.
 */
export function sampleScene(rng: Rng, motion: Motion, s: SceneSettings): Scene {
  const S = s.size;
  // Contrast polarity: a light actor on a dark background or the reverse, so the actor's
  // brightest channel differs from every background channel by at least ~0.35·255.
  const drawnPolarity = rng.bernoulli(0.5);
  const lightActor = s.lightActor ?? drawnPolarity;
  const bgValue: [number, number] = lightActor ? [0.08, 0.33] : [0.67, 0.92];
  const fgValue: [number, number] = lightActor ? [0.7, 0.95] : [0.05, 0.3];

  const dir = rng.uniform(0, 2 * Math.PI);
  const gratings: Grating[] = [];
  for (let i = 0; i < 3; i++) {
    const freq = rng.uniform(1.5, 5) * ((2 * Math.PI) / S); // 1.5–5 cycles across the frame
    const a = rng.uniform(0, 2 * Math.PI);
    gratings.push({ kx: freq * Math.cos(a), ky: freq * Math.sin(a), phase: rng.uniform(0, 2 * Math.PI), amp: rng.uniform(3, 8) });
  }
  const background: Background = {
    from: randomColor(rng, bgValue, [0.1, 0.7]),
    to: randomColor(rng, bgValue, [0.1, 0.7]),
    dirX: Math.cos(dir),
    dirY: Math.sin(dir),
    gratings,
  };

  const actor: Actor = {
    shape: rng.choice(ACTOR_SHAPES),
    color: randomColor(rng, fgValue, [0.35, 1]),
    x0: rng.uniform(0, S),
    y0: rng.uniform(0, S),
    angle0: rng.uniform(0, 2 * Math.PI),
    // Large and fast enough for a tiny ViT at 32 px with tubelets of 2 frames: with a smaller
    // actor (0.09–0.25) or slower motion (0.012–0.03) it stayed at chance for 800 steps.
    rMin: 0.14 * S,
    rMax: 0.3 * S,
    phase0: rng.float(),
    speed: rng.uniform(0.03, 0.06) * S,
    omega: (rng.uniform(4, 10) * Math.PI) / 180,
    // One full small→large sweep takes 16–32 frames (2.4–4.8 % size change per frame).
    scaleRate: 1 / rng.uniform(16, 32),
    oscAmp: rng.uniform(0.12, 0.22) * S,
    oscPeriod: rng.uniform(10, 20),
    oscPhase: rng.uniform(0, 2 * Math.PI),
  };

  // Always drawn (so the stream stays aligned), kept with probability distractorProb.
  const hasDistractor = rng.float() < s.distractorProb;
  const distractor: Distractor = {
    shape: rng.choice(DISTRACTOR_SHAPES),
    color: randomColor(rng, fgValue, [0.35, 1]),
    x: rng.uniform(0, S),
    y: rng.uniform(0, S),
    angle: rng.uniform(0, 2 * Math.PI),
    r: rng.uniform(0.07, 0.14) * S,
    pulseAmp: rng.uniform(0.03, 0.06),
    pulsePeriod: rng.uniform(8, 20),
    pulsePhase: rng.uniform(0, 2 * Math.PI),
  };

  return {
    width: S,
    height: S,
    frames: s.frames,
    noise: s.noise,
    motion,
    background,
    actor,
    distractor: hasDistractor ? distractor : null,
    noiseSeed: rng.nextUint32(),
  };
}

/** The actor's centre, orientation and radius at frame t. Frame 0 is the same for every motion. */
export function actorAt(scene: Scene, t: number): ActorState {
  const a = scene.actor;
  let x = a.x0;
  let y = a.y0;
  let angle = a.angle0;
  let phase = a.phase0;
  const m = scene.motion;
  switch (m.kind) {
    case "translate":
      x += m.dx * a.speed * t;
      y += m.dy * a.speed * t;
      break;
    case "rotate":
      angle += m.sense * a.omega * t;
      break;
    case "scale":
      phase = frac(phase + m.sense * a.scaleRate * t);
      break;
    case "oscillate": {
      // Offset so the swing starts at the frame-0 position.
      const d = a.oscAmp * (Math.sin((2 * Math.PI * t) / a.oscPeriod + a.oscPhase) - Math.sin(a.oscPhase));
      if (m.axis === "x") x += d;
      else y += d;
      break;
    }
  }
  return { x, y, angle, r: a.rMin * Math.pow(a.rMax / a.rMin, phase) };
}

function frac(x: number): number {
  return x - Math.floor(x);
}

/** A colour with random hue, saturation in `sat` and value (brightest channel) in `value`, as 0..255 floats. */
function randomColor(rng: Rng, value: [number, number], sat: [number, number]): RGB {
  const h = rng.uniform(0, 6);
  const sv = rng.uniform(sat[0], sat[1]);
  const v = rng.uniform(value[0], value[1]) * 255;
  const c = v * sv;
  const x = c * (1 - Math.abs((h % 2) - 1));
  const m = v - c;
  const i = Math.floor(h);
  const [r, g, b] = i === 0 ? [c, x, 0] : i === 1 ? [x, c, 0] : i === 2 ? [0, c, x] : i === 3 ? [0, x, c] : i === 4 ? [x, 0, c] : [c, 0, x];
  return [r + m, g + m, b + m];
}
