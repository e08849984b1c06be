/**
 * The PyTorch reference process for benchmarks (tools/reference/bench_server.py): a long-lived
 * child running Debian's /usr/bin/python3 with torch, answering JSON-line requests, so that our
 * measurements and PyTorch's can be interleaved within one run. Absent torch → `null`.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { JsonLineChild } from "./child.ts";

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
  ) {}

  /** Starts the reference, or returns null (with the reason) when torch is not importable. */
  static async start(threads: number): Promise<{ ref: PyTorchReference | null; reason?: string }> {
    const reason = torchUnavailableReason();
    if (reason) return { ref: null, reason };
    const proc = new JsonLineChild("PyTorch reference", PYTHON, [BENCH_SERVER], { ...process.env, OMP_NUM_THREADS: String(threads) });
    try {
      const hello = await proc.request<{ torch: string }>({ op: "hello", threads });
      return { ref: new PyTorchReference(proc, hello.torch) };
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
