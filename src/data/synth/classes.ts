/**
 * The motion classes of the synthetic dataset. A class is a kind of motion of one "actor"
 * shape; nothing else about a video (shape, colours, size, position, orientation, background,
 * distractor) depends on the class. `K` classes are the first K entries of SYNTH_CLASSES, ordered
 * so that K = 4 gives the four translation directions, K = 6 adds the two rotation senses, K = 8
 * the two scale senses and K = 10 the two oscillation axes.
 */

/** How the actor moves (the parameters — speed, period, … — are drawn per video in scene.ts). */
export type Motion =
  /** Constant velocity along (dx, dy), wrapping around the frame edges (the frame is a torus). */
  | { kind: "translate"; dx: -1 | 0 | 1; dy: -1 | 0 | 1 }
  /** Constant angular velocity in place; sense +1 is clockwise on screen (y points down). */
  | { kind: "rotate"; sense: 1 | -1 }
  /** Size grows (+1) or shrinks (−1) steadily, jumping back once it reaches the end of its range. */
  | { kind: "scale"; sense: 1 | -1 }
  /** Back-and-forth along one axis (sinusoidal), no net displacement. */
  | { kind: "oscillate"; axis: "x" | "y" };

export interface SynthClass {
  /** Name written to labels.txt (no spaces, so list files stay space-separated). */
  name: string;
  description: string;
  motion: Motion;
}

export const SYNTH_CLASSES: readonly SynthClass[] = [
  { name: "move_right", description: "translates to the right", motion: { kind: "translate", dx: 1, dy: 0 } },
  { name: "move_left", description: "translates to the left", motion: { kind: "translate", dx: -1, dy: 0 } },
  { name: "move_down", description: "translates downwards", motion: { kind: "translate", dx: 0, dy: 1 } },
  { name: "move_up", description: "translates upwards", motion: { kind: "translate", dx: 0, dy: -1 } },
  { name: "rotate_cw", description: "rotates clockwise in place", motion: { kind: "rotate", sense: 1 } },
  { name: "rotate_ccw", description: "rotates counter-clockwise in place", motion: { kind: "rotate", sense: -1 } },
  { name: "grow", description: "grows steadily (restarting small when it gets large)", motion: { kind: "scale", sense: 1 } },
  { name: "shrink", description: "shrinks steadily (restarting large when it gets small)", motion: { kind: "scale", sense: -1 } },
  { name: "oscillate_horizontal", description: "swings left and right", motion: { kind: "oscillate", axis: "x" } },
  { name: "oscillate_vertical", description: "swings up and down", motion: { kind: "oscillate", axis: "y" } },
];

export const MIN_SYNTH_CLASSES = 2;
export const MAX_SYNTH_CLASSES = SYNTH_CLASSES.length;

/** The first `k` classes (2 ≤ k ≤ 10). */
export function synthClasses(k: number): SynthClass[] {
  if (!Number.isInteger(k) || k < MIN_SYNTH_CLASSES || k > MAX_SYNTH_CLASSES) {
    throw new RangeError(`synthetic dataset: classes must be an integer in ${MIN_SYNTH_CLASSES}..${MAX_SYNTH_CLASSES}, got ${k}`);
  }
  return SYNTH_CLASSES.slice(0, k);
}
