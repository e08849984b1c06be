/**
 * Graceful stop on SIGINT/SIGTERM: the first signal asks the training loop to finish the current
 * step, save a checkpoint and exit; a second SIGINT exits at once (code 130).
 */
export class StopRequest {
  requested: string | null = null;
  private readonly handlers = new Map<NodeJS.Signals, () => void>();

  constructor(private readonly log: (msg: string) => void = (m) => process.stderr.write(m + "\n")) {}

  install(): this {
    for (const sig of ["SIGINT", "SIGTERM"] as NodeJS.Signals[]) {
      const h = () => {
        if (this.requested && sig === "SIGINT") {
          this.log("\nsecond interrupt: exiting now without saving");
          process.exit(130);
        }
        this.requested = sig;
        this.log(`\n${sig}: finishing this step, then saving a checkpoint and stopping (press Ctrl-C again to quit at once)`);
      };
      this.handlers.set(sig, h);
      process.on(sig, h);
    }
    return this;
  }

  uninstall(): void {
    for (const [sig, h] of this.handlers) process.off(sig, h);
    this.handlers.clear();
  }
}
