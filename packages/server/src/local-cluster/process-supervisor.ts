import { type BackoffPolicy, RestartBackoff } from './restart-backoff.ts';

/** How a supervised process ended. */
export interface ProcessEnd {
  /** `exit code 1`, `signal SIGKILL`. */
  readonly how: string;
  /** Exit code 0. */
  readonly clean: boolean;
}

/** A process the supervisor keeps running: a role, or one server of an engine. */
export interface SupervisedProcess {
  /** For log lines: `gw1 (gateway)`, `redis shard 1`. */
  readonly label: string;
  /** The current process's PID. */
  pid(): number | undefined;
  /** Resolves when the current process ends; at once when it is not running. */
  ended(): Promise<ProcessEnd>;
  /**
   * Starts a new process in place of the ended one, on the same port, settings and data. Resolves
   * once it is ready, or early when `signal` aborts (the supervisor stops: the owner stops what
   * was started); throws when it cannot start.
   */
  restart(signal: AbortSignal): Promise<void>;
  /** The last output, for a failure message. */
  output?(): string;
  /** A clean exit is a retirement to replace at once, not a failure: a drained gateway. */
  readonly replaceWhenClean?: boolean;
  /**
   * Wait this long after an end before acting on it: a terminal's Ctrl-C reaches the engines too,
   * and the cluster's own SIGINT handler should get to stop everything first.
   */
  readonly graceMs?: number;
}

export interface SupervisorOptions {
  backoff: BackoffPolicy;
  /** One line per restart, replacement and failed restart. */
  log(line: string): void;
  /** An end while restarting is off (the cluster is starting, or `--fail-fast`): stop everything. */
  onFatal(proc: SupervisedProcess, end: ProcessEnd): void;
  /** A restarted process is ready. */
  onRestarted?(proc: SupervisedProcess): void;
}

const seconds = (ms: number) => `${Number((ms / 1000).toFixed(3))} s`;

/**
 * Watches every process of the local cluster from its start. Before `startRestarting` (while the
 * cluster starts, and always with `--fail-fast`) any end is fatal: `onFatal`. After it, a process
 * that dies is restarted after a backoff delay (`RestartBackoff`: reset once it stayed ready for
 * `stableMs`), and a process that retires cleanly (`replaceWhenClean`) is replaced at once. Every
 * end before `stop` is one nobody asked for: the supervisor is the only one that stops processes,
 * and it calls `stop` first.
 */
export class ProcessSupervisor {
  private restarting = false;
  private stopped = false;
  private readonly loops: Promise<void>[] = [];
  private readonly abort = new AbortController();
  private readonly stopSignal: Promise<undefined>;

  constructor(private readonly options: SupervisorOptions) {
    this.stopSignal = new Promise((resolve) =>
      this.abort.signal.addEventListener('abort', () => resolve(undefined), { once: true }),
    );
  }

  /** Watches `proc` until `stop`. */
  watch(proc: SupervisedProcess): void {
    this.loops.push(this.supervise(proc));
  }

  /** From now on a process that ends is restarted instead of being fatal. */
  startRestarting(): void {
    this.restarting = true;
  }

  /**
   * No more restarts: delays and waits for readiness end at once. Resolves when the restarts in
   * progress have returned, so that everything they started can then be stopped.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    await Promise.all(this.loops);
  }

  private async supervise(proc: SupervisedProcess): Promise<void> {
    const { backoff: policy, log } = this.options;
    const backoff = new RestartBackoff(policy);
    let restarts = 0;
    let stable: NodeJS.Timeout | undefined;
    // The cluster was ready when restarting began; a process whose restart failed was not.
    let wasReady = true;
    try {
      for (;;) {
        const end = await Promise.race([proc.ended(), this.stopSignal]);
        clearTimeout(stable);
        if (end === undefined || this.stopped) return;
        const pid = proc.pid();
        if (proc.graceMs !== undefined) await this.sleep(proc.graceMs);
        if (this.stopped) return;
        if (!this.restarting) {
          this.options.onFatal(proc, end);
          return;
        }
        restarts++;
        // Only a process that was up retires: one that exits 0 at start gets the backoff, not a spin.
        if (proc.replaceWhenClean === true && end.clean && wasReady) {
          log(
            `replacing ${proc.label}: pid ${pid} drained and exited 0; a fresh process takes its place (replacement ${restarts})`,
          );
        } else {
          const delay = backoff.next();
          log(
            `restarting ${proc.label}: pid ${pid} exited unexpectedly (${end.how}); restart ${restarts} in ${seconds(delay)}`,
          );
          await this.sleep(delay);
          if (this.stopped) return;
        }
        wasReady = false;
        try {
          await proc.restart(this.abort.signal);
        } catch (err) {
          if (this.stopped) return;
          // The new process is not running either, so `ended` resolves at once: the next delay follows.
          log(`${proc.label}: restart ${restarts} failed: ${(err as Error).message.split('\n')[0]}`);
          continue;
        }
        if (this.stopped) return;
        wasReady = true;
        log(`${proc.label} is ready again: pid ${proc.pid()}`);
        this.options.onRestarted?.(proc);
        stable = setTimeout(() => backoff.reset(), policy.stableMs);
        stable.unref();
      }
    } finally {
      clearTimeout(stable);
    }
  }

  /** Waits `ms`, or less when the supervisor stops meanwhile. */
  private async sleep(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const elapsed = new Promise((resolve) => {
      timer = setTimeout(resolve, ms);
    });
    await Promise.race([elapsed, this.stopSignal]);
    clearTimeout(timer);
  }
}
