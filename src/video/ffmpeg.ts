/**
 * Running the ffmpeg / ffprobe programs: locating them (with a clear error when missing),
 * spawning them with argument arrays (never through a shell), collecting a known number of
 * stdout bytes, keeping the tail of stderr for error messages, and killing them on timeout.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";

import { FfmpegNotFoundError } from "./errors.ts";

/** Where the programs are; defaults resolve through PATH. */
export interface FfmpegPaths {
  ffmpegPath?: string;
  ffprobePath?: string;
}

/** What the installed ffmpeg supports, as far as the readers care. */
export interface FfmpegCaps {
  ffmpeg: string;
  ffprobe: string;
  /** "major.minor" of ffmpeg, or "unknown" for builds from git. */
  version: string;
  /**
   * Output options that pass every decoded frame through unchanged (no duplication to a
   * constant rate, no dropping). `-fps_mode` exists from 5.1; older builds spell it `-vsync`.
   * Without it ffmpeg silently duplicates frames once `select` has made the stream sparse.
   */
  passthrough: string[];
}

const capsCache = new Map<string, Promise<FfmpegCaps>>();

/**
 * Checks once per process (per pair of paths) that ffmpeg and ffprobe run, and reads ffmpeg's
 * version. Throws FfmpegNotFoundError otherwise.
 */
export function ensureFfmpeg(paths: FfmpegPaths = {}): Promise<FfmpegCaps> {
  const ffmpeg = paths.ffmpegPath ?? "ffmpeg";
  const ffprobe = paths.ffprobePath ?? "ffprobe";
  const key = `${ffmpeg}\0${ffprobe}`;
  let caps = capsCache.get(key);
  if (!caps) {
    caps = (async () => {
      const [ffmpegOut] = await Promise.all([versionOf(ffmpeg), versionOf(ffprobe)]);
      const m = /version\s+n?(\d+)\.(\d+)/i.exec(ffmpegOut);
      const major = m ? Number(m[1]) : Infinity;
      const minor = m ? Number(m[2]) : Infinity;
      const modern = major > 5 || (major === 5 && minor >= 1);
      return {
        ffmpeg,
        ffprobe,
        version: m ? `${major}.${minor}` : "unknown",
        passthrough: modern ? ["-fps_mode", "passthrough"] : ["-vsync", "passthrough"],
      };
    })();
    // A failed check is not cached, so installing ffmpeg mid-session works without a restart.
    caps.catch(() => capsCache.delete(key));
    capsCache.set(key, caps);
  }
  return caps;
}

function versionOf(binary: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(binary, ["-version"], { timeout: 30_000 }, (err, stdout) => {
      if (err) {
        const code = (err as NodeJS.ErrnoException).code;
        reject(new FfmpegNotFoundError(binary, code === "ENOENT" ? "not found on PATH" : err.message));
      } else resolve(String(stdout));
    });
  });
}

/** Keeps the last `limit` characters written to a stream (ffmpeg's stderr). */
class TailBuffer {
  private text = "";
  constructor(private readonly limit = 4000) {}
  push(chunk: Buffer | string): void {
    this.text += chunk.toString();
    if (this.text.length > 2 * this.limit) this.text = this.text.slice(-this.limit);
  }
  /** The last `lines` lines. */
  tail(lines = 12): string {
    return this.text.slice(-this.limit).trimEnd().split("\n").slice(-lines).join("\n");
  }
}

export interface RunOptions {
  /** Exact number of stdout bytes wanted; collection stops (and ffmpeg is killed) past it. */
  expectedBytes: number;
  /** Kill the process after this long (0 = never). */
  timeoutMs: number;
  /** Bytes fed to the process's stdin (e.g. JPEG files for image2pipe); stdin is closed after. */
  stdin?: Uint8Array;
}

export interface RunResult {
  /** Exactly `expectedBytes` long; only the first `received` bytes are filled. */
  stdout: Uint8Array;
  received: number;
  /** More bytes arrived than expected. */
  overflow: boolean;
  exitCode: number | null;
  timedOut: boolean;
  stderrTail: string;
}

