/**
 * The synthetic detection set's scenes (src/data/synth/detection.ts): every shape must stand out
 * from the one background the video is drawn on, and boxes of one video never overlap. Pure
 * TypeScript (no rendering, no encoder).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { iou } from "../../src/data/ava/boxes.ts";
import { isLightActor, sampleTracks, SYNTH_DETECTION_DEFAULTS } from "../../src/data/synth/detection.ts";
import { shapeExtent } from "../../src/data/synth/render.ts";
import { actorAt } from "../../src/data/synth/scene.ts";

const o = { ...SYNTH_DETECTION_DEFAULTS, out: "", seed: 3 };
const videos = Array.from({ length: 40 }, (_, v) => sampleTracks(o, "train", v));

test("every shape of a video contrasts with the background it is drawn on (the first track's)", () => {
  let multi = 0;
  for (const tracks of videos) {
    const bg = tracks[0]!.scene.background;
    const bgValue = Math.max(...bg.from, ...bg.to);
    const bgMin = Math.min(Math.max(...bg.from), Math.max(...bg.to));
    const light = isLightActor(tracks[0]!.scene);
    if (tracks.length > 1) multi++;
    for (const tr of tracks) {
      const v = Math.max(...tr.scene.actor.color); // the colour's value (brightest channel)
      assert.equal(isLightActor(tr.scene), light);
      // Light actors: value ≥ 0.7·255 on a background ≤ 0.33·255; dark: ≤ 0.3·255 on ≥ 0.67·255.
      if (light) assert.ok(v - bgValue > 0.3 * 255, `light actor ${v} vs background ${bgValue}`);
      else assert.ok(bgMin - v > 0.3 * 255, `dark actor ${v} vs background ${bgMin}`);
    }
  }
  assert.ok(multi > 20, "most videos have several shapes");
});

test("boxes of one video never overlap in any frame and stay in the frame", () => {
  const frames = o.seconds * o.fps;
  for (const tracks of videos) {
    for (let t = 0; t < frames; t++) {
      const boxes = tracks.map((tr) => {
        const a = actorAt(tr.scene, t);
        return shapeExtent(tr.scene.actor.shape, a.x, a.y, a.angle, a.r);
      });
      for (const b of boxes) assert.ok(b[0] >= 1 && b[1] >= 1 && b[2] <= o.width - 1 && b[3] <= o.height - 1);
      for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) assert.equal(iou(boxes[i]!, boxes[j]!), 0);
    }
  }
});
