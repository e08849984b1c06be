/**
 * Decode benchmark (part of `bench --data`): the same clips, the same frame indices, decoded by
 *   - ours: LibavReader (FFmpeg's libraries in-process), one fresh reader per clip request, so
 *     every request opens, probes, seeks and decodes like a loader reading distinct videos; with
 *     one decoding thread (as the loader's workers decode) and with one per core (as `frames`,
 *     `predict` and `extract` may, and as the ffmpeg program does by default);
 *   - PyAV (Debian python3-av) in one Python process: open, seek to the keyframe before the first
 *     wanted frame, decode forward, keep the wanted frames as RGB arrays (the issue's baseline);
 *   - the ffmpeg-process reader (FfmpegReader: an ffprobe and an ffmpeg process per clip, ffmpeg's
 *     default decoding threads), wall time and the CPU time of its processes.
 * Each request is 16 frames at stride 4 (the pre-training sampler's shape) at the stored size.
 *
 * Test videos are made with ffmpeg at bench time (not committed), 10 s at 30 fps of a moving test
 * pattern with per-frame noise, H.264 with B-frames, in two groups:
 *   - "typical": the bit rates of real datasets' files (Kinetics-style 340p clips run ~0.5–1.5
 *     Mbit/s, 720p web video ~2–5 Mbit/s): 340p at 1 Mbit/s with GOP 12, 60 (the issue's clip;
 *     PyAV's time on it is close to the issue's 77 ms) and 250, 720p at 4 Mbit/s with GOP 60;
 *   - "high bit rate": the same noise at CRF 23, i.e. ~4 Mbit/s at 340p and ~26 Mbit/s at 720p,
 *     where entropy decoding dominates every reader and the ratios shrink towards 1.
 * Decoding time grows with the bit rate while a process launch does not, so the ratio to the
 * ffmpeg-process reader depends on the group: both are reported.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, renameSync, statSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

import { FfmpegReader } from "../video/ffmpeg-reader.ts";
import { LibavReader, libavAvailable } from "../video/libav-reader.ts";
import { PYTHON } from "./pytorch.ts";
import { table } from "./stats.ts";

export interface DecodeBenchRow {
  clip: string;
  group: "typical" | "high bit rate";
  /** Mean bit rate of the file, bits/s. */
  bitRate: number;
  requests: number;
  /** Wall ms per clip request (one request at a time, one decoding thread). */
  oursMs: number;
  /** CPU ms per request (this process, all threads): clips/s per core = 1000 / cpuMs. */
  oursCpuMs: number;
  /** Wall ms per request with one decoding thread per core (frame threads). */
  oursAllCoresMs: number;
  pyavMs: number | null;
  pyavCpuMs: number | null;
  cliMs: number | null;
  /** CPU ms per request of the ffprobe + ffmpeg processes (null where /proc is unavailable). */
  cliCpuMs: number | null;
  /** PyAV CPU time / ours (one thread each): > 1 means ours is faster. */
  vsPyav: number | null;
  /** ffmpeg-process reader wall time / ours with one decoding thread. */
  vsCli: number | null;
  /** ffmpeg-process reader wall time / ours with one thread per core (both use every core). */
  vsCliAllCores: number | null;
  /** ffmpeg-process reader CPU time / ours. */
  vsCliCpu: number | null;
}

interface ClipSpec {
  name: string;
  size: string;
  gop: number;
  group: DecodeBenchRow["group"];
  /** Average bit rate (x264 ABR with a VBV cap), or CRF 23 when absent. */
  bitRate?: string;
  /** Seed of the noise (distinct files with the same statistics). */
  seed?: number;
}

const CLIPS: ClipSpec[] = [
  { name: "340p_gop60_1M.mp4", size: "454x340", gop: 60, group: "typical", bitRate: "1M" },
  { name: "340p_gop12_1M.mp4", size: "454x340", gop: 12, group: "typical", bitRate: "1M" },
  { name: "340p_gop250_1M.mp4", size: "454x340", gop: 250, group: "typical", bitRate: "1M" },
  { name: "720p_gop60_4M.mp4", size: "1280x720", gop: 60, group: "typical", bitRate: "4M" },
  { name: "340p_gop60.mp4", size: "454x340", gop: 60, group: "high bit rate" },
  { name: "720p_gop60.mp4", size: "1280x720", gop: 60, group: "high bit rate" },
];
const FRAMES = 300; // 10 s at 30 fps

