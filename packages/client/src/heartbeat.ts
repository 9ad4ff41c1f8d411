/** Heartbeat timing. */
export interface HeartbeatOptions {
  /** How often a ping is sent (default 20 s). */
  intervalMs: number;
  /** How long after a ping some frame must have arrived (default 10 s). */
  timeoutMs: number;
}

export const DEFAULT_HEARTBEAT: HeartbeatOptions = { intervalMs: 20_000, timeoutMs: 10_000 };

/**
 * Detects a dead WebSocket: every `intervalMs` it sends a ping, and if no frame at all (the pong or
 * anything else) arrived within `timeoutMs` after it, the connection is declared dead. A half-open
 * TCP connection otherwise looks alive for minutes.
 */
export class Heartbeat {
  #interval: ReturnType<typeof setInterval> | undefined;
  #deadline: ReturnType<typeof setTimeout> | undefined;
  #lastFrameAt = 0;

  constructor(
    private readonly options: HeartbeatOptions,
    private readonly ping: () => void,
    private readonly onDead: () => void,
    private readonly now: () => number = Date.now,
  ) {}

  start(): void {
    this.stop();
    this.#lastFrameAt = this.now();
    this.#interval = setInterval(() => this.#beat(), this.options.intervalMs);
  }

  /** Any frame from the server proves the connection alive. */
  touch(): void {
    this.#lastFrameAt = this.now();
  }

  stop(): void {
    clearInterval(this.#interval);
    clearTimeout(this.#deadline);
    this.#interval = undefined;
    this.#deadline = undefined;
  }

  #beat(): void {
    const sentAt = this.now();
    this.ping();
    clearTimeout(this.#deadline);
    this.#deadline = setTimeout(() => {
      this.#deadline = undefined;
      if (this.#lastFrameAt < sentAt) {
        this.stop();
        this.onDead();
      }
    }, this.options.timeoutMs);
  }
}
