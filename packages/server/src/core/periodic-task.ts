/**
 * Runs one job every interval: never two runs at once (a tick during a run is skipped, not
 * queued), and the timer never keeps the process alive. `stop` waits for a run in progress, so the
 * stores the job uses can be closed right after.
 */
export class PeriodicTask<T> {
  private timer: NodeJS.Timeout | undefined;
  private current: Promise<T> | undefined;

  constructor(
    private readonly intervalMs: number,
    private readonly run: () => Promise<T>,
  ) {}

  start(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    await this.current?.catch(() => undefined);
  }

  /** One run now, unless one is in progress (then undefined). */
  async tick(): Promise<T | undefined> {
    if (this.current !== undefined) return undefined;
    const run = this.run();
    this.current = run;
    try {
      return await run;
    } finally {
      this.current = undefined;
    }
  }
}