/** `n` distinct typical 340p files (the issue's clip, different noise): what the loader part of `bench --data` reads. */
export function loaderClips(n: number): ClipSpec[] {
  return Array.from({ length: n }, (_, k) => ({ name: `340p_gop60_1M_seed${k}.mp4`, size: "454x340", gop: 60, group: "typical", bitRate: "1M", seed: k + 1 }));
}

/** Makes the test videos once: 10 s at 30 fps of a moving test pattern with noise (x264, B-frames). */
export function makeClips(dir: string, log: (s: string) => void, specs: readonly ClipSpec[] = CLIPS): string[] {
  mkdirSync(dir, { recursive: true });
  for (const c of specs) {
    const out = join(dir, c.name);
    if (existsSync(out)) continue;
    const rate = c.bitRate ? ["-b:v", c.bitRate, "-maxrate", c.bitRate, "-bufsize", `${2 * parseInt(c.bitRate)}M`] : ["-crf", "23"];
    log(`decode bench: making ${out} (10 s ${c.size}, H.264 GOP ${c.gop}, ${c.bitRate ? `${c.bitRate}bit/s` : "CRF 23"})`);
    const r = spawnSync(
      "ffmpeg",
      ["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", `testsrc2=size=${c.size}:rate=30:duration=10`, "-vf", `noise=alls=12:allf=t${c.seed ? `:all_seed=${c.seed}` : ""}`,
        "-c:v", "libx264", "-preset", "medium", ...rate, "-g", String(c.gop), "-keyint_min", String(c.gop), "-sc_threshold", "0", "-bf", "2", "-pix_fmt", "yuv420p", `${out}.part.mp4`],
      { encoding: "utf8" },
    );
    if (r.status !== 0) throw new Error(`ffmpeg could not make ${out}: ${r.stderr}`);
    // Whole files only: an interrupted run must not leave a half-written clip behind.
    renameSync(`${out}.part.mp4`, out);
  }
  return specs.map((c) => join(dir, c.name));
}

