/**
 * The distributed environment of this process, read the way torchrun (and `videomae launch`)
 * set it: RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT. No WORLD_SIZE (or 1) means a
 * single process.
 */
export interface DistEnv {
  rank: number;
  worldSize: number;
  /** Rank among the processes of this machine. */
  localRank: number;
  masterAddr: string;
  masterPort: number;
  /** Collective/rendezvous timeout (VIDEOMAE_DIST_TIMEOUT seconds, default 300). */
  timeoutMs: number;
  /** gloo's network interface (GLOO_SOCKET_IFNAME), when set. */
  ifname?: string;
  /** VIDEOMAE_DIST_BACKEND (set by `videomae launch --backend`): auto (default), nccl or gloo. */
  backend: "auto" | "nccl" | "gloo";
}

export class DistEnvError extends Error {
  constructor(message: string) {
    super(`${message} (set by \`videomae launch\` or torchrun: RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT)`);
    this.name = "DistEnvError";
  }
}

function intVar(env: NodeJS.ProcessEnv, name: string, fallback?: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") {
    if (fallback !== undefined) return fallback;
    throw new DistEnvError(`${name} is not set`);
  }
  const v = Number(raw);
  if (!Number.isInteger(v) || v < 0) throw new DistEnvError(`${name}=${raw} is not a non-negative integer`);
  return v;
}

function backendVar(env: NodeJS.ProcessEnv): DistEnv["backend"] {
  const b = env.VIDEOMAE_DIST_BACKEND || "auto";
  if (b !== "auto" && b !== "nccl" && b !== "gloo") throw new DistEnvError(`VIDEOMAE_DIST_BACKEND=${b} is not one of auto, nccl, gloo`);
  return b;
}

/** The distributed settings of `env`, or null for a single process. */
export function distEnvFrom(env: NodeJS.ProcessEnv = process.env): DistEnv | null {
  const worldSize = intVar(env, "WORLD_SIZE", 1);
  if (worldSize <= 1) return null;
  const rank = intVar(env, "RANK");
  if (rank >= worldSize) throw new DistEnvError(`RANK=${rank} is not below WORLD_SIZE=${worldSize}`);
  const masterPort = intVar(env, "MASTER_PORT", 29500);
  if (masterPort < 1 || masterPort > 65535) throw new DistEnvError(`MASTER_PORT=${masterPort} is not a port number`);
  const timeoutSec = Number(env.VIDEOMAE_DIST_TIMEOUT ?? 300);
  if (!(timeoutSec > 0)) throw new DistEnvError(`VIDEOMAE_DIST_TIMEOUT=${env.VIDEOMAE_DIST_TIMEOUT} is not a positive number of seconds`);
  return {
    rank,
    worldSize,
    localRank: intVar(env, "LOCAL_RANK", rank),
    masterAddr: env.MASTER_ADDR || "127.0.0.1",
    masterPort,
    timeoutMs: Math.round(timeoutSec * 1000),
    ...(env.GLOO_SOCKET_IFNAME ? { ifname: env.GLOO_SOCKET_IFNAME } : {}),
    backend: backendVar(env),
  };
}
