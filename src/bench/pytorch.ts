/**
 * The PyTorch reference process for benchmarks (tools/reference/bench_server.py): a long-lived
 * child running Debian's /usr/bin/python3 with torch, answering JSON-line requests, so that our
 * measurements and PyTorch's can be interleaved within one run. Absent torch → `null`.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { blasInfo } from "../torch/index.ts";
import { JsonLineChild } from "./child.ts";

/**
 * Which BLAS the PyTorch side loads. Debian's python3-torch gets libblas.so.3 from the system
 * alternative (usually openblas-pthread, whose own thread pool oversubscribes the cores next to
 * torch's OpenMP pool: measured 1.6–2× slower fp32 training here). "ours" (the default) points
 * LD_LIBRARY_PATH at the folder of the BLAS our addon loaded (openblas-openmp), so both sides
 * run the same GEMMs; "system" leaves PyTorch as installed.
 */
export type TorchBlas = "ours" | "system";

export const BENCH_SERVER = join(dirname(fileURLToPath(import.meta.url)), "../../tools/reference/bench_server.py");
export const PYTHON = process.env.VIDEOMAE_PYTHON ?? "/usr/bin/python3";

/** Why the PyTorch baseline cannot run here, or null when it can. */
export function torchUnavailableReason(): string | null {
  if (!existsSync(PYTHON)) return `${PYTHON} not found`;
  const probe = spawnSync(PYTHON, ["-c", "import torch"], { encoding: "utf8" });
  if (probe.status !== 0) return `torch is not importable by ${PYTHON} (apt-get install python3-torch)`;
  return null;
}

export class PyTorchReference {
  private constructor(
    private readonly proc: JsonLineChild,
    readonly version: string,
    /** The BLAS libraries the server process loaded. */
    readonly blas: string[],
  ) {}

  /** Starts the reference, or returns null (with the reason) when torch is not importable. */
  static async start(threads: number, opts: { blas?: TorchBlas } = {}): Promise<{ ref: PyTorchReference | null; reason?: string }> {
    const reason = torchUnavailableReason();
    if (reason) return { ref: null, reason };
    const env: NodeJS.ProcessEnv = { ...process.env, OMP_NUM_THREADS: String(threads) };
    const ours = blasInfo().libraries[0];
    if ((opts.blas ?? "ours") === "ours" && ours) {
      env.LD_LIBRARY_PATH = [dirname(ours), process.env.LD_LIBRARY_PATH].filter(Boolean).join(":");
    }
    const proc = new JsonLineChild("PyTorch reference", PYTHON, [BENCH_SERVER], env);
    try {
      const hello = await proc.request<{ torch: string; blas?: string[] }>({ op: "hello", threads });
      return { ref: new PyTorchReference(proc, hello.torch, hello.blas ?? []) };
    } catch (e) {
      await proc.close();
      return { ref: null, reason: (e as Error).message };
    }
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  request<T>(req: object): Promise<T> {
    return this.proc.request<T>(req);
  }

  close(): Promise<void> {
    return this.proc.close();
  }
}