/** CPU ms of this process's finished (waited-for) child processes, from /proc/self/stat; null elsewhere. */
function childrenCpuMs(): number | null {
  try {
    const stat = readFileSync("/proc/self/stat", "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" "); // fields from 3 (state) on
    const ticks = Number(f[16 - 3]) + Number(f[17 - 3]); // cutime + cstime
    return Number.isFinite(ticks) ? ticks * 10 : null; // USER_HZ is 100 on Linux
  } catch {
    return null;
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
async function runOurs(path: string, reqs: number[][], threads = 1): Promise<[number, number]> {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  for (const idx of reqs) {
    const reader = new LibavReader({ threads });
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
  const paths = makeClips(dir, log);
  const n = o.quick ? 4 : 12;
  const rounds = o.quick ? 1 : 2;
  const reqs = requests(n);

  // Warm the page cache and the code paths once.
  await runOurs(paths[0]!, reqs.slice(0, 1));

  const rows: DecodeBenchRow[] = [];
  let pyavWhy: string | undefined;
  for (const [ci, path] of paths.entries()) {
    const spec = CLIPS[ci]!;
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
    // The ffmpeg-process reader and ours with every core, the same requests, alternating.
    const cliN = Math.min(n, 4);
    let cliMs = Infinity, cliCpuMs: number | null = Infinity, allCoresMs = Infinity;
    for (let r = 0; r < rounds; r++) {
      const t1 = performance.now();
      const c1 = childrenCpuMs();
      for (const idx of reqs.slice(0, cliN)) await new FfmpegReader().readFrames(path, idx);
      const c2 = childrenCpuMs();
      cliMs = Math.min(cliMs, (performance.now() - t1) / cliN);
      cliCpuMs = c1 === null || c2 === null || cliCpuMs === null ? null : Math.min(cliCpuMs, (c2 - c1) / cliN);
      allCoresMs = Math.min(allCoresMs, (await runOurs(path, reqs.slice(0, cliN), 0))[0]);
    }
    const [oursMs, oursCpuMs] = ours;
    const [pyavMs, pyavCpuMs] = pyav ?? [null, null];
    const row: DecodeBenchRow = {
      clip: spec.name,
      group: spec.group,
      bitRate: fileBitRate(path),
      requests: n,
      oursMs,
      oursCpuMs,
      oursAllCoresMs: allCoresMs,
      pyavMs,
      pyavCpuMs,
      cliMs,
      cliCpuMs,
      vsPyav: pyavCpuMs !== null ? pyavCpuMs / oursCpuMs : null,
      vsCli: cliMs / oursMs,
      vsCliAllCores: cliMs / allCoresMs,
      vsCliCpu: cliCpuMs !== null ? cliCpuMs / oursCpuMs : null,
    };
    rows.push(row);
    log(
      `decode ${row.clip} (${(row.bitRate / 1e6).toFixed(1)} Mbit/s): ours ${oursMs.toFixed(1)} ms/clip (cpu ${oursCpuMs.toFixed(1)} ms, ${(1000 / oursCpuMs).toFixed(1)} clips/s/core)` +
        (pyavMs !== null ? `, PyAV ${pyavMs.toFixed(1)} ms (cpu ${pyavCpuMs!.toFixed(1)} ms) → ${row.vsPyav!.toFixed(2)}× PyAV` : "") +
        `; ffmpeg processes ${cliMs.toFixed(0)} ms/clip` + (cliCpuMs !== null ? ` (cpu ${cliCpuMs.toFixed(0)} ms)` : "") +
        ` vs ours ${oursMs.toFixed(0)} ms (1 thread) → ${row.vsCli!.toFixed(1)}×, ${allCoresMs.toFixed(0)} ms (all cores) → ${row.vsCliAllCores!.toFixed(1)}×` +
        (row.vsCliCpu !== null ? `, cpu ${row.vsCliCpu.toFixed(1)}×` : ""),
    );
  }
  if (pyavWhy) log(`decode bench: PyAV skipped: ${pyavWhy}`);
  return {
    rows,
    note:
      "16 frames at stride 4 per request, stored size, a fresh reader per request, best of alternating rounds; ours and PyAV with 1 decoding thread, " +
      "the ffmpeg program with its default threads (compared to ours with 1 thread and with one per core); ratios > 1 mean ours is faster",
  };
}

/** The file's mean bit rate (size over 10 s), bits/s. */
function fileBitRate(path: string): number {
  return (statSync(path).size * 8) / (FRAMES / 30);
}

/** The decode rows as a text table. */
export function formatDecodeBench(d: { rows: DecodeBenchRow[]; note: string }): string {
  const n = (x: number | null) => x ?? NaN;
  const head = ["clip", "Mbit/s", "ours ms", "ours cpu", "PyAV cpu", "×PyAV", "ffmpeg ms", "ffmpeg cpu", "ours all-cores ms", "×ffmpeg 1 thr", "×ffmpeg all cores", "×ffmpeg cpu"];
  const rows = d.rows.map((r) => [
    `${r.clip} (${r.group})`, r.bitRate / 1e6, r.oursMs, r.oursCpuMs, n(r.pyavCpuMs), n(r.vsPyav), n(r.cliMs), n(r.cliCpuMs), r.oursAllCoresMs, n(r.vsCli), n(r.vsCliAllCores), n(r.vsCliCpu),
  ]);
  return `${table(head, rows)}\n(${d.note})`;
}

// `node --import tsx src/bench/decode.ts [--quick]`: this comparison alone, as JSON.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const r = await runDecodeBench({ quick: process.argv.includes("--quick"), log: (m) => console.error(m) });
  console.error(formatDecodeBench(r));
  console.log(JSON.stringify(r, null, 2));
}
