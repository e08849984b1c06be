/**
 * The PyTorch reference process for benchmarks (tools/reference/bench_server.py): one long-lived
 * child running Debian's /usr/bin/python3 with torch, answering JSON-line requests, so that our
 * measurements and PyTorch's can be interleaved within one run. Absent torch → `null`.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { createInterface, type Interface } from "node:readline";
import { fileURLToPath } from "node:url";

const server = join(dirname(fileURLToPath(import.meta.url)), "../../tools/reference/bench_server.py");
const PYTHON = process.env.VIDEOMAE_PYTHON ?? "/usr/bin/python3";

export class PyTorchReference {
  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    private readonly lines: AsyncIterator<string>,
    private readonly rl: Interface,
    readonly version: string,
  ) {}

  /** Starts the reference, or returns null (with the reason) when torch is not importable. */
  static async start(threads: number): Promise<{ ref: PyTorchReference | null; reason?: string }> {
    if (!existsSync(PYTHON)) return { ref: null, reason: `${PYTHON} not found` };
    const probe = spawnSync(PYTHON, ["-c", "import torch"], { encoding: "utf8" });
    if (probe.status !== 0) {
      return { ref: null, reason: `torch is not importable by ${PYTHON} (apt-get install python3-torch)` };
    }
    const child = spawn(PYTHON, [server], {
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, OMP_NUM_THREADS: String(threads) },
    });
    const rl = createInterface({ input: child.stdout });
    const lines = rl[Symbol.asyncIterator]();
    const tmp = new PyTorchReference(child, lines, rl, "");
    const hello = await tmp.request<{ torch: string }>({ op: "hello", threads });
    return { ref: new PyTorchReference(child, lines, rl, hello.torch) };
  }

  async request<T>(req: object): Promise<T> {
    this.child.stdin.write(JSON.stringify(req) + "\n");
    const next = await this.lines.next();
    if (next.done) throw new Error("the PyTorch reference process exited unexpectedly");
    const res = JSON.parse(next.value) as T & { error?: string };
    if (res.error) throw new Error(`PyTorch reference: ${res.error}`);
    return res;
  }

  close(): void {
    this.child.stdin.end(JSON.stringify({ op: "quit" }) + "\n");
    this.rl.close();
  }
}
