/**
 * The launcher behind `videomae launch`: starts this node's ranks of a data-parallel job with
 * torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR,
 * MASTER_PORT), streams their output line by line with a `[rank r]` prefix, and stops the job as
 * a whole: when one rank fails the others get SIGTERM (SIGKILL after a grace period); a signal to
 * the launcher is forwarded; workers die with the launcher (PR_SET_PDEATHSIG, data_parallel.ts).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { availableParallelism } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { LAUNCHER_PID_VAR } from "./data_parallel.ts";

export interface LaunchOptions {
  /** The command of every rank: a videomae command (`pretrain …`) or any program (`node x.mjs …`). */
  command: string[];
  nprocPerNode: number;
  nnodes?: number;
  nodeRank?: number;
  masterAddr?: string;
  /** Default: a free port when nnodes is 1, else 29500 (torchrun's). */
  masterPort?: number;
  /** Collective timeout in seconds for the workers (VIDEOMAE_DIST_TIMEOUT). */
  timeoutSec?: number;
  /** The ranks' collective backend (VIDEOMAE_DIST_BACKEND): auto (default), nccl or gloo. */
  backend?: "auto" | "nccl" | "gloo";
  /** Torch threads per rank (default: cores / nprocPerNode, at least 1; OMP_NUM_THREADS wins). */
  threadsPerProc?: number;
  /** Seconds between SIGTERM and SIGKILL when stopping the job (default 10). */
  graceSec?: number;
  /** Where prefixed output goes (default process.stdout / process.stderr). */
  stdout?: (line: string) => void;
  stderr?: (line: string) => void;
  /** Names a videomae command (so `command` runs through bin/videomae.mjs). */
  isVideomaeCommand?: (name: string) => boolean;
}

export interface LaunchResult {
  /** 0 when every rank succeeded, else the first failing rank's code (1 for a signal). */
  exitCode: number;
  /** Per local rank: exit code, or the signal that ended it. */
  ranks: { rank: number; code: number | null; signal: NodeJS.Signals | null }[];
  /** The rank whose failure stopped the job, if any. */
  failedRank: number | null;
}

const BIN = join(dirname(fileURLToPath(import.meta.url)), "../../bin/videomae.mjs");

/** A TCP port that was free a moment ago (the master's store binds it next). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Splits a stream into lines and hands each, prefixed, to `emit` (a partial last line at the end). */
function pipeLines(stream: NodeJS.ReadableStream | null, prefix: string, emit: (line: string) => void): void {
  if (!stream) return;
  let rest = "";
  stream.setEncoding("utf8");
  stream.on("data", (chunk: string) => {
    const parts = (rest + chunk).split(/\r?\n|\r/);
    rest = parts.pop()!;
    for (const p of parts) if (p.length) emit(prefix + p);
  });
  stream.on("end", () => {
    if (rest.length) emit(prefix + rest);
  });
}

