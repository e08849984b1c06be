/**
 * A progress line for long work: on a terminal, one line redrawn in place with a bar,
 * throughput and ETA; otherwise (logs, CI) a plain line at most every `intervalMs` and at the end.
 *
 *   const p = new Progress({ total: 1000, label: "epoch 3", unit: "clips" });
 *   p.tick(8, { loss: 0.4123 }); … p.done();
 */
export interface ProgressOptions {
  total: number;
  label: string;
  unit?: string;
  stream?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** Minimum time between plain (non-TTY) lines. Default 10 s. */
  intervalMs?: number;
  /** Clock, for tests. */
  now?: () => number;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "--:--";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const mm = String(m).padStart(2, "0");
  const ss = String(sec).padStart(2, "0");
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

function formatInfo(info: Record<string, string | number>): string {
  return Object.entries(info)
    .map(([k, v]) => `${k} ${typeof v === "number" ? (Math.abs(v) >= 1e-3 || v === 0 ? v.toFixed(4) : v.toExponential(2)) : v}`)
    .join("  ");
}

export class Progress {
  private done_ = 0;
  private readonly start: number;
  private lastDraw = -Infinity;
  private lastDrawnCount = -1;
  private info: Record<string, string | number> = {};
  private readonly stream: NonNullable<ProgressOptions["stream"]>;
  private readonly tty: boolean;
  private readonly now: () => number;

  constructor(private readonly o: ProgressOptions) {
    this.stream = o.stream ?? process.stderr;
    this.tty = Boolean(this.stream.isTTY);
    this.now = o.now ?? (() => performance.now());
    this.start = this.now();
  }

  get count(): number {
    return this.done_;
  }

  /** Items per second since the start. */
  rate(): number {
    const s = (this.now() - this.start) / 1000;
    return s > 0 ? this.done_ / s : 0;
  }

  tick(n = 1, info?: Record<string, string | number>): void {
    this.done_ += n;
    if (info) this.info = info;
    const t = this.now();
    const interval = this.tty ? 100 : (this.o.intervalMs ?? 10_000);
    if (t - this.lastDraw >= interval || this.done_ >= this.o.total) {
      this.lastDraw = t;
      this.draw(false);
    }
  }

  /** Final line (always printed). */
  done(info?: Record<string, string | number>): void {
    if (info) this.info = info;
    // A plain log already has the last line when the final tick drew it.
    if (!this.tty && !info && this.lastDrawnCount === this.done_) return;
    this.draw(true);
  }

  /** The current line, without terminal control characters. */
  line(): string {
    const { total, label, unit = "it" } = this.o;
    const rate = this.rate();
    const eta = rate > 0 ? (total - this.done_) / rate : Infinity;
    const frac = total > 0 ? Math.min(1, this.done_ / total) : 0;
    const width = 24;
    const filled = Math.round(frac * width);
    const bar = `[${"#".repeat(filled)}${"-".repeat(width - filled)}]`;
    const elapsed = (this.now() - this.start) / 1000;
    const timing = this.done_ >= total ? `${formatDuration(elapsed)} total` : `ETA ${formatDuration(eta)}`;
    const info = formatInfo(this.info);
    return `${label} ${bar} ${this.done_}/${total} ${rate.toFixed(2)} ${unit}/s ${timing}${info ? "  " + info : ""}`;
  }

  private draw(final: boolean): void {
    this.lastDrawnCount = this.done_;
    const text = this.line();
    if (this.tty) {
      const cols = this.stream.columns ?? 120;
      this.stream.write(`\r${text.slice(0, cols - 1).padEnd(Math.min(cols - 1, text.length))}\x1b[K${final ? "\n" : ""}`);
    } else {
      this.stream.write(text + "\n");
    }
  }
}
