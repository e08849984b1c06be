/** pipeline("video-classification" | "feature-extraction", model): top-k labels, batches, dispose. */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { VideoMAEForVideoClassification } from "../../src/hf/index.ts";
import { pipeline } from "../../src/pipeline.ts";
import { fixtures } from "../helpers.ts";
import { refCase } from "../models/reference-data.ts";

const dir = mkdtempSync(join(tmpdir(), "vm-pipeline-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const video = join(dir, "clip.mp4");
execFileSync("ffmpeg", ["-v", "error", "-f", "lavfi", "-i", "testsrc=size=48x32:rate=25:duration=1", "-pix_fmt", "yuv420p", video]);
const LABELS = ["archery", "bowling", "cycling", "diving", "juggling"];

test("video-classification on a transformers folder: {label, score}[] with topK, sorted; a batch gives one list per video", async () => {
  const classify = await pipeline("video-classification", join(fixtures, "hf", "classifier"));
  const top2 = await classify(video, { topK: 2, rate: 2 });
  assert.equal(top2.length, 2);
  assert.ok(LABELS.includes(top2[0]!.label));
  assert.ok(top2[0]!.score >= top2[1]!.score && top2[1]!.score > 0);
  const all = await classify(video, { topK: 5, rate: 2 });
  assert.ok(Math.abs(all.reduce((s, p) => s + p.score, 0) - 1) < 1e-5, "softmax scores sum to 1");
  const batch = await classify([video, video], { topK: 2, rate: 2 });
  assert.deepEqual(batch, [top2, top2]);
  await classify.dispose();
});

test("a model object passed in stays usable after dispose(); feature-extraction gives [windows, D]", async () => {
  const model = await VideoMAEForVideoClassification.fromPretrained(join(fixtures, "hf", "classifier"));
  const classify = await pipeline("video-classification", model);
  const [best] = await classify(video, { topK: 1, rate: 2 });
  await classify.dispose();
  assert.deepEqual(await (await pipeline("video-classification", model))(video, { topK: 1, rate: 2 }), [best]);
  model.dispose();

  const extract = await pipeline("feature-extraction", join(fixtures, "hf", "v2_hub"));
  const f = await extract(video, { stride: 4 });
  const c = refCase("vit").config;
  assert.equal(f.dim, c.embedDim);
  assert.equal(f.windows, Math.floor((25 - Number(c.numFrames)) / 4) + 1);
  assert.equal(f.data.length, f.windows * f.dim);
  await extract.dispose();
  await assert.rejects(pipeline("object-detection" as never, model), /unknown task/);
});
