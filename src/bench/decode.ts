/**
 * Decode benchmark (part of `bench --data`): the same clips, the same frame indices, decoded by
 *   - ours: LibavReader (FFmpeg's libraries in-process), one fresh reader per clip request, so
 *     every request opens, probes, seeks and decodes like a loader reading distinct videos;
 *   - PyAV (Debian python3-av) in one Python process: open, seek to the keyframe before the first
 *     wanted frame, decode forward, keep the wanted frames as RGB arrays (the baseline);
 *   - the ffmpeg-process reader (FfmpegReader: an ffprobe and an ffmpeg process per clip).
 * Each request is 16 frames at stride 4 (the pre-training sampler's shape) at the stored size,
 * one decoding thread. Test videos are made with ffmpeg at bench time (not committed): 10 s of
 * 454×340 H.264 at GOP 60 (the clip), the same at GOP 12 and GOP 250, and 720p at GOP 60.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

import { FfmpegReader } from "../video/ffmpeg-reader.ts";
import { LibavReader, libavAvailable } from "../video/libav-reader.ts";
import { PYTHON } from "./pytorch.ts";

export interface DecodeBenchRow {
  clip: string;
  requests: number;
  /** Wall ms per clip request (one request at a time, one decoding thread). */
  oursMs: number;
  /** CPU ms per request (this process, all threads): clips/s per core = 1000 / cpuMs. */
  oursCpuMs: number;
  pyavMs: number | null;
  pyavCpuMs: number | null;
  cliMs: number | null;
  /** PyAV time / our time (CPU): > 1 means ours is faster. */
  vsPyav: number | null;
  /** ffmpeg-process reader wall time / ours. */
  vsCli: number | null;
}

const CLIPS = [
  { name: "340p_gop60.mp4", size: "454x340", gop: 60 },
  { name: "340p_gop12.mp4", size: "454x340", gop: 12 },
  { name: "340p_gop250.mp4", size: "454x340", gop: 250 },
  { name: "720p_gop60.mp4", size: "1280x720", gop: 60 },
];
const FRAMES = 300; // 10 s at 30 fps

/** Makes the test videos once: 10 s at 30 fps of a moving test pattern with noise (x264, B-frames). */
function makeClips(dir: string, log: (s: string) => void): void {
  mkdirSync(dir, { recursive: true });
  for (const c of CLIPS) {
    const out = join(dir, c.name);
    if (existsSync(out)) continue;
    log(`decode bench: making ${out} (10 s ${c.size}, H.264 GOP ${c.gop})`);
    const r = spawnSync(
      "ffmpeg",
      ["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", `testsrc2=size=${c.size}:rate=30:duration=10`, "-vf", "noise=alls=12:allf=t",
        "-c:v", "libx264", "-preset", "medium", "-crf", "23", "-g", String(c.gop), "-keyint_min", String(c.gop), "-sc_threshold", "0", "-bf", "2", "-pix_fmt", "yuv420p", out],
      { encoding: "utf8" },
    );
    if (r.status !== 0) throw new Error(`ffmpeg could not make ${out}: ${r.stderr}`);
  }
}

/** `n` requests of 16 frames at stride 4, starts spread over the clip (deterministic). */
function requests(n: number): number[][] {
  return Array.from({ length: n }, (_, k) => {
    const start = Math.floor(((k + 0.5) * (FRAMES - 61)) / n);
    return Array.from({ length: 16 }, (_, t) => start + 4 * t);
  });
}

const PYAV_SCRIPT = `
import av, json, sys, time, resource
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
jobs = json.loads(sys.stdin.read())
out = []
for path, reqs in jobs:
    t0, c0 = time.perf_counter(), cpu()
    for idx in reqs:
        with av.open(path) as container:
            stream = container.streams.video[0]
            stream.thread_count = 1
            tb = float(stream.time_base)
            rate = float(stream.average_rate)
            start = (stream.start_time or 0) * tb
            want = set(idx)
            container.seek(int((start + idx[0] / rate) / tb), stream=stream, backward=True, any_frame=False)
            got = {}
            for frame in container.decode(stream):
                i = round((frame.pts * tb - start) * rate)
                if i in want and i not in got:
                    got[i] = frame.to_ndarray(format="rgb24")
                if i >= idx[-1]:
                    break
            assert len(got) == len(want), (path, idx, sorted(got))
    out.append([(time.perf_counter() - t0) * 1000 / len(reqs), (cpu() - c0) * 1000 / len(reqs)])
print(json.dumps(out))
`;