/**
 * Runs ffmpeg (or any program) with an argument array and collects up to `expectedBytes` of
 * stdout into one preallocated buffer. Resolves when the process has exited; rejects only when
 * the program cannot be started. Whether the result is usable is the caller's decision
 * (`received === expectedBytes && exitCode === 0 && !overflow`).
 */
export function runToBuffer(binary: string, args: string[], opts: RunOptions): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: [opts.stdin ? "pipe" : "ignore", "pipe", "pipe"] });
    const out = new Uint8Array(opts.expectedBytes);
    const stderr = new TailBuffer();
    let received = 0;
    let overflow = false;
    let timedOut = false;
    let settled = false;

    const timer =
      opts.timeoutMs > 0
        ? setTimeout(() => {
            timedOut = true;
            child.kill("SIGKILL");
          }, opts.timeoutMs)
        : undefined;

    child.stdout!.on("data", (chunk: Buffer) => {
      const room = out.length - received;
      if (chunk.length > room) {
        overflow = true;
        out.set(chunk.subarray(0, room), received);
        received += room;
        child.kill("SIGKILL");
      } else {
        out.set(chunk, received);
        received += chunk.length;
      }
    });
    child.stderr!.on("data", (chunk: Buffer) => stderr.push(chunk));

    if (opts.stdin) {
      // ffmpeg may exit before reading everything (e.g. on a corrupt image): ignore EPIPE, the
      // exit code and byte count report the failure.
      child.stdin!.on("error", () => {});
      child.stdin!.end(opts.stdin);
    }

    child.on("error", (err: NodeJS.ErrnoException) => {
      if (timer) clearTimeout(timer);
      if (settled) return;
      settled = true;
      reject(err.code === "ENOENT" ? new FfmpegNotFoundError(binary, "not found on PATH") : err);
    });
    child.on("close", (code) => {
      if (timer) clearTimeout(timer);
      if (settled) return;
      settled = true;
      resolve({ stdout: out, received, overflow, exitCode: code, timedOut, stderrTail: stderr.tail() });
    });
  });
}

/** Runs a program and returns its whole stdout as text (used for ffprobe's JSON). */
export function runToText(
  binary: string,
  args: string[],
  timeoutMs: number,
): Promise<{ stdout: string; exitCode: number | null; timedOut: boolean; stderrTail: string }> {
  return new Promise((resolve, reject) => {
    execFile(binary, args, { timeout: timeoutMs, killSignal: "SIGKILL", maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const tail = new TailBuffer();
      tail.push(String(stderr));
      if (err && (err as NodeJS.ErrnoException).code === "ENOENT") {
        reject(new FfmpegNotFoundError(binary, "not found on PATH"));
        return;
      }
      const e = err as (Error & { code?: number | string; killed?: boolean; signal?: string }) | null;
      resolve({
        stdout: String(stdout),
        exitCode: e ? (typeof e.code === "number" ? e.code : null) : 0,
        timedOut: Boolean(e?.killed && e.signal === "SIGKILL"),
        stderrTail: tail.tail(),
      });
    });
  });
}

/**
 * Spawns a long-running decoder whose stdout is consumed as a stream (streamWindows). The caller
 * owns the process and must kill it when it stops reading early.
 */
export function spawnStreaming(binary: string, args: string[]): { child: ChildProcess; stderrTail: () => string } {
  const child = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"] });
  const stderr = new TailBuffer();
  child.stderr!.on("data", (chunk: Buffer) => stderr.push(chunk));
  return { child, stderrTail: () => stderr.tail() };
}

/** Common leading arguments: no keyboard interaction on stdin, no banner, errors only. */
export const QUIET_ARGS = ["-nostdin", "-hide_banner", "-v", "error"];

/**
 * A local path as an ffmpeg input URL. Without the `file:` prefix ffmpeg reads "clip:1.mp4" as
 * protocol "clip" and fails with "Protocol not found".
 */
export function fileUrl(path: string): string {
  return `file:${path}`;
}

/** A number printed for an ffmpeg expression or option (no exponent notation, enough digits). */
export function num(x: number): string {
  if (Number.isInteger(x)) return String(x);
  return x.toFixed(9).replace(/0+$/, "").replace(/\.$/, "");
}
