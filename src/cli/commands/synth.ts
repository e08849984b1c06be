/**
 * `videomae synth --out DIR …`: writes the synthetic motion dataset (src/data/synth) — .mp4
 * videos plus train/val/test/pretrain list files in the official formats — and prints where
 * everything is.
 */
import { MAX_SYNTH_CLASSES, SYNTH_CLASSES, SYNTH_DEFAULTS, SynthOptionsError, generateSynthDataset, type SynthProgress } from "../../data/synth/index.ts";
import { defineCommand, UsageError } from "../command.ts";
import { jsonOutputOption } from "../options/groups.ts";
import { flag, number, text } from "../options/schema.ts";

const d = SYNTH_DEFAULTS;
/** Option names of the API → of the command line, for error messages. */
const CLI_NAMES: Record<string, string> = { videosPerClass: "videos" };

export const synthCommand = defineCommand({
  name: "synth",
  usage: `--out DIR [--classes K] [--videos N] [--size S] [--frames F] [--seed S]
                      [--fps R] [--crf Q] [--jobs J] [--force] [--json]`,
  description: `Renders short videos of a shape moving over a textured background and encodes them with ffmpeg
(H.264, yuv420p). The class is the kind of motion; shape, colours, size, position, orientation,
background and a static pulsing distractor are random and the same for every class, so no single
frame tells the class — a model has to look at how frames change.

Classes (--classes K takes the first K):
${SYNTH_CLASSES.map((c, i) => `  ${String(i).padStart(2)} ${c.name.padEnd(21)} ${c.description}`).join("\n")}

Writes into DIR:
  videos/<split>/<class>_<nnnn>.mp4
  train.csv val.csv test.csv   "path label" per line (space-separated, no header)
  pretrain.csv                 "path 0 -1" per line (the train videos)
  labels.txt                   class names, line i = label i
  manifest.json                seed, settings, classes, counts
Do not train with flip augmentation on this data: a horizontal flip turns move_right into
move_left and rotate_cw into rotate_ccw (as for Something-Something V2, where the official
fine-tuning disables flips). Paths in the list files are relative to DIR. Re-running skips the videos already there (an
interrupted run resumes, and more --videos or --classes adds only the new ones); a different
--size, --frames, --fps, --seed or --crf needs another DIR or --force.`,
  options: {
    out: text({ valueName: "DIR", required: true, description: "output folder (created if missing)" }),
    classes: number({ valueName: "K", default: d.classes, description: `number of classes, 2..${MAX_SYNTH_CLASSES}` }),
    videos: number({ valueName: "N", default: d.videosPerClass, description: "videos per class over all splits, ≥ 3 (15% val, 15% test, rest train)" }),
    size: number({ valueName: "S", default: d.size, description: "frame width and height in pixels, even" }),
    frames: number({ valueName: "F", default: d.frames, description: "frames per video" }),
    fps: number({ valueName: "R", default: d.fps, description: "frame rate written to the files" }),
    seed: number({ valueName: "S", default: d.seed, description: "random seed; same seed and settings → same frames" }),
    crf: number({ valueName: "Q", default: d.crf, description: "x264 quality, 0..51, lower is better" }),
    jobs: number({ valueName: "J", defaultText: "2", description: "videos encoded at the same time" }),
    force: flag("regenerate every video, even if present or made with other settings"),
    ...jsonOutputOption("the summary (no progress line)"),
  },
  epilogue: `Example:
  videomae synth --out data/synth --classes 4 --videos 50 --size 64 --frames 32
  videomae synth --out /tmp/tiny --classes 2 --videos 6 --size 32 --frames 16 --json`,
  async run(values) {
    const progress = values.json ? undefined : progressPrinter();
    let summary;
    try {
      summary = await generateSynthDataset({
        out: values.out,
        classes: values.classes,
        videosPerClass: values.videos,
        size: values.size,
        frames: values.frames,
        fps: values.fps,
        seed: values.seed,
        crf: values.crf,
        jobs: values.jobs,
        force: values.force,
        onProgress: progress?.update,
      });
    } catch (e) {
      // A bad option value is a usage mistake: show it with the help text.
      if (e instanceof SynthOptionsError) throw new UsageError(e.message.replace(/^synthetic dataset: (\w+)/, (_, k: string) => `--${CLI_NAMES[k] ?? k}`));
      throw e;
    } finally {
      progress?.end();
    }
    if (values.json) {
      console.log(JSON.stringify(summary));
      return 0;
    }
    const c = summary.counts;
    console.log(
      [
        `synth: ${summary.dir}`,
        `  classes (${summary.classes.length}): ${summary.classes.join(", ")}`,
        `  videos: ${c.train} train, ${c.val} val, ${c.test} test (${summary.perClass.train}/${summary.perClass.val}/${summary.perClass.test} per class)` +
          ` — ${summary.generated} written, ${summary.skipped} already present, ${summary.seconds.toFixed(1)} s`,
        `  lists:  ${summary.files.train}`,
        `          ${summary.files.val}`,
        `          ${summary.files.test}`,
        `          ${summary.files.pretrain}   (pre-training: "path 0 -1")`,
        `  labels: ${summary.files.labels}`,
        `  manifest: ${summary.files.manifest}`,
      ].join("\n"),
    );
    return 0;
  },
});

/**
 * One progress line on stderr: rewritten in place on a terminal, otherwise printed every 10% so
 * logs stay short.
 */
function progressPrinter() {
  const tty = process.stderr.isTTY;
  let lastDecile = -1;
  let printed = false;
  return {
    update(p: SynthProgress) {
      const line = `synth: ${p.done}/${p.total} videos (${p.generated} written, ${p.skipped} already present)`;
      if (tty) {
        process.stderr.write(`\r${line}`);
        printed = true;
      } else {
        const decile = Math.floor((10 * p.done) / p.total);
        if (decile !== lastDecile) {
          lastDecile = decile;
          process.stderr.write(`${line}\n`);
        }
      }
    },
    end() {
      if (tty && printed) process.stderr.write("\n");
    },
  };
}