function runPyav(jobs: [string, number[][]][]): { rows: [number, number][] | null; why?: string } {
  const r = spawnSync(PYTHON, ["-c", PYAV_SCRIPT], { input: JSON.stringify(jobs), encoding: "utf8", maxBuffer: 16 << 20 });
  if (r.status !== 0) return { rows: null, why: `${PYTHON} with PyAV failed (apt-get install python3-av): ${r.stderr.trim().split("\n").pop()}` };
  return { rows: JSON.parse(r.stdout) as [number, number][] };
}

/** Ours: a fresh reader per request (open, probe, seek, decode). Wall and CPU ms per request. */
async function runOurs(path: string, reqs: number[][]): Promise<[number, number]> {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  for (const idx of reqs) {
    const reader = new LibavReader();
    const clip = await reader.readFrames(path, idx);
    await reader.close();
    if (clip.frames !== 16) throw new Error(`decode bench: ${path} gave ${clip.frames} frames`);
  }
  const cpu = process.cpuUsage(c0);
  return [(performance.now() - t0) / reqs.length, (cpu.user + cpu.system) / 1000 / reqs.length];
}

export async function runDecodeBench(o: { dir?: string; quick?: boolean; log?: (s: string) => void } = {}): Promise<{ rows: DecodeBenchRow[]; note: string }> {
  const log = o.log ?? (() => {});
  if (!libavAvailable()) throw new Error("decode bench: the addon was built without FFmpeg's libraries (see scripts/setup.sh)");
  const dir = o.dir ?? join(".bench", "decode-clips");
  makeClips(dir, log);
  const n = o.quick ? 4 : 12;
  const rounds = o.quick ? 1 : 2;
  const reqs = requests(n);
  const paths = CLIPS.map((c) => join(dir, c.name));

  // Warm the page cache and the code paths once.
  await runOurs(paths[0]!, reqs.slice(0, 1));

  const rows: DecodeBenchRow[] = [];
  let pyavWhy: string | undefined;
  for (const [ci, path] of paths.entries()) {
    // Ours and PyAV alternate, `rounds` times; the best of each counts (the machine may be shared).
    let ours: [number, number] = [Infinity, Infinity];
    let pyav: [number, number] | null = null;
    for (let r = 0; r < rounds; r++) {
      const py = pyavWhy ? { rows: null } : runPyav([[path, reqs]]);
      if (!py.rows) pyavWhy ??= py.why;
      else pyav = pyav ? [Math.min(pyav[0], py.rows[0]![0]), Math.min(pyav[1], py.rows[0]![1])] : py.rows[0]!;
      const x = await runOurs(path, reqs);
      ours = [Math.min(ours[0], x[0]), Math.min(ours[1], x[1])];
    }
    const cliN = Math.min(n, 4);
    const t1 = performance.now();
    for (const idx of reqs.slice(0, cliN)) await new FfmpegReader().readFrames(path, idx);
    const cliMs = (performance.now() - t1) / cliN;
    const [oursMs, oursCpuMs] = ours;
    const [pyavMs, pyavCpuMs] = pyav ?? [null, null];
    const row: DecodeBenchRow = {
      clip: CLIPS[ci]!.name,
      requests: n,
      oursMs,
      oursCpuMs,
      pyavMs,
      pyavCpuMs,
      cliMs,
      vsPyav: pyavCpuMs !== null ? pyavCpuMs / oursCpuMs : null,
      vsCli: cliMs / oursMs,
    };
    rows.push(row);
    log(
      `decode ${row.clip}: ours ${oursMs.toFixed(1)} ms/clip (cpu ${oursCpuMs.toFixed(1)} ms, ${(1000 / oursCpuMs).toFixed(1)} clips/s/core)` +
        (pyavMs !== null ? `, PyAV ${pyavMs.toFixed(1)} ms (cpu ${pyavCpuMs!.toFixed(1)} ms, ${(1000 / pyavCpuMs!).toFixed(1)} clips/s/core) → ${row.vsPyav!.toFixed(2)}× PyAV` : "") +
        `, ffmpeg processes ${cliMs.toFixed(0)} ms/clip → ${row.vsCli!.toFixed(1)}×`,
    );
  }
  if (pyavWhy) log(`decode bench: PyAV skipped: ${pyavWhy}`);
  return { rows, note: "16 frames at stride 4 per request, stored size, 1 decoding thread, one request at a time, best of alternating rounds; ratios > 1 mean ours is faster" };
}

// `node --import tsx src/bench/decode.ts [--quick]`: this comparison alone, as JSON.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const r = await runDecodeBench({ quick: process.argv.includes("--quick"), log: (m) => console.error(m) });
  console.log(JSON.stringify(r, null, 2));
}
