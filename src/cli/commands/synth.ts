/**
 * `videomae synth --out DIR …`: writes the synthetic motion dataset (src/data/synth) — .mp4
 * videos plus train/val/test/pretrain list files in the official formats — and prints where
 * everything is.
 */
import { MAX_SYNTH_CLASSES, SYNTH_CLASSES, SYNTH_DEFAULTS, SynthOptionsError, generateSynthDataset, type SynthProgress } from "../../data/synth/index.ts";
import { UsageError, num, parseOptions, type Command } from "../command.ts";

const d = SYNTH_DEFAULTS;
/** Option names of the API → of the command line, for error messages. */
const CLI_NAMES: Record<string, string> = { videosPerClass: "videos" };

export const synthCommand: Command = {
  name: "synth",
  help: `Usage: videomae synth --out DIR [--classes K] [--videos N] [--size S] [--frames F] [--seed S]
                      [--fps R] [--crf Q] [--jobs J] [--force] [--json]

Renders short videos of a shape moving over a textured background and encodes them with ffmpeg
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
--size, --frames, --fps, --seed or --crf needs another DIR or --force.

Options:
  --out DIR       output folder (required; created if missing)
  --classes K     number of classes, 2..${MAX_SYNTH_CLASSES} (default ${d.classes})
  --videos N      videos per class over all splits, ≥ 3 (default ${d.videosPerClass}; 15% val, 15% test, rest train)
  --size S        frame width and height in pixels, even (default ${d.size})
  --frames F      frames per video (default ${d.frames})
  --fps R         frame rate written to the files (default ${d.fps})
  --seed S        random seed; same seed and settings → same frames (default ${d.seed})
  --crf Q         x264 quality, 0..51, lower is better (default ${d.crf})
  --jobs J        videos encoded at the same time (default 2)
  --force         regenerate every video, even if present or made with other settings
  --json          print the summary as JSON (no progress line)

Example:
  videomae synth --out data/synth --classes 4 --videos 50 --size 64 --frames 32
  videomae synth --out /tmp/tiny --classes 2 --videos 6 --size 32 --frames 16 --json`,
  async run(argv) {
    const { values } = parseOptions(argv, {
      out: { type: "string" },
      classes: { type: "string" },
      videos: { type: "string" },
      size: { type: "string" },
      frames: { type: "string" },
      fps: { type: "string" },
      seed: { type: "string" },
      crf: { type: "string" },
      jobs: { type: "string" },
      force: { type: "boolean" },
      json: { type: "boolean" },
    });
    if (!values.out) throw new UsageError("--out DIR is required");
    const progress = values.json ? undefined : progressPrinter();
    let summary;
    try {
      summary = await generateSynthDataset({
        out: values.out,
        classes: num(values.classes, d.classes, "classes"),
        videosPerClass: num(values.videos, d.videosPerClass, "videos"),
        size: num(values.size, d.size, "size"),
        frames: num(values.frames, d.frames, "frames"),
        fps: num(values.fps, d.fps, "fps"),
        seed: num(values.seed, d.seed, "seed"),
        crf: num(values.crf, d.crf, "crf"),
        jobs: values.jobs === undefined ? undefined : num(values.jobs, 2, "jobs"),
        force: values.force ?? false,
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
};

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