export async function launch(o: LaunchOptions): Promise<LaunchResult> {
  const nproc = o.nprocPerNode;
  const nnodes = o.nnodes ?? 1;
  const nodeRank = o.nodeRank ?? 0;
  if (!Number.isInteger(nproc) || nproc < 1) throw new RangeError(`--nproc-per-node must be a positive integer, got ${nproc}`);
  if (!Number.isInteger(nnodes) || nnodes < 1) throw new RangeError(`--nnodes must be a positive integer, got ${nnodes}`);
  if (!Number.isInteger(nodeRank) || nodeRank < 0 || nodeRank >= nnodes) throw new RangeError(`--node-rank must be in 0..${nnodes - 1}, got ${nodeRank}`);
  if (!o.command.length) throw new RangeError("no command to launch: put it after --, e.g. `videomae launch --nproc-per-node 2 -- pretrain --lists a.csv`");
  const masterAddr = o.masterAddr ?? "127.0.0.1";
  const masterPort = o.masterPort ?? (nnodes === 1 ? await freePort() : 29500);
  const world = nnodes * nproc;
  const threads = o.threadsPerProc ?? Math.max(1, Math.floor(availableParallelism() / nproc));
  const out = o.stdout ?? ((l: string) => process.stdout.write(l + "\n"));
  const err = o.stderr ?? ((l: string) => process.stderr.write(l + "\n"));
  const grace = (o.graceSec ?? 10) * 1000;
  const [first, ...args] = o.command as [string, ...string[]];
  const viaBin = o.isVideomaeCommand?.(first) ?? false;
  const file = viaBin ? process.execPath : first;
  const argv = viaBin ? [BIN, first, ...args] : args;

  err(`[launch] ${nproc} rank${nproc > 1 ? "s" : ""} on this node (${nodeRank * nproc}..${nodeRank * nproc + nproc - 1} of ${world}), master ${masterAddr}:${masterPort}, ${threads} thread${threads > 1 ? "s" : ""} each`);
  const children: ChildProcess[] = [];
  const result: LaunchResult = { exitCode: 0, ranks: [], failedRank: null };
  let stopping = false;
  let killTimer: NodeJS.Timeout | null = null;
  const stopAll = (signal: NodeJS.Signals) => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill(signal);
    if (!killTimer && signal !== "SIGKILL") {
      killTimer = setTimeout(() => stopAll("SIGKILL"), grace);
      killTimer.unref();
    }
  };
  const onSignal = (sig: NodeJS.Signals) => {
    if (stopping) {
      err(`[launch] second ${sig}: killing every rank`);
      stopAll("SIGKILL");
      return;
    }
    stopping = true;
    err(`[launch] ${sig}: asking every rank to save and stop (again to kill)`);
    stopAll("SIGTERM");
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  const exits = [];
  for (let local = 0; local < nproc; local++) {
    const rank = nodeRank * nproc + local;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      RANK: String(rank),
      WORLD_SIZE: String(world),
      LOCAL_RANK: String(local),
      LOCAL_WORLD_SIZE: String(nproc),
      GROUP_RANK: String(nodeRank),
      MASTER_ADDR: masterAddr,
      MASTER_PORT: String(masterPort),
      OMP_NUM_THREADS: process.env.OMP_NUM_THREADS ?? String(threads),
      [LAUNCHER_PID_VAR]: String(process.pid),
      ...(o.timeoutSec !== undefined ? { VIDEOMAE_DIST_TIMEOUT: String(o.timeoutSec) } : {}),
      ...(o.backend ? { VIDEOMAE_DIST_BACKEND: o.backend } : {}),
    };
    // Own process group per rank: a Ctrl-C in the terminal reaches the launcher only, which
    // forwards it once (otherwise every rank would see it twice).
    const child = spawn(file, argv, { env, stdio: ["ignore", "pipe", "pipe"], detached: true });
    children.push(child);
    pipeLines(child.stdout, `[rank ${rank}] `, out);
    pipeLines(child.stderr, `[rank ${rank}] `, err);
    exits.push(
      new Promise<void>((resolve) => {
        let ended = false;
        const done = (code: number | null, signal: NodeJS.Signals | null) => {
          if (ended) return;
          ended = true;
          result.ranks[local] = { rank, code, signal };
          const failed = code !== 0;
          if (failed && result.failedRank === null && !stopping) {
            result.failedRank = rank;
            result.exitCode = code ?? 1;
            err(`[launch] rank ${rank} ${code !== null ? `exited with code ${code}` : `was killed by ${signal}`}: stopping the other ranks`);
            stopping = true;
            stopAll("SIGTERM");
          } else if (failed && result.exitCode === 0) {
            result.exitCode = code ?? 1;
          }
          resolve();
        };
        child.on("error", (e) => {
          err(`[launch] rank ${rank}: could not start ${file}: ${e.message}`);
          done(127, null);
        });
        child.on("exit", done);
      }),
    );
  }
  try {
    await Promise.all(exits);
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    if (killTimer) clearTimeout(killTimer);
  }
  return result;
}
