/**
 * A child process that answers JSON-line requests, one answer line per request line: the
 * transport of both benchmark sides (tools/reference/bench_server.py for PyTorch and
 * src/bench/model_worker.ts for ours). A child that dies makes the pending request reject with
 * the tail of its stderr.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { createInterface, type Interface } from "node:readline";

export class RequestError extends Error {
  override name = "RequestError";
}

export class JsonLineChild {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly rl: Interface;
  private readonly lines: AsyncIterator<string>;
  private stderrTail = "";
  private closed = false;

  constructor(
    readonly label: string,
    command: string,
    args: string[],
    env: NodeJS.ProcessEnv,
  ) {
    this.child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"], env });
    this.child.stderr.setEncoding("utf8");
    // Keep only the end of stderr: enough to explain a crash, bounded for long runs.
    this.child.stderr.on("data", (s: string) => (this.stderrTail = (this.stderrTail + s).slice(-4000)));
    // A child that dies while we write would otherwise raise EPIPE as an uncaught error.
    this.child.stdin.on("error", () => {});
    this.rl = createInterface({ input: this.child.stdout });
    this.lines = this.rl[Symbol.asyncIterator]();
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Sends one request and resolves with its answer; an `error` field becomes a RequestError. */
  async request<T>(req: object): Promise<T> {
    if (this.closed) throw new RequestError(`${this.label}: already closed`);
    this.child.stdin.write(JSON.stringify(req) + "\n");
    const next = await this.lines.next();
    if (next.done) {
      const tail = this.stderrTail.trim().split("\n").slice(-6).join("\n");
      throw new RequestError(`${this.label} exited unexpectedly${tail ? `:\n${tail}` : ""}`);
    }
    let res: T & { error?: string };
    try {
      res = JSON.parse(next.value) as T & { error?: string };
    } catch {
      throw new RequestError(`${this.label}: not a JSON answer: ${next.value.slice(0, 200)}`);
    }
    if (res.error) throw new RequestError(`${this.label}: ${res.error}`);
    return res;
  }

  /** Asks the child to quit and waits (bounded) for it to exit. */
  async close(timeoutMs = 10_000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const exited = new Promise<void>((resolve) => {
      if (this.child.exitCode !== null || this.child.signalCode !== null) resolve();
      else this.child.once("exit", () => resolve());
    });
    this.child.stdin.end(JSON.stringify({ op: "quit" }) + "\n");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), timeoutMs);
    await exited;
    clearTimeout(timer);
    this.rl.close();
  }
}
